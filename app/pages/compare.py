"""Compare two models (``/compare?a=…&b=…``): per-task PSNR differences, wins, summary deltas.

Both sides are read through the submissions services, so each side is visible exactly when its
own model page is; tasks are paired by key (only tasks both have results for are compared).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field

from app.deps import OptionalUser, SessionDep
from app.leaderboard import service as board
from app.leaderboard.schemas import LeaderboardQuery
from app.pages import charts
from app.pages.forms import parse_query
from app.pages.templating import render
from app.submissions import results, service
from app.submissions.schemas import SubmissionRead, SubmissionResults, TaskResultRead

router = APIRouter(include_in_schema=False)
PICKER_ROWS = 200
OUTCOMES = {"pos": "win", "neg": "loss", "zero": "tie"}


class CompareQuery(BaseModel):
    """The two submissions, by id."""

    model_config = ConfigDict(extra="forbid")

    a: int | None = Field(default=None, ge=1)
    b: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class Pair:
    """One task both models were scored on."""

    a: TaskResultRead
    b: TaskResultRead

    @property
    def delta(self) -> float:
        """PSNR of A minus PSNR of B (dB)."""
        return _psnr(self.a) - _psnr(self.b)

    @property
    def outcome(self) -> str:
        """``win``/``loss``/``tie`` from A's side (ties: within the chart's tolerance)."""
        return OUTCOMES[charts.classify_difference(self.delta)]


@dataclass(frozen=True)
class Comparison:
    """Everything the page draws for two submissions."""

    a: SubmissionRead
    b: SubmissionRead
    pairs: list[Pair]
    chart: Markup

    def count(self, outcome: str) -> int:
        """How many tasks end in ``outcome`` for A."""
        return sum(pair.outcome == outcome for pair in self.pairs)


def _psnr(task: TaskResultRead) -> float:
    if task.mean_psnr is None:
        raise ValueError(f"task {task.key} has no published PSNR")  # pair_tasks leaves it out
    return task.mean_psnr


def pair_tasks(a: SubmissionResults, b: SubmissionResults) -> list[Pair]:
    """Tasks of A that B also has, in A's benchmark order, where the viewer may read both PSNRs
    (a hidden task's is published to its owner only: app.submissions.published)."""
    by_key = {task.key: task for task in b.tasks if task.mean_psnr is not None}
    return [
        Pair(task, by_key[task.key])
        for task in a.tasks
        if task.key in by_key and task.mean_psnr is not None
    ]


def compare(*, session: SessionDep, viewer: OptionalUser, a: int, b: int) -> Comparison:
    """Read both sides (404 if either is not visible) and pair their tasks."""
    sides = [
        (
            service.get_submission(session=session, viewer=viewer, submission_id=sid),
            results.submission_results(session=session, viewer=viewer, submission_id=sid),
        )
        for sid in (a, b)
    ]
    pairs = pair_tasks(sides[0][1], sides[1][1])
    bars = [
        charts.DiffBar(
            key=p.a.key, order=p.a.order, spec=p.a.spec, psnr_a=_psnr(p.a), psnr_b=_psnr(p.b)
        )
        for p in pairs
    ]
    return Comparison(sides[0][0], sides[1][0], pairs, charts.difference(bars))


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, session: SessionDep, viewer: OptionalUser) -> HTMLResponse:
    """The comparison, or the form to choose two models."""
    query = parse_query(request, CompareQuery)
    comparison = (
        compare(session=session, viewer=viewer, a=query.a, b=query.b)
        if query.a is not None and query.b is not None
        else None
    )
    picks = board.leaderboard(session=session, query=LeaderboardQuery(limit=PICKER_ROWS)).items
    context = {
        "nav": "compare",
        "query": query,
        "comparison": comparison,
        "picks": picks,
        "tie_db": charts.TIE_DB,
    }
    return render(request, "compare.html", context, viewer=viewer)
