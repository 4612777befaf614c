"""``gir-admin lines import CSV``: lines with their provenance, refused when they do not fit.

The file has one row per line::

    task,kind,psnr,gt_hash,degradation_version,seed,metric_convention,network,profile,
    iterations,train_set_hash,train_seed,code_version,created_at

``task`` is a pool key (``12``, ``h07``) or a task's text; ``kind`` is ``acceptance`` or
``excellence``. A row whose GT hash, degradation version, seed or metric convention differs from
the target version's (:mod:`app.benchmarks.provenance`) is refused with a sentence naming the
field, and nothing is imported. ``foreign`` (``--foreign REASON``) imports such rows anyway —
and files without provenance at all, such as the paper's ``task_id,acceptance_psnr,
excellence_psnr`` table — recording the reason, which the leaderboard then shows beside AR/ER.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.benchmarks.models import LineRecord, TaskDef
from app.benchmarks.provenance import FIELDS, Target, mismatch, target
from app.errors import Invalid
from gir_core.cli.generality_cmd import read_lines_csv
from gir_core.convention import DEFAULT, MetricConvention
from gir_core.errors import GirError
from gir_core.tasks import Task

KINDS = ("acceptance", "excellence")
HEADER = ("task", "kind", "psnr", *FIELDS)
_INTEGERS = {"seed", "iterations", "train_seed"}


@dataclass(frozen=True)
class _Row:
    line: int
    task: TaskDef
    record: LineRecord


def import_lines(
    *,
    session: Session,
    path: Path,
    foreign: str | None = None,
    convention: MetricConvention = DEFAULT,
) -> list[TaskDef]:
    """Import every line of ``path`` or none; returns the tasks whose lines changed.

    Raises:
        Invalid: an unreadable or malformed file (file, line and column named), a task not in
            the pool, or — without ``foreign`` — a line whose provenance does not fit.
    """
    reason = (foreign or "").strip() or None
    if foreign is not None and reason is None:
        raise Invalid('--foreign needs a reason, e.g. --foreign "Table C.1 of the paper"')
    columns, table = _read(path)
    tasks = {task.key: task for task in session.scalars(select(TaskDef))}
    if set(HEADER) <= set(columns):
        rows = [_parse(path, number, row, tasks) for number, row in table]
    elif reason is not None:
        rows = _legacy(path, tasks)
    else:
        missing = ", ".join(c for c in HEADER if c not in columns)
        raise Invalid(
            f"lines file '{path}' lacks the provenance columns {missing}; every line must say "
            'what it was measured on, or import it with --foreign "reason"'
        )
    if not rows:
        raise Invalid(f"lines file '{path}' has no lines")
    if reason is None:
        _check(path, rows, target(session=session, convention=convention))
    return _store(session, path, rows, reason)


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in reader.fieldnames or []]
            table = [
                (reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k})
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise Invalid(f"cannot read lines file '{path}': {error}") from None
    if not columns:
        raise Invalid(f"lines file '{path}' is empty")
    return columns, table


def _parse(path: Path, line: int, row: dict[str, str], tasks: dict[str, TaskDef]) -> _Row:
    where = f"lines file '{path}', line {line}"
    task = _task(where, row["task"], tasks)
    kind = row["kind"].lower()
    if kind not in KINDS:
        raise Invalid(f"{where}, column 'kind': {row['kind']!r} is not acceptance or excellence")
    psnr = _number(where, "psnr", row["psnr"])
    values: dict[str, object] = {}
    for name in FIELDS[:-1]:
        text = row[name]
        values[name] = _integer(where, name, text) if name in _INTEGERS else (text or None)
    if values["metric_convention"] is not None:
        values["metric_convention"] = _convention(where, str(values["metric_convention"]))
    record = LineRecord(
        task_id=task.id,
        kind=kind,
        psnr=psnr,
        made_at=_when(where, row["created_at"]),
        **values,
    )
    return _Row(line, task, record)


def _task(where: str, ref: str, tasks: dict[str, TaskDef]) -> TaskDef:
    if ref in tasks:
        return tasks[ref]
    try:
        wanted = Task.parse(ref).id
    except GirError:
        wanted = None
    found = next((t for t in tasks.values() if t.task_hash == wanted), None)
    if found is None:
        # Never echo the text: it may be a hidden spec, and the file may not be the pool's.
        raise Invalid(f"{where}, column 'task': neither a pool key nor a task in the pool")
    return found


def _number(where: str, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{where}, column '{column}': {text!r} is not a number") from None
    if not math.isfinite(value):
        raise Invalid(f"{where}, column '{column}': {text!r} is not a finite number")
    return value


def _integer(where: str, column: str, text: str) -> int | None:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid(f"{where}, column '{column}': {text!r} is not an integer") from None


def _convention(where: str, text: str) -> str:
    try:
        return MetricConvention.parse(text).text
    except GirError as error:
        raise Invalid(f"{where}, column 'metric_convention': {error}") from None


def _when(where: str, text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"{where}, column 'created_at': {text!r} is not a date (ISO 8601, e.g. "
            "2026-12-04T05:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _legacy(path: Path, tasks: dict[str, TaskDef]) -> list[_Row]:
    """A ``task_id,acceptance_psnr,excellence_psnr`` table: two provenance-free lines a row."""
    try:
        table = read_lines_csv(path)
    except GirError as error:
        raise Invalid(str(error)) from None
    unknown = [row.task_id for row in table if row.task_id not in tasks]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        raise Invalid(f"lines file '{path}' names task keys not in the pool: {shown}")
    rows = []
    for number, line in enumerate(table, start=2):
        task = tasks[line.task_id]
        if line.kind is not None and line.kind != task.kind:
            raise Invalid(
                f"lines file '{path}': task {task.key} is {task.kind} in the pool, not {line.kind}"
            )
        for kind, psnr in (("acceptance", line.acceptance), ("excellence", line.excellence)):
            rows.append(_Row(number, task, LineRecord(task_id=task.id, kind=kind, psnr=psnr)))
    return rows


def _check(path: Path, rows: list[_Row], goal: Target) -> None:
    for row in rows:
        problem = mismatch(row.record, goal)
        if problem is not None:
            raise Invalid(
                f"lines file '{path}', line {row.line} (task {row.task.key}, {row.record.kind}): "
                f'{problem}; nothing imported (use --foreign "reason" to import it anyway)'
            )


def _store(session: Session, path: Path, rows: list[_Row], reason: str | None) -> list[TaskDef]:
    source = f"imported:{path.name}"[:120]
    changed: dict[str, TaskDef] = {}
    for row in rows:
        row.record.source, row.record.foreign_reason = source, reason
        session.add(row.record)
        if row.record.kind == "acceptance":
            row.task.acceptance_psnr = row.record.psnr
        else:
            row.task.excellence_psnr = row.record.psnr
        row.task.line_source = source
        changed[row.task.key] = row.task
    session.commit()
    return list(changed.values())
