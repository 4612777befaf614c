"""Attacks on the hidden set through a model's own channels, each by a hostile model scored by a
real Celery worker over real PostgreSQL and Redis (issue #13, items 1, 2, 3 and 15).

Each test performs the attack and reads everything its owner can read — the submission and its
log through the API, the model page — for what the model tried to carry out. It fails if the
channel opens again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.main import create_app
from app.queue import enqueue_scoring, enqueue_validation
from app.settings import get_settings
from app.storage import get_storage
from app.submissions.lifecycle import Requeue, requeue_stale
from app.submissions.models import TaskResultRow
from app.submissions.quota import read_quota
from gir_core.contract import PROBE_SIZES
from gir_core.sandbox.errors_map import SCORING_SENTENCES
from tests.support.factories import Rows
from tests.support.stack import TASKS
from tests.worker.conftest import (
    Bench,
    WorkerProcess,
    add_submission,
    finished,
    onnx_model,
    reread,
    slow_model,
    submission_owner,
    wait_for,
)
from worker.sandboxing import EXCERPT_LINE_CHARS, EXCERPT_LINES

OFFSET = 1000
"""The hostile model's output width is OFFSET + 255 × (its input's first pixel): far from any
real width, and the pixel is read back exactly from the width."""


class ShapeLeak(torch.nn.Module):
    """The identity on the contract check's probes (64 px and more); on anything smaller — the
    scoring inputs of the test benchmark — an output whose width encodes the first pixel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[2], x.shape[3]) >= 64:
            return x
        width = 1000 + int(float(x[0, 0, 0, 0]) * 255.0)  # OFFSET (a script sees no globals)
        return torch.zeros(1, 3, x.shape[2], width)


class Chatty(torch.nn.Module):
    """The identity, printing what it sees on every image: its size and first pixel, behind a
    terminal escape, then a flood of lines (what a model might print at load time or per image)."""

    def __init__(self) -> None:
        super().__init__()
        self.flood = "flood " + "z" * 400

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixel = int(float(x[0, 0, 0, 0]) * 255.0)
        print("\x1b[2J\x1b[31mSEEN", x.shape[2], x.shape[3], "PIXEL", pixel, "\x07")
        for _ in range(15):
            print(self.flood)
        return x + 0.0


def _script(module: torch.nn.Module, folder: Path, name: str) -> bytes:
    path = folder / f"{name}.pt"
    torch.jit.save(torch.jit.script(module), str(path))
    return path.read_bytes()


OwnerGet = Callable[[str], Response]


@pytest.fixture
def owner_get(db: Session, rows: Rows, worker_env: dict[str, str]) -> Iterator[OwnerGet]:
    """GET through the real application as the owner of the test's submissions (API token)."""
    client = TestClient(create_app())
    headers: dict[str, str] = {}

    def get(path: str) -> Response:
        if not headers:
            owner = submission_owner(db)
            assert owner is not None
            headers.update(rows.token(owner, "test"))
        response = client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return response

    with client:
        yield get


def owner_view(get: OwnerGet, submission_id: int) -> str:
    """Everything the owner can read about a submission: API record, log, results, model page."""
    paths = [f"/api/v1/submissions/{submission_id}{part}" for part in ("", "/log", "/results")]
    return "\n".join(get(path).text for path in [*paths, f"/submissions/{submission_id}"])


def run_model(
    db: Session, start_worker: Callable[..., WorkerProcess], name: str, data: bytes
) -> tuple[int, WorkerProcess]:
    """Upload a TorchScript model, let a real worker validate and score it; (id, the worker)."""
    submission_id = add_submission(db, name, data, "torchscript")
    enqueue_validation(submission_id)
    worker = start_worker()
    wait_for(finished(db, submission_id), [worker], timeout=120)
    return submission_id, worker


def test_output_shape_on_a_hidden_input_never_reaches_the_owner(
    db: Session,
    bench: Bench,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    owner_get: OwnerGet,
) -> None:
    """Item 1: the failure sentence is fixed text; the shape (the pixel) is in the operator log."""
    leak = _script(ShapeLeak(), tmp_path, "leak")
    submission_id, worker = run_model(db, start_worker, "shape leak", leak)
    failed = reread(db, submission_id)
    assert failed.seconds_per_mp is not None  # it passed the contract check on the probes
    assert (failed.status, failed.error_code) == ("failed", "contract")
    assert failed.error_message == SCORING_SENTENCES["shape"]

    # The operator's log has the detail, and with it the pixel the model encoded.
    operator = worker.output()
    leaked = re.search(r"output is \[1, 3, (\d+), (\d+)\]", operator)
    assert leaked is not None, operator[-3000:]
    height, width = leaked.groups()
    pixel = int(width) - OFFSET
    assert 0 <= pixel <= 255

    seen = owner_view(owner_get, submission_id)
    assert SCORING_SENTENCES["shape"] in seen
    assert f"[1, 3, {height}, {width}]" not in seen
    assert not re.search(rf"\b{width}\b", seen)


