"""Visual examples: stored as one side-by-side PNG, listed and served only for public tasks of a
submission the viewer may see, and gone after a rescore."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy.orm import Session

from app import queue
from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, TaskDef, VersionTask
from app.benchmarks.moderation import rescore
from app.errors import NotFound
from app.storage import get_storage, put_bytes
from app.submissions.examples import (
    GAP,
    PARTS,
    compose,
    example_key,
    example_png,
    list_examples,
    save_example,
    split,
)
from app.submissions.models import Submission
from gir_core.errors import ImageError
from gir_core.scoring import Example
from gir_core.tasks import Task
from tests.support.factories import Rows

# key, spec, kind, position in the version (deliberately not the key order)
TASKS = (
    ("e2", "blur", "representative", 0),
    ("eh", "rain + noise", "hidden", 1),
    ("e1", "noise", "representative", 2),
    ("e3", "haze", "representative", 3),
)


@dataclass
class World:
    owner: User
    stranger: User
    admin: User
    version_id: int


def _example(seed: int, side: int = 12) -> Example:
    rng = np.random.default_rng(seed)
    parts = [rng.integers(0, 256, (side, side + 2, 3), dtype=np.uint8) for _ in range(3)]
    return Example(*parts)


@pytest.fixture
def world(session: Session, rows: Rows) -> World:
    version = BenchmarkVersion(name=f"examples-{uuid.uuid4().hex[:8]}", seed=1)
    for key, spec, kind, position in TASKS:
        task = Task.parse(spec)
        row = TaskDef(key=key, spec=str(task), task_hash=task.id, kind=kind, order=task.order)
        version.tasks.append(
            VersionTask(task=row, position=position, acceptance_psnr=20.0, excellence_psnr=25.0)
        )
    session.add(version)
    owner, stranger = rows.user("owner"), rows.user("stranger")
    admin = rows.user("admin", admin=True)
    return World(owner, stranger, admin, version.id)


def _submission(session: Session, world: World, *, visibility: str = "public") -> Submission:
    return Rows(session).submission(
        world.owner, size_bytes=1, storage_key="models/x", status="scored",
        visibility=visibility, benchmark_version_id=world.version_id,
    )  # fmt: skip


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def test_the_stored_png_is_input_output_gt_side_by_side(storage_dir: Path) -> None:
    example = _example(1)
    key = save_example(get_storage(), 10**9, "7", example)
    assert key == example_key(10**9, "7") == "examples/1000000000/7.png"
    sheet = _decode((storage_dir / key).read_bytes())
    assert sheet.shape == (12, 3 * 14 + 2 * GAP, 3)
    np.testing.assert_array_equal(sheet[:, :14], example.input)
    np.testing.assert_array_equal(sheet[:, 14 : 14 + GAP], 255)
    np.testing.assert_array_equal(sheet[:, 14 + GAP : 28 + GAP], example.output)
    np.testing.assert_array_equal(sheet[:, -14:], example.gt)
    for part, expected in zip(PARTS, (example.input, example.output, example.gt), strict=True):
        np.testing.assert_array_equal(split(compose(example), part), expected)
    with pytest.raises(ImageError, match="not three crops"):
        split(sheet[:, 1:], "gt")
    with pytest.raises(ImageError, match="differ in shape"):
        compose(Example(example.input, example.output[1:], example.gt))


def test_listed_in_benchmark_order_for_public_tasks_with_a_file(
    session: Session, world: World
) -> None:
    submission = _submission(session, world)
    storage = get_storage()
    for key in ("e1", "e2"):
        save_example(storage, submission.id, key, _example(2))
    # Even a file under a hidden task's key (which the worker never writes) is not listed.
    save_example(storage, submission.id, "eh", _example(3))
    listed = list_examples(session=session, viewer=None, submission_id=submission.id)
    expected = [("e2", str(Task.parse("blur")), 1), ("e1", str(Task.parse("noise")), 1)]
    assert [(e.key, e.spec, e.order) for e in listed] == expected
    # No version (e.g. reset by a rescore): nothing to list.
    submission.benchmark_version_id = None
    session.flush()
    assert list_examples(session=session, viewer=None, submission_id=submission.id) == []


def test_each_part_is_served_as_a_png(session: Session, world: World) -> None:
    submission = _submission(session, world)
    example = _example(4)
    save_example(get_storage(), submission.id, "e1", example)
    for part, expected in zip(PARTS, (example.input, example.output, example.gt), strict=True):
        data = example_png(
            session=session, viewer=None, submission_id=submission.id, task_key="e1", part=part
        )
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        np.testing.assert_array_equal(_decode(data), expected)


@pytest.mark.parametrize(
    ("task_key", "part"),
    [("eh", "input"), ("eh", "gt"), ("e3", "input"), ("nope", "input"), ("e1", "mask")],
)
def test_hidden_unknown_or_missing_is_not_found(
    session: Session, world: World, task_key: str, part: str
) -> None:
    submission = _submission(session, world)
    storage = get_storage()
    save_example(storage, submission.id, "e1", _example(5))
    save_example(storage, submission.id, "eh", _example(6))  # must never be served
    with pytest.raises(NotFound):
        example_png(
            session=session, viewer=world.admin, submission_id=submission.id,
            task_key=task_key, part=part,
        )  # fmt: skip


def test_a_damaged_file_is_not_found(session: Session, world: World) -> None:
    submission = _submission(session, world)
    put_bytes(get_storage(), example_key(submission.id, "e1"), b"not a png")
    with pytest.raises(NotFound):
        example_png(
            session=session, viewer=None, submission_id=submission.id, task_key="e1", part="gt"
        )


def test_private_submissions_are_seen_by_their_owner_and_admins_only(
    session: Session, world: World
) -> None:
    submission = _submission(session, world, visibility="private")
    save_example(get_storage(), submission.id, "e1", _example(7))
    for viewer in (world.owner, world.admin):
        assert [e.key for e in list_examples(
            session=session, viewer=viewer, submission_id=submission.id
        )] == ["e1"]  # fmt: skip
        assert example_png(
            session=session, viewer=viewer, submission_id=submission.id, task_key="e1",
            part="output",
        )  # fmt: skip
    for outsider in (None, world.stranger):
        with pytest.raises(NotFound):
            list_examples(session=session, viewer=outsider, submission_id=submission.id)
        with pytest.raises(NotFound):
            example_png(
                session=session, viewer=outsider, submission_id=submission.id, task_key="e1",
                part="output",
            )  # fmt: skip
    with pytest.raises(NotFound):
        list_examples(session=session, viewer=world.admin, submission_id=987_654_321)


def test_rescore_deletes_the_examples(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    monkeypatch.setattr(queue, "enqueue_validation", sent.append)
    submission = _submission(session, world)
    storage = get_storage()
    save_example(storage, submission.id, "e1", _example(8))
    rescore(session=session, submission_id=submission.id)
    assert sent == [submission.id]
    assert not storage.exists(example_key(submission.id, "e1"))
    assert list_examples(session=session, viewer=None, submission_id=submission.id) == []
