"""Which summary a badge shows: a public scored submission's own, or the owner's best of a name.

Only what the public leaderboard already shows can be on a badge: public, scored and not
hidden by a moderator (anything else is a 404, whoever asks: badges are fetched anonymously
by README renderers). "Best" is the board's order — AR, then ER, then mean PSNR — among the
owner's submissions of that exact name scored on the active benchmark version.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from app.badges.svg import BadgeValues
from app.benchmarks.models import BenchmarkVersion
from app.errors import NotFound
from app.leaderboard.service import BOARD_ORDER
from app.settings import get_settings
from app.submissions.models import Submission, Summary
from app.submissions.service import on_public_board


def _public(*conditions: ColumnElement[bool]) -> Select[str, float, float]:
    return (
        select(Submission.name, Summary.ar, Summary.er)
        .join(Summary, Summary.submission_id == Submission.id)
        .where(on_public_board(), *conditions)
    )


def submission_badge(*, session: Session, submission_id: int) -> BadgeValues:
    """The badge of one public scored submission.

    Raises:
        NotFound: no such submission, or it is private, hidden or not scored.
    """
    row = session.execute(_public(Submission.id == submission_id)).one_or_none()
    if row is None:
        raise NotFound(f"submission {submission_id} has no public scores to show on a badge")
    return BadgeValues(row.name, row.ar, row.er)


def model_badge(*, session: Session, name: str, owner_id: int) -> BadgeValues:
    """The badge of the owner's best public submission named ``name`` on the active version.

    Raises:
        NotFound: that owner has no public scored submission of that name on the active version.
    """
    query = (
        _public(Submission.name == name, Submission.owner_id == owner_id)
        .join(BenchmarkVersion, BenchmarkVersion.id == Summary.benchmark_version_id)
        .where(BenchmarkVersion.is_active)
        .order_by(*BOARD_ORDER, Submission.id)
        .limit(1)
    )
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound(
            f"user {owner_id} has no public scored submission named {name!r} on the active "
            "benchmark version"
        )
    return BadgeValues(row.name, row.ar, row.er)


@dataclass(frozen=True)
class Snippet:
    """What the model page offers: the badge's path (for the page) and the Markdown to paste."""

    path: str
    markdown: str


def snippet(*, submission_id: int, name: str, owner_id: int) -> Snippet:
    """The model badge (it follows the owner's best submission of ``name``) linked to the
    submission's page, with absolute ``GIR_PUBLIC_URL`` addresses for a README."""
    root = get_settings().public_url.rstrip("/")
    path = f"/api/v1/models/{quote(name, safe='')}/badge.svg?owner={owner_id}"
    alt = "GIR Bench AR/ER of " + "".join(f"\\{c}" if c in "[]\\" else c for c in name)
    return Snippet(path, f"[![{alt}]({root}{path})]({root}/submissions/{submission_id})")
