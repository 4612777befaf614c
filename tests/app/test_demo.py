"""The embedded demo on a temporary SQLite database, filesystem broker and storage folder: the
bootstrap builds an active version whose tasks all have lines and the reference rows, a second
bootstrap adds nothing, and the real worker and API processes score the identity model.

The demo is smaller than ``make demo``'s (three tasks, 128 px crops, the ``tiny`` profile) so the
module stays well under half a minute.
"""

from __future__ import annotations

import json
import math
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks import moderation
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef, VersionTask
from app.db import new_session
from app.demo import DemoPlan, DemoState, bootstrap
from app.demo import serve as demo_serve
from app.demo.cli import demo_port
from app.demo.rows import IDENTITY_NAME, line_row_name
from app.demo.run import Reporter, embedded_paths
from app.errors import Invalid
from app.models import Base
from app.storage import get_storage
from app.submissions.lifecycle import log_key
from app.submissions.models import Submission, Summary, TaskResultRow
from app.submissions.summary import summary_values
from tests.support.services import clear_caches
from tests.support.stack import free_port
from worker.plan import scoring_plan

PLAN_TASKS = (3, 15)  # Table C.1: noise; haze + noise (weather: the depth-proxy path)


class Recorder(Reporter):
    """Keeps what the demo would print."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def say(self, text: str) -> None:
        self.lines.append(text)

    def show(self, text: str) -> None:
        self.lines.append(text)


@dataclass
class Demo:
    plan: DemoPlan
    first: DemoState
    printed: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One bootstrapped demo for the module, on its own SQLite file, broker and storage."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIR_DATABASE_URL", f"sqlite:///{root / 'gir.db'}")
        patch.setenv("GIR_BROKER_URL", "filesystem://")
        patch.setenv("GIR_BROKER_DIR", str(root / "broker"))
        patch.setenv("GIR_STORAGE_DIR", str(root / "storage"))
        clear_caches()
        plan = DemoPlan(
            profile="tiny",
            tasks=PLAN_TASKS,
            hidden_per_order=1,
            max_side=128,
            folder=root,
            threads=1,
        )
        recorder = Recorder()
        try:
            yield Demo(plan, bootstrap(plan, recorder), recorder.lines)
        finally:
            from app.db import get_engine

            get_engine().dispose()
            clear_caches()
    clear_caches()


def _counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def _row(session: Session, name: str) -> Submission:
    found = session.scalar(select(Submission).where(Submission.name == name))
    assert found is not None, name
    return found


def test_bootstrap_builds_an_active_version_with_lines(demo: Demo) -> None:
    with new_session() as session:
        version = session.scalar(select(BenchmarkVersion).where(BenchmarkVersion.is_active))
        assert version is not None and version.name == "demo-v2"
        frozen = session.scalars(select(VersionTask).filter_by(version_id=version.id)).all()
        keys = sorted(vt.task.key for vt in frozen)
        assert keys == ["15", "3", "h01", "h02", "h03", "h04", "h05"]
        hidden = sorted((vt.task.key, vt.task.order) for vt in frozen if vt.task.kind == "hidden")
        assert [order for _, order in hidden] == [1, 2, 3, 4, 5]  # the stratified set, 1 per k
        assert version.metric_convention == "rgb,crop=4,8bit"
        for vt in frozen:
            assert math.isfinite(vt.acceptance_psnr) and math.isfinite(vt.excellence_psnr)
            assert vt.task.line_source == "trained:tiny"
            for record in (vt.acceptance_record, vt.excellence_record):
                assert record is not None and record.metric_convention == "rgb,crop=4,8bit"
                assert record.profile == "tiny" and record.foreign_reason is None
        sets = {s.name: s for s in session.scalars(select(ImageSet))}
        assert {s.role for s in sets.values()} == {"gt", "real", "train"}
        assert len(sets["demo"].images) == 7
        assert {sets[n].label for n in ("real-camera-shake", "real-hubble-jpeg")} == {
            "camera-shake motion blur (greyscale photo)",
            "JPEG-compressed telescope photo",
        }
        admin = session.scalar(select(User).where(User.email == demo.plan.admin_email))
        assert admin is not None and admin.is_admin


def test_the_password_is_printed_once_and_kept_private(demo: Demo) -> None:
    credentials = demo.plan.credentials
    assert demo.first.password is not None
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert f"password: {demo.first.password}" in credentials.read_text()


def test_reference_rows_sit_on_their_lines(demo: Demo) -> None:
    with new_session() as session:
        identity = _row(session, IDENTITY_NAME)
        assert identity.is_baseline and identity.status == "queued"
        assert any((Path(demo.plan.folder) / "broker" / "out").iterdir())  # its job is waiting
        frozen = session.scalars(select(VersionTask)).all()
        for kind in ("acceptance", "excellence"):
            row = _row(session, line_row_name(kind, "tiny"))
            assert row.is_baseline and row.status == "scored" and row.visibility == "public"
            results = session.scalars(select(TaskResultRow).filter_by(submission_id=row.id))
            by_task = {result.version_task_id: result for result in results}
            assert len(by_task) == len(frozen)
            for vt in frozen:
                line = vt.acceptance_psnr if kind == "acceptance" else vt.excellence_psnr
                assert by_task[vt.id].mean_psnr == line and by_task[vt.id].psnr == [line]
                assert len(by_task[vt.id].ssim) == 7 and 0 < by_task[vt.id].mean_ssim <= 1
            summary = session.get(Summary, row.id)
            assert summary is not None
            above = sum(vt.excellence_psnr > vt.acceptance_psnr for vt in frozen) / len(frozen)
            below = sum(vt.acceptance_psnr > vt.excellence_psnr for vt in frozen) / len(frozen)
            expected = (0.0, below) if kind == "acceptance" else (above, 0.0)
            assert (summary.ar, summary.er) == expected
            assert summary.ar_low == summary.ar_high == summary.ar  # one value per task
            assert "matched the lines within" in row.description


def test_reference_rows_are_made_through_the_lifecycle(demo: Demo) -> None:
    """A line row is claimed, its results stored and finished like a worker's run: its summary is
    the lifecycle's summary of its stored rows over the worker's own lines for the version."""
    with new_session() as session:
        version = session.scalar(select(BenchmarkVersion).where(BenchmarkVersion.is_active))
        assert version is not None
        plan = scoring_plan(session=session, version_id=version.id, storage=get_storage())
        keys = {vt_id: key for key, vt_id in plan.task_ids.items()}
        for kind in ("acceptance", "excellence"):
            row = _row(session, line_row_name(kind, "tiny"))
            assert row.log_key == log_key(row.id)  # written by finish_scoring, as for any run
            assert row.started_at is not None and row.finished_at is not None
            assert row.started_at <= row.finished_at and row.progress_done == len(keys)
            rows = session.scalars(select(TaskResultRow).filter_by(submission_id=row.id))
            stored = {keys[result.version_task_id]: result for result in rows}
            expected = summary_values(
                plan.lines,
                psnr={key: result.psnr for key, result in stored.items()},
                ssim={key: result.ssim for key, result in stored.items()},
                niqe=[],
                seed=row.id,
            )
            summary = session.get(Summary, row.id)
            assert summary is not None and summary.benchmark_version_id == version.id
            got = {name: getattr(summary, name) for name in expected}
            assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_hidden_specs_are_not_printed(demo: Demo) -> None:
    with new_session() as session:
        hidden = session.scalars(select(TaskDef.spec).where(TaskDef.kind == "hidden")).all()
    assert hidden and demo.printed
    assert not any(spec in line for spec in hidden for line in demo.printed)
    assert any("(hidden, k=" in line for line in demo.printed)


def test_a_second_bootstrap_adds_nothing(demo: Demo) -> None:
    with new_session() as session:
        before = _counts(session)
    again = bootstrap(demo.plan, Recorder())
    with new_session() as session:
        assert _counts(session) == before
    assert again.password is None and not again.identity_new and again.trained == 0
    assert again.line_row_ids == [] and again.identity_id == demo.first.identity_id


def test_a_rescored_line_row_is_rebuilt(demo: Demo) -> None:
    """An operator's `rescore --all` queues the line rows, which no worker can score (their file
    is a manifest); the next bootstrap replaces them with scored rows again."""
    name = line_row_name("excellence", "tiny")
    with new_session() as session:
        old = _row(session, name)
        moderation.rescore(session=session, submission_id=old.id)
        assert session.get(Summary, old.id) is None
    again = bootstrap(demo.plan, Recorder())
    with new_session() as session:
        rows = session.scalars(select(Submission).where(Submission.name == name)).all()
        assert len(rows) == 1 and rows[0].status == "scored" and again.line_row_ids == [rows[0].id]
        assert rows[0].benchmark_version_id is not None and session.get(Summary, rows[0].id)
        results = select(func.count()).where(TaskResultRow.submission_id == rows[0].id)
        assert session.scalar(results) == len(PLAN_TASKS) + 5  # one hidden task per order


def test_reset_refuses_state_outside_var(demo: Demo) -> None:
    with pytest.raises(Invalid, match="only clears the embedded setup"):
        embedded_paths()


def test_worker_and_api_score_the_identity_model(demo: Demo) -> None:
    port, said = free_port(), []
    url = f"http://127.0.0.1:{port}"
    children = demo_serve.start_children(port, demo.plan.folder / "logs")
    try:
        demo_serve.wait_ready(url, children)
        status = demo_serve.watch(demo.first.identity_id, children, said.append, said.append)
        assert status == "scored", said
        board = httpx.get(f"{url}/api/v1/leaderboard").json()
        names = {item["name"]: item for item in board["items"]}
        assert board["version"] == "demo-v2" and len(names) == 3
        assert all(item["is_baseline"] for item in names.values())
        results = httpx.get(f"{url}/api/v1/submissions/{demo.first.identity_id}/results").json()
        hidden = [task for task in results["tasks"] if task["kind"] == "hidden"]
        assert len(results["tasks"]) == 7 and hidden and hidden[0]["spec"] is None
        assert {real["set_name"] for real in results["real_world"]} == {
            "real-camera-shake",
            "real-hubble-jpeg",
        }
    finally:
        demo_serve.stop_children(children, said.append)
    assert not any(child.alive() for child in children)


def test_the_port_comes_from_gir_demo_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIR_DEMO_PORT", raising=False)
    assert demo_port() == 8000
    monkeypatch.setenv("GIR_DEMO_PORT", "8123")
    assert demo_port() == 8123
    monkeypatch.setenv("GIR_DEMO_PORT", "eighty")
    with pytest.raises(demo_serve.DemoError, match="GIR_DEMO_PORT must be a port number"):
        demo_port()
