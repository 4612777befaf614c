"""Visual examples of a scored model: input, output and ground-truth crops of public tasks.

Scoring (:mod:`gir_core.scoring`) hands each representative task's result an
:class:`~gir_core.scoring.Example` — the centre crop of the first test image — and the worker
stores it here as ONE PNG per (submission, task) at :func:`example_key`:

    ``examples/<submission id>/<task key>.png``: input | gap | output | gap | GT,

three crops of equal size side by side with :data:`GAP` white columns between them (height H,
width 3·W + 2·GAP). One file keeps the three parts of an example in step (a rescore replaces
them in one atomic write); :func:`example_png` cuts a part back out for a page.

Hidden tasks never have an example: scoring makes none for them, the worker refuses to store
one, and the readers here only ever look up representative tasks, so even a stray file under a
hidden task's key is never served.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import TaskDef, VersionTask
from app.errors import NotFound
from app.storage import Storage, get_storage, put_bytes
from app.submissions.models import Submission
from app.submissions.service import visible_submission
from gir_core.errors import GirError, ImageError
from gir_core.images import encode_png, read_png_u8
from gir_core.scoring import Example

ExamplePart = Literal["input", "output", "gt"]
PARTS: tuple[ExamplePart, ...] = ("input", "output", "gt")
GAP = 4
"""White columns between the crops of a stored example (px)."""
_REPRESENTATIVE = "representative"


class ExampleRead(BaseModel):
    """A public task of a submission for which an example is stored, in benchmark order."""

    key: str = Field(description="Public task key, e.g. `12`.")
    spec: str = Field(description="The task's degradation spec (public tasks only).")
    order: int = Field(description="Number of degradation steps.")


def examples_prefix(submission_id: int) -> str:
    """Storage key of the folder holding every example of a submission (deleted on rescore)."""
    return f"examples/{submission_id}"


def example_key(submission_id: int, task_key: str) -> str:
    """Storage key of one example PNG (see the module docstring for its layout).

    Example:
        >>> example_key(7, "12")
        'examples/7/12.png'
    """
    return f"{examples_prefix(submission_id)}/{task_key}.png"


def compose(example: Example) -> NDArray[np.uint8]:
    """The three crops side by side (input | output | GT), :data:`GAP` white columns apart."""
    height, width = example.input.shape[:2]
    for part in (example.output, example.gt):
        if part.shape != example.input.shape:
            raise ImageError(f"example parts differ in shape: {part.shape} vs {(height, width, 3)}")
    gap = np.full((height, GAP, 3), 255, np.uint8)
    return np.concatenate([example.input, gap, example.output, gap, example.gt], axis=1)


def split(sheet: NDArray[np.uint8], part: ExamplePart) -> NDArray[np.uint8]:
    """Cut one part back out of a sheet made by :func:`compose`.

    Raises:
        ImageError: the width does not fit three equal crops and two gaps.
    """
    width, rest = divmod(sheet.shape[1] - 2 * GAP, 3)
    if rest or width < 1:
        raise ImageError(f"a {sheet.shape[1]} px wide sheet is not three crops and two gaps")
    left = PARTS.index(part) * (width + GAP)
    return np.ascontiguousarray(sheet[:, left : left + width])


def save_example(storage: Storage, submission_id: int, task_key: str, example: Example) -> str:
    """Write one example's PNG (overwriting an earlier one, e.g. after a rescore); its key."""
    key = example_key(submission_id, task_key)
    put_bytes(storage, key, encode_png(compose(example)))
    return key


def delete_examples(storage: Storage, submission_id: int) -> None:
    """Remove every stored example of a submission (a rescore starts without stale ones)."""
    storage.delete(examples_prefix(submission_id))


def _public_tasks(session: Session, submission: Submission) -> list[TaskDef]:
    """The representative tasks of the submission's benchmark version, in benchmark order."""
    if submission.benchmark_version_id is None:
        return []
    query = (
        select(TaskDef)
        .join(VersionTask, VersionTask.task_id == TaskDef.id)
        .where(
            VersionTask.version_id == submission.benchmark_version_id,
            TaskDef.kind == _REPRESENTATIVE,
        )
        .order_by(VersionTask.position)
    )
    return list(session.scalars(query))


def list_examples(
    *, session: Session, viewer: User | None, submission_id: int
) -> list[ExampleRead]:
    """The submission's public tasks that have a stored example, in benchmark order.

    Raises:
        NotFound: the submission does not exist or ``viewer`` may not see it.
    """
    submission = visible_submission(session=session, viewer=viewer, submission_id=submission_id)
    storage = get_storage()
    return [
        ExampleRead(key=task.key, spec=task.spec, order=task.order)
        for task in _public_tasks(session, submission)
        if storage.exists(example_key(submission.id, task.key))
    ]


def example_png(
    *, session: Session, viewer: User | None, submission_id: int, task_key: str, part: str
) -> bytes:
    """PNG bytes of one part (``input``, ``output`` or ``gt``) of a submission's example.

    Only representative tasks of the submission's version are looked up, so a hidden task's key
    is a NotFound like an unknown one, whatever storage holds.

    Raises:
        NotFound: invisible or missing submission, a hidden or unknown task key, an unknown part,
            or no stored example.
    """
    submission = visible_submission(session=session, viewer=viewer, submission_id=submission_id)
    missing = NotFound(f"submission {submission_id} has no example for task {task_key!r}")
    public = {task.key for task in _public_tasks(session, submission)}
    if task_key not in public or part not in PARTS:
        raise missing
    storage = get_storage()
    key = example_key(submission.id, task_key)
    if not storage.exists(key):
        raise missing
    try:
        sheet = read_png_u8(storage.local_path(key))
        return encode_png(split(sheet, part))
    except GirError:  # a damaged file: nothing to show, as if it were missing
        raise missing from None
