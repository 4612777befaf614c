"""``gir generality``: AR, ER and mean PSNR of models from two CSV tables (SPEC §2.2, §5).

The lines table has one row per task (``task_id,acceptance_psnr,excellence_psnr``; an optional
``kind`` column of ``representative`` / ``hidden`` adds the per-kind split; other columns such as
the paper's ``degradations`` are ignored). The results table has ``task_id`` and one PSNR column per
model. Both must list exactly the same tasks.

A bad table is a usage error: one sentence on stderr naming the file, line and column, exit code 2
(the code Typer uses for bad options), so CI scripts can tell it from a crash.

Example:
    gir generality --lines table_c1_lines.csv --results table_c4_data_scale_psnr.csv --json
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from gir_core.errors import GirError
from gir_core.generality import KINDS, GeneralitySummary, SplitScores, TaskKind, TaskLine, summarize

TASK_ID = "task_id"
ACCEPTANCE = "acceptance_psnr"
EXCELLENCE = "excellence_psnr"
KIND = "kind"
EXIT_BAD_INPUT = 2

# Plain decimal numbers only: float() would also take "nan", "inf" and "1_0".
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class TableError(GirError, ValueError):
    """A CSV table that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class _Row:
    """One data row of a CSV table with the physical line it ends on (for messages)."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class _Table:
    label: str
    columns: tuple[str, ...]
    rows: tuple[_Row, ...]


def _read_text(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TableError(f"{label} is not UTF-8 text") from None
    except OSError as exc:
        raise TableError(f"cannot read {label}: {exc.strerror or exc}") from None


def _header(header: list[str], label: str, required: Sequence[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip() for cell in header)
    for index, name in enumerate(columns):
        if not name:
            raise TableError(f"{label}: header column {index + 1} has no name")
        if columns.index(name) != index:
            raise TableError(f"{label}: column '{name}' appears twice in the header")
    missing = [name for name in required if name not in columns]
    if missing:
        raise TableError(
            f"{label}: missing column '{missing[0]}' (header has: {', '.join(columns)})"
        )
    return columns


def _read_table(path: Path, label: str, required: Sequence[str]) -> _Table:
    """Parse a CSV into named rows, refusing empty files, bad headers and ragged rows."""
    reader = csv.reader(io.StringIO(_read_text(path, label)))
    try:
        records = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise TableError(f"{label}, line {reader.line_num}: not valid CSV ({exc})") from None
    if not records:
        raise TableError(f"{label} is empty; expected a header with {', '.join(required)}")
    columns = _header(records[0][1], label, required)
    rows = []
    for line, row in records[1:]:
        if len(row) != len(columns):
            raise TableError(
                f"{label}, line {line}: {len(row)} fields, but the header has {len(columns)}"
            )
        rows.append(_Row(line, {c: v.strip() for c, v in zip(columns, row, strict=True)}))
    if not rows:
        raise TableError(f"{label} has a header but no data rows")
    return _Table(label, columns, tuple(rows))


def _number(table: _Table, row: _Row, column: str) -> float:
    text = row.cells[column]
    if not _NUMBER.match(text):
        shown = f"'{text}' is not a number" if text else "the cell is empty"
        raise TableError(f"{table.label}, line {row.line}, column '{column}': {shown}")
    return float(text)


def _task_ids(table: _Table) -> list[str]:
    """Task ids in row order, refusing empty and repeated ids."""
    first_line: dict[str, int] = {}
    for row in table.rows:
        task = row.cells[TASK_ID]
        if not task:
            raise TableError(f"{table.label}, line {row.line}, column '{TASK_ID}': empty task id")
        if task in first_line:
            raise TableError(
                f"{table.label}, line {row.line}: task_id '{task}' repeats line {first_line[task]}"
            )
        first_line[task] = row.line
    return list(first_line)


def _kind(table: _Table, row: _Row) -> TaskKind | None:
    if KIND not in table.columns:
        return None
    text = row.cells[KIND].lower()
    for kind in KINDS:
        if text == kind:
            return kind
    raise TableError(
        f"{table.label}, line {row.line}, column '{KIND}': '{row.cells[KIND]}' is not one of "
        f"{', '.join(KINDS)}"
    )


def read_lines_csv(path: Path) -> list[TaskLine]:
    """Task lines from a CSV with ``task_id,acceptance_psnr,excellence_psnr`` (and ``kind``).

    Raises:
        TableError: The file cannot be read or is not such a table.
    """
    table = _read_table(path, f"lines file '{path}'", (TASK_ID, ACCEPTANCE, EXCELLENCE))
    ids = _task_ids(table)
    return [
        TaskLine(
            task_id=task,
            acceptance=_number(table, row, ACCEPTANCE),
            excellence=_number(table, row, EXCELLENCE),
            kind=_kind(table, row),
        )
        for task, row in zip(ids, table.rows, strict=True)
    ]


def read_results_csv(path: Path) -> dict[str, dict[str, float]]:
    """Model -> task id -> PSNR from a CSV with ``task_id`` and one column per model.

    Raises:
        TableError: The file cannot be read, is not such a table, or has no model column.
    """
    table = _read_table(path, f"results file '{path}'", (TASK_ID,))
    models = [c for c in table.columns if c != TASK_ID]
    if not models:
        raise TableError(f"{table.label} has no model column besides '{TASK_ID}'")
    ids = _task_ids(table)
    return {
        model: {task: _number(table, row, model) for task, row in zip(ids, table.rows, strict=True)}
        for model in models
    }


def check_same_tasks(
    lines: Sequence[TaskLine],
    results: dict[str, dict[str, float]],
    *,
    lines_label: str,
    results_label: str,
) -> None:
    """Refuse results that miss a task of the lines, or score a task that has no line."""
    wanted = [line.task_id for line in lines]
    given = next(iter(results.values()))
    known = set(wanted)
    missing = [t for t in wanted if t not in given]
    if missing:
        raise TableError(
            f"{results_label} has no row for task_id {_list(missing)}, which {lines_label} lists"
        )
    extra = [t for t in given if t not in known]
    if extra:
        raise TableError(
            f"{results_label} has rows for task_id {_list(extra)}, which {lines_label} lacks"
        )


def _list(ids: Sequence[str], limit: int = 5) -> str:
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(f"'{t}'" for t in ids[:limit]) + more


def _split_fields(suffix: str, scores: SplitScores | None) -> dict[str, object]:
    if scores is None:
        return {
            f"n_tasks_{suffix}": 0,
            f"ar_{suffix}": None,
            f"er_{suffix}": None,
            f"mean_psnr_{suffix}": None,
        }
    return {
        f"n_tasks_{suffix}": scores.n_tasks,
        f"ar_{suffix}": scores.ar,
        f"er_{suffix}": scores.er,
        f"mean_psnr_{suffix}": scores.mean_psnr,
    }


def record(model: str, summary: GeneralitySummary, *, with_kinds: bool) -> dict[str, object]:
    """One model's JSON object: AR, ER, mean PSNR, the tasks behind the counts, per-kind split."""
    out: dict[str, object] = {
        "model": model,
        "n_tasks": summary.n_tasks,
        "ar": summary.ar,
        "er": summary.er,
        "mean_psnr": summary.mean_psnr,
        "accepted_tasks": list(summary.accepted),
        "excellent_tasks": list(summary.excellent),
    }
    if with_kinds:
        out |= _split_fields("rep", summary.representative)
        out |= _split_fields("hidden", summary.hidden)
        gap = summary.gap
        out |= {
            "ar_gap": None if gap is None else gap.ar,
            "er_gap": None if gap is None else gap.er,
            "mean_psnr_gap": None if gap is None else gap.mean_psnr,
        }
    return out


