"""HTTP routes of the leaderboard area (thin: parse, call the service, return)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.deps import SessionDep
from app.leaderboard import service
from app.leaderboard.schemas import LeaderboardFilters, LeaderboardPage, LeaderboardQuery
from app.submissions.schemas import ErrorRead

router = APIRouter(tags=["leaderboard"])
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorRead}, 422: {"model": ErrorRead}}


@router.get(
    "/leaderboard", response_model=LeaderboardPage, summary="Leaderboard", responses=_ERRORS
)
def leaderboard(
    session: SessionDep, query: Annotated[LeaderboardQuery, Query()]
) -> LeaderboardPage:
    """Public scored submissions on one benchmark version (default: the active one) with AR, ER,
    confidence intervals, means, representative-vs-hidden split, NIQE, size and speed.
    Sortable by any column, filterable by format, baselines and text; paginated with a total."""
    return service.leaderboard(session=session, query=query)


@router.get(
    "/leaderboard.csv",
    summary="Leaderboard as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
)
def leaderboard_csv(
    session: SessionDep, filters: Annotated[LeaderboardFilters, Query()]
) -> Response:
    """The whole board (same sort and filters, no paging) as a CSV download."""
    text, version = service.leaderboard_csv(session=session, filters=filters)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", version)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="leaderboard-{name}.csv"'},
    )
