"""The leaderboard: public, scored, unmoderated submissions of one benchmark version, ranked.

Each page is one SQL statement over submissions ⋈ summaries ⋈ users: the rank is a window
function over the whole board (so a filtered view still shows each row's real place), and the
total comes from ``count(*) OVER ()`` beside the page, so no query runs per row and none per page
except a count when the page is past the end. Rank: AR, then ER, then mean PSNR, all descending;
baseline rows are ranked like any other (they are reference points on the same scale).

Rendered pages and CSV exports are cached per process (:mod:`app.leaderboard.cache`); the
board's state is read in the same statement as the version, so a cached page costs one cheap
query and a changed board is re-rendered on the very next request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, ScalarSelect, Subquery, and_, func, or_, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, VersionTask
from app.benchmarks.provenance import foreign_mark
from app.errors import NotFound
from app.leaderboard import cache
from app.leaderboard.schemas import (
    LeaderboardFilters,
    LeaderboardPage,
    LeaderboardQuery,
    LeaderboardRow,
)
from app.submissions.models import Submission, Summary
from app.submissions.service import on_public_board, submission_url
from gir_core.convention import MetricConvention
from gir_core.line_quality import MIN_SPREAD_DB

ASCENDING_BY_DEFAULT = frozenset({"rank", "name", "owner", "format"})
CSV_COLUMNS = (
    "rank",
    "id",
    "name",
    "owner",
    "format",
    "ar",
    "ar_low",
    "ar_high",
    "er",
    "er_low",
    "er_high",
    "mean_psnr",
    "psnr_low",
    "psnr_high",
    "mean_ssim",
    "ar_representative",
    "ar_hidden",
    "gap",
    "mean_niqe",
    "parameters",
    "seconds_per_mp",
    "created_at",
    "is_baseline",
    "paper_url",
    "code_url",
    "url",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PAGES: cache.PageCache[LeaderboardPage | tuple[str, str]] = cache.PageCache()
"""This process's rendered pages and CSV exports (see :mod:`app.leaderboard.cache`)."""
PROBE = cache.StateProbe()
"""Reads the committed board state for fresh sessions (see :class:`cache.StateProbe`)."""
Rendered = LeaderboardPage | tuple[str, str]
"""A JSON page, or a CSV export with its version name."""
Render = Callable[["_Found | None"], tuple[Rendered, int]]
"""Renders the board for a version; also says its weight (rows) in the cache."""


BOARD_ORDER = (Summary.ar.desc(), Summary.er.desc(), Summary.mean_psnr.desc())
"""Best first: AR, then ER, then mean PSNR (the rank; badges pick a model's best the same way)."""


def _board(version_id: int) -> Subquery:
    """Every row of the version's board with its global rank (filters apply outside)."""
    rank = func.rank().over(order_by=BOARD_ORDER)
    return (
        select(
            rank.label("rank"),
            Submission.id,
            Submission.name,
            User.name.label("owner"),
            Submission.format,
            Submission.paper_url,
            Submission.code_url,
            Submission.is_baseline,
            Summary.ar,
            Summary.er,
            Summary.ar_low,
            Summary.ar_high,
            Summary.er_low,
            Summary.er_high,
            Summary.mean_psnr,
            Summary.psnr_low,
            Summary.psnr_high,
            Summary.mean_ssim,
            Summary.ar_representative,
            Summary.ar_hidden,
            (Summary.ar_representative - Summary.ar_hidden).label("gap"),
            Summary.mean_niqe,
            Submission.parameters,
            Submission.seconds_per_mp,
            Submission.created_at,
        )
        .join(Summary, Summary.submission_id == Submission.id)
        .join(User, User.id == Submission.owner_id)
        .where(
            Summary.benchmark_version_id == version_id,
            on_public_board(),
        )
        .subquery("board")
    )


