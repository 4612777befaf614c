"""Lines carry their provenance (#10 §3): import refuses a line measured on other inputs or
another way, field by field; --foreign imports anyway and marks the version; freeze checks too."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.benchmarks import images, line_import, provenance, service, versions
from app.benchmarks.models import ImageSet, TaskDef
from app.errors import Invalid
from gir_core.convention import LEGACY
from gir_core.demo import write_demo_images
from gir_core.tasks import DEGRADATION_VERSION

HEADER = ",".join(line_import.HEADER)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-gt")
    write_demo_images(folder, max_side=32)
    return folder


def _setup(session: Session, folder: Path) -> tuple[ImageSet, TaskDef, TaskDef]:
    gt = images.add_image_set(
        session=session, folder=folder, name=f"gt-{uuid.uuid4().hex[:8]}", role="gt"
    )
    public = service.add_task(session=session, text="noise")
    hidden = service.add_task(session=session, text="blur(k=9,sigma=1.5)", hidden=True)
    return gt, public, hidden


def _row(task: str, kind: str, psnr: float, **fields: object) -> dict[str, object]:
    return {"task": task, "kind": kind, "psnr": psnr, **fields}


def _fitting(gt: ImageSet) -> dict[str, object]:
    return {
        "gt_hash": provenance.set_hash(gt),
        "degradation_version": DEGRADATION_VERSION,
        "seed": 20231,
        "metric_convention": "rgb,crop=4,8bit",
        "network": "SRCNN 9-5-5",
        "profile": "paper",
        "iterations": 500000,
        "train_set_hash": "ab" * 32,
        "train_seed": 3,
        "code_version": "MiOIR basicsr",
        "created_at": "2026-12-01T10:00:00Z",
    }


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    lines = [HEADER]
    for row in rows:
        lines.append(",".join(f'"{row.get(column, "")}"' for column in line_import.HEADER))
    path.write_text("\n".join(lines) + "\n")
    return path


def _four(gt: ImageSet, key: str, **change: object) -> list[dict[str, object]]:
    """Both lines of the public task and the hidden one (by key), with ``change`` on the last."""
    fields = _fitting(gt)
    return [
        _row("1", "acceptance", 30.0, **fields),
        _row("noise", "excellence", 31.0, **fields),  # by canonical text
        _row(key, "acceptance", 25.0, **fields),
        _row(key, "excellence", 26.5, **{**fields, **change}),
    ]


def test_fitting_lines_are_imported_with_their_provenance(
    session: Session, demo_dir: Path, tmp_path: Path
) -> None:
    gt, public, hidden = _setup(session, demo_dir)
    path = _write(tmp_path / "lines.csv", _four(gt, hidden.key))
    changed = line_import.import_lines(session=session, path=path)
    assert [t.key for t in changed] == ["1", "h01"]
    assert (public.acceptance_psnr, public.excellence_psnr) == (30.0, 31.0)
    assert (hidden.acceptance_psnr, hidden.excellence_psnr) == (25.0, 26.5)
    records = provenance.current_records(session=session, task_ids=[public.id, hidden.id])
    record = records[(hidden.id, "excellence")]
    assert (record.seed, record.iterations, record.train_seed) == (20231, 500000, 3)
    assert (record.network, record.profile, record.code_version) == (
        "SRCNN 9-5-5",
        "paper",
        "MiOIR basicsr",
    )
    assert record.made_at is not None and record.made_at.isoformat().startswith("2026-12-01T10")
    assert record.foreign_reason is None and record.source == "imported:lines.csv"
    text = provenance.describe(record)
    assert "SRCNN 9-5-5, paper, 500000 it." in text and "20231" not in text  # seed stays secret
    version = versions.freeze_version(session=session, name=f"v-{uuid.uuid4().hex[:6]}")
    assert version.foreign_lines is None
    assert version.tasks[1].excellence_record is record


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("gt_hash", "ff" * 32, "gt_hash ffffffffffff… is not the current GT set's"),
        ("degradation_version", "1", "degradation_version 1 is not this code's"),
        ("seed", 7, "seed is not the benchmark seed (GIR_HIDDEN_SEED)"),
        ("metric_convention", "rgb,crop=0,8bit", "metric_convention rgb,crop=0,8bit is not"),
        ("gt_hash", "", "gt_hash (empty) is not the current GT set's"),
    ],
)
def test_a_line_that_does_not_fit_is_refused_naming_the_field(
    session: Session, demo_dir: Path, tmp_path: Path, field: str, value: object, sentence: str
) -> None:
    gt, public, hidden = _setup(session, demo_dir)
    path = _write(tmp_path / "lines.csv", _four(gt, hidden.key, **{field: value}))
    with pytest.raises(Invalid) as caught:
        line_import.import_lines(session=session, path=path)
    message = caught.value.message
    assert "line 5 (task h01, excellence)" in message and sentence in message
    assert "nothing imported" in message and "--foreign" in message
    assert "20231" not in message and "blur" not in message
    assert public.acceptance_psnr is None  # all or nothing
    assert provenance.current_records(session=session, task_ids=[public.id]) == {}


def test_foreign_lines_import_and_mark_the_version_on_the_leaderboard(
    session: Session, client: TestClient, demo_dir: Path, tmp_path: Path
) -> None:
    gt, _public, hidden = _setup(session, demo_dir)
    path = _write(tmp_path / "paper.csv", _four(gt, hidden.key, gt_hash="00" * 32))
    with pytest.raises(Invalid, match="needs a reason"):
        line_import.import_lines(session=session, path=path, foreign="  ")
    line_import.import_lines(session=session, path=path, foreign="Table C.1, MiO100 images")
    name = f"v-{uuid.uuid4().hex[:6]}"
    version = versions.freeze_version(session=session, name=name, activate=True)
    assert version.foreign_lines == "Table C.1, MiO100 images"
    board = client.get("/api/v1/leaderboard").json()
    assert board["foreign_lines"] == "against foreign lines: Table C.1, MiO100 images"
    assert board["metric_convention"] == "rgb,crop=4,8bit"
    assert board["metric_convention_text"] == "PSNR: RGB, 8-bit, 4-px border cropped"
    page = client.get("/").text
    assert "against foreign lines: Table C.1, MiO100 images" in page
    assert "PSNR: RGB, 8-bit, 4-px border cropped" in page
    tasks = client.get("/tasks", headers={"Accept": "text/html"}).text
    assert tasks.count("FOREIGN: Table C.1, MiO100 images") == 4  # both lines of both tasks
    assert "SRCNN 9-5-5, paper, 500000 it. · GT 000000000000…" in tasks
    assert "20231" not in tasks and "blur" not in tasks.split("Hidden tasks")[1]


def test_freeze_refuses_lines_measured_with_another_convention(
    session: Session, demo_dir: Path, tmp_path: Path
) -> None:
    gt, _public, hidden = _setup(session, demo_dir)
    rows = _four(gt, hidden.key)
    for row in rows:
        row["metric_convention"] = LEGACY.text
    path = _write(tmp_path / "legacy.csv", rows)
    line_import.import_lines(session=session, path=path, convention=LEGACY)
    with pytest.raises(Invalid) as caught:
        versions.freeze_version(session=session, name="authors")
    assert caught.value.message.startswith(
        "the acceptance line of task 1 does not fit this version"
    )
    assert "metric_convention rgb,crop=0,8bit is not the version's (rgb,crop=4,8bit)" in (
        caught.value.message
    )
    version = versions.freeze_version(session=session, name="legacy", convention=LEGACY)
    assert version.convention == LEGACY
    with pytest.raises(Invalid, match="at least 96"):
        versions.freeze_version(session=session, name="small", real_world_max_side=50)
