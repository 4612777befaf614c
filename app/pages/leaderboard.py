"""The leaderboard page (``/``): the API's board as a sortable, filterable table and two charts.

Everything comes from :func:`app.leaderboard.service.leaderboard` — the same cached, one-query
pages the JSON API serves — so the page adds no queries of its own beyond the version list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.benchmarks.versions import version_names
from app.deps import OptionalUser, SessionDep
from app.leaderboard import service
from app.leaderboard.schemas import LeaderboardPage, LeaderboardQuery, LeaderboardRow
from app.pages import charts
from app.pages.forms import parse_query
from app.pages.templating import render

router = APIRouter(include_in_schema=False)
CHART_ROWS = 1000
CHART_CACHE = 16
_DRAWN: dict[int, tuple[LeaderboardPage, Markup, Markup]] = {}
"""Charts drawn per cached board object (kept alive here, so its id is not reused)."""
Better = Literal["higher", "lower", ""]


@dataclass(frozen=True)
class Column:
    """A column of the board: its sort key, heading, which way is better, how to show it."""

    key: str
    label: str
    better: Better = ""
    title: str = ""
    narrow: bool = True
    """Shown on phone-width screens too."""


COLUMNS = (
    Column("rank", "#", "lower", "Rank by AR, then ER, then mean PSNR"),
    Column("name", "Model"),
    Column("owner", "Owner", narrow=False),
    Column("format", "Format", narrow=False),
    Column("ar", "AR", "higher", "Acceptance ratio with its 95 % bootstrap interval"),
    Column("er", "ER", "higher", "Excellence ratio with its 95 % bootstrap interval"),
    Column("mean_psnr", "PSNR", "higher", "Mean PSNR over all tasks (dB)"),
    Column("mean_ssim", "SSIM", "higher", "Mean SSIM over all tasks", narrow=False),
    Column("ar_representative", "AR rep.", "higher", "AR on the public tasks", narrow=False),
    Column("ar_hidden", "AR hidden", "higher", "AR on the hidden tasks", narrow=False),
    Column("gap", "Gap", "", "AR on public minus AR on hidden tasks", narrow=False),
    Column("mean_niqe", "NIQE", "lower", "Mean NIQE on real-world sets", narrow=False),
    Column("parameters", "Params", "", "Model parameters", narrow=False),
    Column("seconds_per_mp", "s/MP", "lower", "Seconds per megapixel", narrow=False),
    Column("created_at", "Date", "", "Submitted (UTC)", narrow=False),
)


def _charts(rows: list[LeaderboardRow]) -> tuple[Markup, Markup]:
    """The AR-vs-PSNR scatter with its Pareto front, and the best AR over time."""
    points = [
        charts.ParetoPoint(
            name=row.name,
            x=row.mean_psnr,
            y=row.ar,
            url=f"/submissions/{row.id}",
            is_baseline=row.is_baseline,
        )
        for row in rows
    ]
    history = [
        charts.TimePoint(
            when=row.created_at, name=row.name, value=row.ar, url=f"/submissions/{row.id}"
        )
        for row in rows
        if not row.is_baseline
    ]
    return charts.pareto_scatter(points), charts.best_over_time(history)


def _charts_of(board: LeaderboardPage) -> tuple[Markup, Markup]:
    """The charts of a board, drawn once per board state.

    The service hands back the very same cached page object until the board changes, so the
    drawing (most of a warm request's time with 1,000 points) is reused by identity.
    """
    found = _DRAWN.get(id(board))
    if found is not None and found[0] is board:
        return found[1], found[2]
    pareto, best = _charts(board.items)
    if len(_DRAWN) >= CHART_CACHE:
        _DRAWN.pop(next(iter(_DRAWN)))
    _DRAWN[id(board)] = (board, pareto, best)
    return pareto, best


def _sort_links(page: LeaderboardPage) -> dict[str, Literal["asc", "desc"]]:
    """The order a click on each heading asks for: better-first, or flipped if already sorted."""
    links: dict[str, Literal["asc", "desc"]] = {}
    for column in COLUMNS:
        natural: Literal["asc", "desc"] = (
            "asc"
            if column.better == "lower" or column.key in service.ASCENDING_BY_DEFAULT
            else "desc"
        )
        if column.key == page.sort:
            links[column.key] = "asc" if page.order == "desc" else "desc"
        else:
            links[column.key] = natural
    return links


@router.get("/", response_class=HTMLResponse)
def leaderboard_page(request: Request, session: SessionDep, viewer: OptionalUser) -> HTMLResponse:
    """The public leaderboard of one benchmark version (the active one by default)."""
    query = parse_query(request, LeaderboardQuery)
    page = service.leaderboard(session=session, query=query)
    everything = LeaderboardQuery(version=query.version, limit=CHART_ROWS)
    board = service.leaderboard(session=session, query=everything)
    pareto, best = _charts_of(board)
    filters = query.model_dump(exclude={"limit", "offset"}, exclude_defaults=True)
    context = {
        "nav": "leaderboard",
        "page": page,
        "query": query,
        "filters": filters,
        "state": query.model_dump(exclude_defaults=True),
        "columns": COLUMNS,
        "sort_links": _sort_links(page),
        "versions": version_names(session=session),
        "pareto": pareto,
        "best": best,
        "charted": len(board.items),
    }
    return render(request, "leaderboard.html", context, viewer=viewer)