def test_a_failure_while_scoring_uses_a_submission_a_rejected_contract_does_not(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Item 2: the shape leak costs a submission each time; the contract check stays free."""
    rejected = add_submission(db, "0-255 output", onnx_model("scaled"))
    leaking = add_submission(
        db, "shape leak", _script(ShapeLeak(), tmp_path, "leak"), "torchscript"
    )
    for submission_id in (rejected, leaking):
        enqueue_validation(submission_id)
    worker = start_worker()
    for submission_id in (rejected, leaking):
        wait_for(finished(db, submission_id), [worker], timeout=90)
    refused, failed = reread(db, rejected), reread(db, leaking)
    assert (refused.status, refused.error_code, refused.seconds_per_mp) == (
        "failed",
        "contract",
        None,
    )
    assert "span" in refused.error_message  # validation on public probes keeps its detail
    assert (failed.status, failed.error_code) == ("failed", "contract")

    owner = submission_owner(db)
    assert owner is not None
    quota = read_quota(session=db, owner=owner)
    assert quota.daily.used == 1  # the scoring failure, not the rejection
    assert quota.daily.remaining == get_settings().quota_per_day - 1


def test_model_output_streams_are_withheld_from_scoring_and_bounded_from_validation(
    db: Session,
    bench: Bench,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    owner_get: OwnerGet,
) -> None:
    """Item 3: what a model prints while scoring is for administrators only; what it printed on
    the probes reaches its owner as a short excerpt without terminal escapes."""
    chatty = _script(Chatty(), tmp_path, "chatty")
    submission_id, _ = run_model(db, start_worker, "chatty", chatty)
    done = reread(db, submission_id)
    assert done.status == "scored", done.error_message

    admin = get_storage().local_path(f"logs/{submission_id}-scoring-admin.txt").read_text()
    hidden_sizes = set(re.findall(r"SEEN (\d+ \d+) PIXEL", admin))
    probes = {f"{height} {width}" for height, width in PROBE_SIZES}
    assert hidden_sizes and not hidden_sizes & probes  # 48 px GT, 128 px real-world images

    seen = owner_view(owner_get, submission_id)
    owner_log = get_storage().local_path(done.log_key).read_text()
    assert "SEEN 120 72 PIXEL" in owner_log  # the last probe's print: a public input
    for size in hidden_sizes:
        assert f"SEEN {size}" not in seen
    assert "\x1b" not in owner_log and "\x07" not in owner_log
    # One section per contract check: a redelivered validation (jobs are at-least-once, e.g. on
    # a loaded machine) appends a second one, and each is bounded on its own.
    header = "== contract check =="
    checks = [header + part for part in owner_log.split("== scoring")[0].split(header)[1:]]
    assert checks
    for check in checks:
        assert len(check.splitlines()) <= EXCERPT_LINES + 2
        assert max(len(line) for line in check.splitlines()) <= EXCERPT_LINE_CHARS + 80
    assert "withheld" in owner_log.split("== scoring")[1]


def _results(db: Session, submission_id: int) -> int:
    db.expire_all()
    query = select(TaskResultRow.id).filter_by(submission_id=submission_id)
    return len(db.scalars(query).all())


def _progressed(db: Session, submission_id: int, stored: int) -> bool:
    return _results(db, submission_id) > stored


def test_killed_workers_are_not_held_against_the_model(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Item 15: a worker killed with -9 mid-scoring, GIR_MAX_ATTEMPTS times over, each time after
    the model made progress: the submission is still scored, its attempts uncharged."""
    limit = get_settings().max_attempts
    slow = slow_model(tmp_path)
    submission_id = add_submission(db, "slow identity", slow, "torchscript", validated=True)
    enqueue_scoring(submission_id)
    for _ in range(limit):
        stored = _results(db, submission_id)
        worker = start_worker()
        wait_for(partial(_progressed, db, submission_id, stored), [worker], timeout=90)
        worker.kill()  # no cleanup, no ack: an infrastructure failure
        assert reread(db, submission_id).attempts == 1
        later = utcnow() + timedelta(seconds=get_settings().stale_after_s + 1)
        assert requeue_stale(session=db, now=later) == [Requeue(submission_id, "score")]
    last = start_worker()
    wait_for(finished(db, submission_id), [last], timeout=90)
    done = reread(db, submission_id)
    assert (done.status, done.attempts, done.error_code) == ("scored", 1, "")


def test_progress_does_not_time_hidden_tasks(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess], tmp_path: Path,
    owner_get: OwnerGet,
) -> None:  # fmt: skip
    """Item 4 (runtimes): an owner polling a running submission never sees a hidden task named,
    counted or listed on its own, so cannot time one (the block's total is published anyway)."""
    hidden = {key for key, _, kind, _ in TASKS if kind == "hidden"}
    public = len(TASKS) - len(hidden)
    submission_id = add_submission(
        db, "slow identity", slow_model(tmp_path, spins=20000), "torchscript", validated=True
    )
    enqueue_scoring(submission_id)
    worker = start_worker()
    seen: set[tuple[str, int, str]] = set()
    listed: set[str] = set()
    while not finished(db, submission_id)():
        record = owner_get(f"/api/v1/submissions/{submission_id}").json()
        results = owner_get(f"/api/v1/submissions/{submission_id}/results").json()
        seen.add((record["status"], record["progress"]["done"], record["progress"]["current_task"]))
        if results["status"] == "running":
            listed |= {task["key"] for task in results["tasks"]}
        assert worker.process.poll() is None, worker.output()[-3000:]
    assert reread(db, submission_id).status == "scored"
    running = {(done, task) for status, done, task in seen if status == "running"}
    assert (public, "") in running  # it was watched while the hidden block ran
    assert not {task for _, task in running} & hidden and not listed & hidden
    assert {done for done, _ in running} <= set(range(public + 1)) | {len(TASKS)}
