"""Text and CSV for people and spreadsheets, from the API's JSON (every field optional).

A value the service does not publish (yet, or at this precision) shows as ``–``: the client
must keep working when the service adds, rounds or withholds fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from gir_core.client.api import Json

MISSING = "–"
TASK_COLUMNS = (
    "key", "kind", "order", "spec", "mean_psnr", "mean_ssim", "acceptance_psnr",
    "excellence_psnr", "passed_acceptance", "passed_excellence", "score", "line_broken",
)  # fmt: skip


def number(value: Any, digits: int) -> str:
    """``value`` with ``digits`` decimals; text the service chose (a coarse band) as it is;
    ``–`` for anything else.

    >>> number(0.4166, 2), number(None, 2), number("0.3–0.4", 2)
    ('0.42', '–', '0.3–0.4')
    """
    if isinstance(value, str) and value:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return MISSING
    return f"{value:.{digits}f}"


def _interval(summary: Json, low: str, high: str, digits: int) -> str:
    if summary.get(low) is None or summary.get(high) is None:
        return ""
    return f"  [{number(summary[low], digits)}, {number(summary[high], digits)}]"


def summary_lines(submission: Json, rank: tuple[int, int] | None) -> list[str]:
    """The scored submission's summary: AR, ER, mean PSNR with intervals, split, rank."""
    summary = submission.get("summary") or {}
    version = submission.get("benchmark_version") or MISSING
    if rank is not None:
        place = f"{rank[0]} of {rank[1]} on {version}"
    elif submission.get("visibility") == "private":
        place = "not ranked (private)"
    else:
        place = "not on the public board"
    return [
        f"submission {submission.get('id')} ({submission.get('name', '')}): "
        f"{submission.get('status')} on benchmark version {version}",
        f"AR         {number(summary.get('ar'), 2)}{_interval(summary, 'ar_low', 'ar_high', 2)}",
        f"ER         {number(summary.get('er'), 2)}{_interval(summary, 'er_low', 'er_high', 2)}",
        f"mean PSNR  {number(summary.get('mean_psnr'), 2)} dB"
        f"{_interval(summary, 'psnr_low', 'psnr_high', 2)}",
        f"split      AR representative {number(summary.get('ar_representative'), 2)} · "
        f"hidden {number(summary.get('ar_hidden'), 2)}; PSNR representative "
        f"{number(summary.get('psnr_representative'), 2)} · "
        f"hidden {number(summary.get('psnr_hidden'), 2)} dB",
        f"rank       {place}",
    ]


def shortfalls(summary: Json, minimums: dict[str, float | None]) -> list[str]:
    """Sentences for each threshold the summary misses (``{"ar": 0.4, "er": None}``).

    >>> shortfalls({"ar": 0.25, "er": 0.1}, {"ar": 0.4, "er": 0.1})
    ['AR 0.25 is below --min-ar 0.4 by 0.15']
    """
    missed = []
    for metric, minimum in minimums.items():
        if minimum is None:
            continue
        value = summary.get(metric)
        if not isinstance(value, int | float):
            missed.append(f"{metric.upper()} is not published, so --min-{metric} cannot be met")
        elif value < minimum:
            missed.append(
                f"{metric.upper()} {value:g} is below --min-{metric} {minimum:g} "
                f"by {round(minimum - value, 6):g}"
            )
    return missed


def public_tasks(results: Json) -> list[Json]:
    """The tasks published with their text (hidden tasks count only in the summary)."""
    tasks = results.get("tasks") or []
    return [task for task in tasks if isinstance(task, dict) and task.get("spec")]


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Columns aligned to their widest cell; the last column is left ragged."""
    body = [list(headers), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in body) for i in range(len(headers) - 1)]
    lines = ["  ".join([*(c.rjust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
             for row in body]  # fmt: skip
    return "\n".join(lines)


def _mark(task: Json) -> str:
    if task.get("line_broken"):
        return "line broken"  # the service gives such a task no marks and no score
    if task.get("passed_excellence"):
        return "exc"
    return "acc" if task.get("passed_acceptance") else "-"


def results_text(results: Json) -> str:
    """The per-task table of public tasks, then how many hidden tasks the summary also has."""
    tasks = public_tasks(results)
    rows = [
        (str(t.get("key")), str(t.get("order", MISSING)), number(t.get("mean_psnr"), 2),
         number(t.get("mean_ssim"), 4), number(t.get("acceptance_psnr"), 2),
         number(t.get("excellence_psnr"), 2), _mark(t), str(t.get("spec")))
        for t in tasks
    ]  # fmt: skip
    headers = ("task", "k", "PSNR", "SSIM", "acc", "exc", "pass", "spec")
    hidden = len(results.get("tasks") or []) - len(tasks)
    lines = [table(headers, rows)]
    if hidden:
        lines.append(f"(+ {hidden} hidden tasks, counted in the summary only)")
    return "\n".join(lines)


def results_csv(results: Json) -> str:
    """The public tasks as CSV (one row per task, :data:`TASK_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TASK_COLUMNS)
    for task in public_tasks(results):
        writer.writerow("" if task.get(c) is None else task.get(c) for c in TASK_COLUMNS)
    return out.getvalue()


def leaderboard_text(board: Json) -> str:
    """The board's rows: rank, id, AR, ER, mean PSNR, name and owner."""
    rows = [
        (str(r.get("rank", MISSING)), str(r.get("id")), number(r.get("ar"), 2),
         number(r.get("er"), 2), number(r.get("mean_psnr"), 2),
         f"{r.get('name', '')} ({r.get('owner', '')})")
        for r in board.get("items") or []
    ]  # fmt: skip
    total = board.get("total", len(rows))
    title = f"benchmark version {board.get('version') or MISSING}: {total} rows"
    return title + "\n" + table(("rank", "id", "AR", "ER", "PSNR", "model (owner)"), rows)