def _cell(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, float) else "-" if value is None else str(value)


def format_table(records: Sequence[dict[str, object]]) -> str:
    """Aligned text table, 2 decimals (the paper's precision); per-kind AR when present."""
    keys = ["model", "n_tasks", "ar", "er", "mean_psnr"]
    heads = ["model", "tasks", "AR", "ER", "mean PSNR"]
    if "ar_rep" in records[0]:
        keys += ["ar_rep", "ar_hidden", "mean_psnr_rep", "mean_psnr_hidden"]
        heads += ["AR rep", "AR hidden", "PSNR rep", "PSNR hidden"]
    grid = [heads] + [[_cell(r[k]) for k in keys] for r in records]
    widths = [max(len(row[i]) for row in grid) for i in range(len(keys))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in grid
    )


def generality(
    lines: Annotated[
        Path, typer.Option("--lines", help="CSV: task_id,acceptance_psnr,excellence_psnr[,kind]")
    ],
    results: Annotated[
        Path, typer.Option("--results", help="CSV: task_id and one PSNR column per model")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """AR, ER and mean PSNR per model: the fraction of tasks whose PSNR surpasses each line."""
    try:
        task_lines = read_lines_csv(lines)
        table = read_results_csv(results)
        check_same_tasks(
            task_lines,
            table,
            lines_label=f"lines file '{lines}'",
            results_label=f"results file '{results}'",
        )
        with_kinds = any(line.kind is not None for line in task_lines)
        records = [
            record(m, summarize(task_lines, psnr), with_kinds=with_kinds)
            for m, psnr in table.items()
        ]
    except GirError as exc:
        typer.echo(f"Error: {exc}.", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(json.dumps(records, indent=2) if as_json else format_table(records))


def register(app: typer.Typer) -> None:
    """Add the ``generality`` command to ``app`` (the ``gir`` CLI calls this)."""
    app.command("generality")(generality)
