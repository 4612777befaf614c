"""The task pool: add tasks, the representative 50, hidden samples, clustering picks; list them.

Keys are public ids: representative tasks are numbered ("1".."50" for Table C.1, then "51"...),
hidden tasks are "h01", "h02", ... The hidden set is :func:`gir_core.hidden.hidden_tasks` of
the operator's secret (``per_order`` tasks for each order 1..5): regenerated, never guessed.
A task's spec is stored in canonical form and identified by its hash, so the pool never holds
the same task twice. Nothing here puts a hidden spec into an error message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.benchmarks.images import current_gt_set, read_set
from app.benchmarks.models import TaskDef
from app.errors import Conflict, Invalid, NotFound
from app.settings import get_settings
from app.storage import Storage
from gir_core.errors import GirError
from gir_core.hidden import DEFAULT_PER_ORDER, hidden_tasks
from gir_core.selection import SelectionResult, select_representative
from gir_core.tasks import Task, representative_tasks

REPRESENTATIVE = "representative"
HIDDEN = "hidden"
_HIDDEN_KEY = re.compile(r"^h(\d+)$")


def task_sort_key(task: TaskDef) -> tuple[int, int, str]:
    """Representative tasks by number, then hidden ones by number (the order versions use)."""
    digits = re.sub(r"\D", "", task.key)
    return (task.kind != REPRESENTATIVE, int(digits) if digits else 0, task.key)


def hidden_key(number: int) -> str:
    """``h01`` … ``h99``, ``h100`` …: two digits at least, so keys sort well in lists."""
    return f"h{number:02d}"


def parse_task(text: str) -> Task:
    """Parse task text, turning syntax errors into a 422-style domain error."""
    try:
        return Task.parse(text)
    except GirError as error:
        raise Invalid(str(error)) from None


def list_tasks(*, session: Session) -> list[TaskDef]:
    """Every task of the pool, representative first, each group by number."""
    return sorted(session.scalars(select(TaskDef)), key=task_sort_key)


def get_task(*, session: Session, key: str) -> TaskDef:
    """The pool task with public key ``key``.

    Raises:
        NotFound: naming the key.
    """
    task = session.scalar(select(TaskDef).where(TaskDef.key == key))
    if task is None:
        raise NotFound(f"there is no task with key {key!r} (see `tasks list`)")
    return task


def _existing_by_hash(session: Session, task: Task) -> TaskDef | None:
    return session.scalar(select(TaskDef).where(TaskDef.task_hash == task.id))


def _next_number(session: Session) -> int:
    numbers = [int(key) for key in session.scalars(select(TaskDef.key)) if key.isdigit()]
    return max(numbers, default=0) + 1


def _next_hidden_number(session: Session) -> int:
    matches = (_HIDDEN_KEY.match(key) for key in session.scalars(select(TaskDef.key)))
    return max((int(m.group(1)) for m in matches if m), default=0) + 1


def _row(key: str, task: Task, kind: str) -> TaskDef:
    return TaskDef(key=key, spec=str(task), task_hash=task.id, kind=kind, order=task.order)


def add_task(*, session: Session, text: str, hidden: bool = False) -> TaskDef:
    """Add one task to the pool under the next free key of its kind.

    Raises:
        Invalid: the text is not a task.
        Conflict: the pool holds this task already (the message names its key, not its spec).
    """
    task = parse_task(text)
    existing = _existing_by_hash(session, task)
    if existing is not None:
        raise Conflict(f"this task is in the pool already, as task {existing.key}")
    if hidden:
        row = _row(hidden_key(_next_hidden_number(session)), task, HIDDEN)
    else:
        row = _row(str(_next_number(session)), task, REPRESENTATIVE)
    session.add(row)
    session.commit()
    return row


def add_representative(*, session: Session) -> list[TaskDef]:
    """Add Table C.1's 50 representative tasks as keys "1".."50" (lines left empty).

    Idempotent: tasks already present under their key are skipped.

    Raises:
        Conflict: a key in 1..50 holds a different task, or a task sits under another key.
    """
    added = []
    for number, task in enumerate(representative_tasks(), start=1):
        key = str(number)
        by_key = session.scalar(select(TaskDef).where(TaskDef.key == key))
        by_hash = _existing_by_hash(session, task)
        if by_key is not None and by_key.task_hash == task.id:
            continue
        clash = by_key or by_hash
        if clash is not None:
            session.rollback()
            raise Conflict(
                f"Table C.1 task {number} clashes with pool task {clash.key}; nothing added"
            )
        added.append(_row(key, task, REPRESENTATIVE))
        session.add(added[-1])
    session.commit()
    return added


def sample_hidden(
    *, session: Session, per_order: int = DEFAULT_PER_ORDER, seed: int | None = None
) -> list[TaskDef]:
    """Add the stratified hidden set of ``seed`` (``per_order`` tasks of each order 1..5, the
    list ``gir tasks --hidden`` prints) under the next free keys ``hN``, order 1 first.

    Idempotent: a drawn task already in the pool as a hidden task is kept where it is; a larger
    ``per_order`` later adds only the new tasks (the set extends the smaller one). Other pool
    tasks are avoided by the draw. ``seed`` defaults to ``GIR_HIDDEN_SEED``.

    Raises:
        Invalid: ``per_order`` out of range.
    """
    secret = get_settings().hidden_seed if seed is None else seed
    pool = list(session.scalars(select(TaskDef)))
    hidden = {row.task_hash for row in pool if row.kind == HIDDEN}
    try:
        drawn = hidden_tasks(secret, per_order, avoid=[r.spec for r in pool if r.kind != HIDDEN])
    except GirError as error:
        raise Invalid(str(error)) from None
    number = _next_hidden_number(session)
    added: list[TaskDef] = []
    for task in drawn:
        if task.id in hidden:
            continue
        added.append(_row(hidden_key(number), task, HIDDEN))
        session.add(added[-1])
        number += 1
    session.commit()
    return added


@dataclass(frozen=True)
class Selection:
    """The clustering's picks: each task with its cluster size, and the rows added for them."""

    result: SelectionResult
    added: list[TaskDef]
    already: list[TaskDef]


def select_tasks(
    *,
    session: Session,
    order: int,
    n: int,
    candidates: int,
    seed: int = 0,
    max_side: int | None = 256,
    add: bool = True,
    storage: Storage | None = None,
) -> Selection:
    """Pick ``n`` representative tasks of ``order`` by spectral clustering over the current GT
    set (paper appendix A.2) and, with ``add``, put the new ones into the pool.

    The GT images are downscaled to ``max_side`` first: the similarity compares colour
    histograms, which survive downscaling, while every candidate degrades every image.

    Raises:
        NotFound: there is no GT set.
        Invalid: out-of-range arguments (gir_core's sentence).
    """
    images = read_set(current_gt_set(session=session), storage, max_side=max_side)
    try:
        result = select_representative(
            images, order=order, n_clusters=n, n_candidates=candidates, seed=seed
        )
    except GirError as error:
        raise Invalid(str(error)) from None
    added, already = [], []
    number = _next_number(session)
    for task in result.tasks:
        existing = _existing_by_hash(session, task)
        if existing is not None:
            already.append(existing)
            continue
        added.append(_row(str(number), task, REPRESENTATIVE))
        number += 1
    if add:
        session.add_all(added)
        session.commit()
    return Selection(result=result, added=added, already=already)
