"""What the model page shows, computed from the API's own reads of a submission.

Kept apart from the route so the page's arithmetic (ETA, pass counts, chart inputs) is plain
functions over :class:`SubmissionRead` and :class:`SubmissionResults`, testable without HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup

from app.pages import charts
from app.submissions.published import BAND_DRAWN
from app.submissions.schemas import SubmissionRead, SubmissionResults, TaskResultRead
from app.submissions.status import ACTIVE


@dataclass(frozen=True)
class Live:
    """Progress of a queued or running submission, as first drawn (the page script updates it)."""

    done: int
    total: int
    current_task: str
    queue_position: int | None
    elapsed_s: float | None
    eta_s: float | None


def live(submission: SubmissionRead, now: datetime | None = None) -> Live | None:
    """Progress with elapsed time and a linear ETA; None once the submission has ended."""
    if submission.status not in ACTIVE:
        return None
    now = now or datetime.now(UTC)
    progress = submission.progress
    elapsed = (now - submission.started_at).total_seconds() if submission.started_at else None
    remaining = progress.total - progress.done
    eta = (
        elapsed * remaining / progress.done
        if elapsed is not None and progress.done > 0 and remaining > 0
        else None
    )
    return Live(
        progress.done,
        progress.total,
        progress.current_task,
        progress.queue_position,
        elapsed,
        eta,
    )


def task_bars(tasks: list[TaskResultRead]) -> list[charts.TaskBar]:
    """One bar per task: s_t with its lines; hidden tasks carry no spec, and for anyone but
    their owner only a band, drawn at its middle (app.submissions.published)."""
    return [
        charts.TaskBar(
            key=task.key,
            order=task.order,
            score=_drawn_score(task),
            band=task.band,
            spec=task.spec,
            psnr=task.mean_psnr,
            acceptance=task.acceptance_psnr,
            excellence=task.excellence_psnr,
            passed_acceptance=task.passed_acceptance,
            passed_excellence=task.passed_excellence,
        )
        for task in tasks
    ]


def _drawn_score(task: TaskResultRead) -> float | None:
    """The bar's height: the band's for a hidden task seen by others, else the score (None for
    broken lines: task_mark gives them neither)."""
    return BAND_DRAWN[task.band] if task.band is not None else task.score


def bias_items(submission: SubmissionRead) -> list[charts.DegradationItem]:
    """The stored per-degradation bias (Table C.1 order), or nothing: the profile
    (median over mixtures, single task, pass rate) or, for old summaries, the old mean."""
    if submission.summary is None:
        return []
    items = []
    for name, value in submission.summary.bias.items():
        if not isinstance(value, dict):
            continue
        if "median_score" in value:
            items.append(
                charts.DegradationItem(
                    name=name,
                    mean_score=_number(value["median_score"]),
                    n_tasks=int(value["n_mixtures"]),
                    profiled=True,
                    single_score=_number(value["single_score"]),
                    pass_rate=_number(value["pass_rate"]),
                    n_broken=int(value["n_broken"]),
                    mean_all_tasks=_number(value["mean_all_tasks"]),
                )
            )
        elif "mean_score" in value:
            items.append(
                charts.DegradationItem(
                    name=name, mean_score=float(value["mean_score"]), n_tasks=int(value["n_tasks"])
                )
            )
    return items


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class Passes:
    """How many tasks pass each line, overall (the page's headline under the cards), and how
    many have broken lines (no marks: :func:`gir_core.generality.task_mark`)."""

    tasks: int
    acceptance: int
    excellence: int
    broken: int = 0


def passes(tasks: list[TaskResultRead]) -> Passes:
    """Counts of the marks the results carry (a broken task is neither passed nor failed)."""
    return Passes(
        len(tasks),
        sum(task.passed_acceptance is True for task in tasks),
        sum(task.passed_excellence is True for task in tasks),
        sum(task.line_broken for task in tasks),
    )


def pass_class(task: TaskResultRead) -> str:
    """The colour of a task's row, like Table C.2: above excellence, above acceptance, below;
    grey for broken lines."""
    if task.line_broken:
        return "broken"
    if task.passed_excellence:
        return "pass-exc"
    return "pass-acc" if task.passed_acceptance else "fail"


def pass_text(task: TaskResultRead) -> tuple[str, str]:
    """The Passes cell: its mark and the words a screen reader says for it."""
    if task.line_broken:
        return "line broken", ""
    if task.passed_excellence:
        return "✓✓", " above excellence"
    return ("✓", " above acceptance") if task.passed_acceptance else ("✗", " below acceptance")


def charts_for(submission: SubmissionRead, results: SubmissionResults) -> tuple[Markup, Markup]:
    """The task-bias chart and the per-degradation bias chart of a scored submission."""
    return (
        charts.task_bias(task_bars(results.tasks)),
        charts.degradation_bias(bias_items(submission)),
    )
