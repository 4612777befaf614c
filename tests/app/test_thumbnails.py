"""Task thumbnails: the public task's degradation on the demo crop, rendered once and cached;
hidden tasks are never rendered."""

from __future__ import annotations

import uuid

import cv2
import numpy as np
import pytest
from sqlalchemy.orm import Session

from app.benchmarks import thumbnails
from app.benchmarks.models import TaskDef
from app.errors import NotFound
from app.storage import get_storage
from gir_core.tasks import DEGRADATION_VERSION, Task


def _task(session: Session, spec: str, kind: str = "representative") -> TaskDef:
    task = Task.parse(spec)
    key = f"t{uuid.uuid4().hex[:8]}"
    row = TaskDef(key=key, spec=str(task), task_hash=task.id, kind=kind, order=task.order)
    session.add(row)
    session.flush()
    get_storage().delete(thumbnails.thumbnail_key(task))  # start uncached
    return row


def _decode(data: bytes) -> np.ndarray:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))


def test_clean_thumbnail_is_the_demo_crop() -> None:
    clean = _decode(thumbnails.clean_thumbnail())
    side = thumbnails.SIDE
    assert clean.shape == (side, side, 3)
    assert clean.std() > 20  # a photo, not a flat patch


@pytest.mark.parametrize("spec", ["noise", "haze", "rain + blur", "snow"])
def test_a_thumbnail_is_the_task_applied_to_the_clean_crop(session: Session, spec: str) -> None:
    row = _task(session, spec)
    data = thumbnails.task_thumbnail(session=session, key=row.key)
    picture = _decode(data)
    clean = _decode(thumbnails.clean_thumbnail()).astype(np.float64)
    assert picture.shape == (thumbnails.SIDE, thumbnails.SIDE, 3)
    assert np.abs(picture - clean).mean() > 2.0  # visibly degraded
    assert data == thumbnails.render(Task.parse(spec))  # deterministic


def test_noise_thumbnail_has_the_noise_level(session: Session) -> None:
    row = _task(session, "noise")
    picture = _decode(thumbnails.task_thumbnail(session=session, key=row.key)).astype(np.float64)
    clean = _decode(thumbnails.clean_thumbnail()).astype(np.float64)
    assert 14.0 < np.std(picture - clean) < 21.0  # σ = 20 levels, clipped at 0 and 255


def test_second_request_is_served_from_the_cache(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = _task(session, "blur + noise")
    calls: list[Task] = []
    render = thumbnails.render

    def counting(task: Task) -> bytes:
        calls.append(task)
        return render(task)

    monkeypatch.setattr(thumbnails, "render", counting)
    first = thumbnails.task_thumbnail(session=session, key=row.key)
    second = thumbnails.task_thumbnail(session=session, key=row.key)
    assert first == second and len(calls) == 1
    key = thumbnails.thumbnail_key(Task.parse(row.spec))
    assert f"/v{DEGRADATION_VERSION}/" in key and Task.parse(row.spec).id in key
    assert get_storage().local_path(key).read_bytes() == first


def test_hidden_and_unknown_tasks_are_not_found_and_never_rendered(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden = _task(session, "haze + blur + noise", kind="hidden")
    monkeypatch.setattr(thumbnails, "render", lambda task: pytest.fail("rendered"))
    for key in (hidden.key, "no-such-task"):
        with pytest.raises(NotFound) as caught:
            thumbnails.task_thumbnail(session=session, key=key)
        assert hidden.spec not in str(caught.value)
    assert not get_storage().exists(thumbnails.thumbnail_key(Task.parse(hidden.spec)))