def _conditions(board: Subquery, filters: LeaderboardFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.format is not None:
        conditions.append(board.c.format == filters.format)
    if not filters.baselines:
        conditions.append(board.c.is_baseline.is_(False))
    if filters.id is not None:
        conditions.append(board.c.id == filters.id)
    if filters.q:
        conditions.append(
            or_(
                board.c.name.icontains(filters.q, autoescape=True),
                board.c.owner.icontains(filters.q, autoescape=True),
            )
        )
    return conditions


def direction(filters: LeaderboardFilters) -> Literal["asc", "desc"]:
    """The requested order, or the natural one for the sort column."""
    if filters.order is not None:
        return filters.order
    return "asc" if filters.sort in ASCENDING_BY_DEFAULT else "desc"


@dataclass(frozen=True)
class _Found:
    """The board's version (id and name) and the cache state it was read with."""

    id: int
    name: str
    state: tuple[str, str] | None
    convention: MetricConvention
    foreign_lines: str | None
    gt_public: bool = False
    weak_lines: int = 0


def _weak_count() -> ScalarSelect[int]:
    """Tasks of the version whose lines break :mod:`gir_core.line_quality`'s rule, counted in
    the version's own statement (the board reads in one statement per page)."""
    weak = or_(
        and_(
            VersionTask.input_psnr.is_not(None),
            VersionTask.acceptance_psnr <= VersionTask.input_psnr,
        ),
        VersionTask.excellence_psnr - VersionTask.acceptance_psnr < MIN_SPREAD_DB,
    )
    return (
        select(func.count())
        .where(VersionTask.version_id == BenchmarkVersion.id, weak)
        .correlate(BenchmarkVersion)
        .scalar_subquery()
    )


def _version(session: Session, name: str | None) -> _Found | None:
    """The named or active version (columns only, so no task list is loaded) and, in the same
    statement, the board state that keys the cache (None where boards are not cached)."""
    condition = BenchmarkVersion.is_active if name is None else BenchmarkVersion.name == name
    state = cache.state_column(session)
    extra = [state.label("state")] if state is not None else []
    columns = (
        BenchmarkVersion.id,
        BenchmarkVersion.name,
        BenchmarkVersion.metric_convention,
        BenchmarkVersion.foreign_lines,
        BenchmarkVersion.gt_public,
        _weak_count().label("weak_lines"),
    )
    found = session.execute(select(*columns, *extra).where(condition)).one_or_none()
    if found is None:
        if name is not None:
            raise NotFound(f"there is no benchmark version named {name!r}")
        return None
    board_state = found.state if state is not None else None
    database = cache.database_of(session.get_bind())
    key = (database, board_state) if board_state is not None else None
    convention = MetricConvention.parse(found.metric_convention)
    return _Found(
        found.id,
        found.name,
        key,
        convention,
        found.foreign_lines,
        bool(found.gt_public),
        int(found.weak_lines or 0),
    )


def _select_rows(
    session: Session, version_id: int, filters: LeaderboardFilters, page: tuple[int, int] | None
) -> tuple[list[Any], int]:
    """The sorted, filtered rows (one statement) and the filtered total."""
    board = _board(version_id)
    conditions = _conditions(board, filters)
    column = board.c[filters.sort]
    ordered = column.asc() if direction(filters) == "asc" else column.desc()
    query = (
        select(board, func.count().over().label("total"))
        .where(*conditions)
        .order_by(ordered.nulls_last(), board.c.id.asc())
    )
    if page is not None:
        query = query.limit(page[0]).offset(page[1])
    rows = list(session.execute(query))
    if rows:
        return rows, int(rows[0].total)
    count = select(func.count()).select_from(board).where(*conditions)
    return rows, session.scalar(count) or 0


def _row(row: Any) -> LeaderboardRow:
    values = row._asdict()
    values.pop("total")
    return LeaderboardRow(**values, url=submission_url(row.id))


def _page(session: Session, query: LeaderboardQuery, version: _Found | None) -> LeaderboardPage:
    rows, total = (
        _select_rows(session, version.id, query, (query.limit, query.offset))
        if version is not None
        else ([], 0)
    )
    return LeaderboardPage(
        version=version.name if version is not None else None,
        metric_convention=version.convention.text if version is not None else None,
        metric_convention_text=version.convention.describe() if version is not None else None,
        foreign_lines=foreign_mark(version.foreign_lines) if version is not None else None,
        sort=query.sort,
        order=direction(query),
        total=total,
        limit=query.limit,
        offset=query.offset,
        items=[_row(row) for row in rows],
        gt_public=version.gt_public if version is not None else False,
        weak_lines=version.weak_lines if version is not None else 0,
    )


def _cached(
    session: Session, name: str | None, key: tuple[object, ...], render: Render
) -> Rendered:
    """The rendered board for ``key`` from this process's cache, or rendered now and kept.

    A fresh session first asks :data:`PROBE` for the committed state (one round trip, and the
    session never touches the database on a hit); otherwise, or on a miss, the state comes
    with the version lookup from the session itself, and that state keys what is rendered.
    """
    engine = cache.committed_engine(session)
    probed = PROBE.read(engine) if engine is not None else None
    if probed is not None and (hit := PAGES.get(probed, key)) is not None:
        return hit
    version = _version(session, name)
    if version is None or version.state is None:
        return render(version)[0]
    if version.state != probed and (hit := PAGES.get(version.state, key)) is not None:
        return hit
    rendered, weight = render(version)
    PAGES.put(version.state, key, rendered, weight)
    return rendered


def leaderboard(*, session: Session, query: LeaderboardQuery) -> LeaderboardPage:
    """A page of the board for ``query.version`` (default: the active version).

    Raises:
        NotFound: no version has that name.
    """

    def render(version: _Found | None) -> tuple[Rendered, int]:
        page = _page(session, query, version)
        return page, len(page.items) + 1

    page = _cached(session, query.version, ("page", *query.model_dump().values()), render)
    assert isinstance(page, LeaderboardPage)
    return page


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(session: Session, filters: LeaderboardFilters, version: _Found | None) -> str:
    rows: Iterable[Any] = (
        _select_rows(session, version.id, filters, None)[0] if version is not None else []
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        data = _row(row).model_dump(mode="json")
        writer.writerow(_cell(data[name]) for name in CSV_COLUMNS)
    return out.getvalue()


def leaderboard_csv(*, session: Session, filters: LeaderboardFilters) -> tuple[str, str]:
    """The whole filtered board as CSV text, and the version name for the file name.

    Raises:
        NotFound: no version has that name.
    """

    def render(version: _Found | None) -> tuple[Rendered, int]:
        text = _csv(session, filters, version)
        return (text, version.name if version is not None else "none"), text.count("\n")

    export = _cached(session, filters.version, ("csv", *filters.model_dump().values()), render)
    assert isinstance(export, tuple)
    return export
