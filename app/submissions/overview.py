"""The operators' view of the queue: what waits, what runs, what is stuck, what failed lately.

"Stale" is the reconciler's own rule (:func:`app.submissions.liveness.last_seen` before
:func:`~app.submissions.liveness.stale_before`): no heartbeat (or start, or creation) for
``GIR_STALE_AFTER_S``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.db import utcnow
from app.settings import get_settings
from app.submissions.liveness import last_seen, stale_before
from app.submissions.models import Submission
from app.submissions.status import ACTIVE, Status

FAILED_SHOWN = 50


@dataclass(frozen=True)
class QueueRow:
    """One submission as the queue table shows it."""

    id: int
    name: str
    owner: str
    status: Status
    attempts: int
    done: int
    total: int
    worker_host: str
    error_code: str
    created_at: datetime
    last_seen: datetime
    age_s: float
    stale: bool
    is_hidden: bool


@dataclass(frozen=True)
class QueueOverview:
    """Counts per status, the active submissions (oldest first) and the latest failures."""

    counts: dict[Status, int]
    active: list[QueueRow]
    failed: list[QueueRow]
    stale_after_s: float


def _rows(
    session: Session, statuses: tuple[Status, ...], now: datetime, limit: int, *, newest_first: bool
) -> list[QueueRow]:
    cutoff = stale_before(now)
    query = (
        select(Submission, User.name, last_seen().label("seen"))
        .join(User, User.id == Submission.owner_id)
        .where(Submission.status.in_(statuses))
        .order_by(Submission.id.desc() if newest_first else Submission.id.asc())
        .limit(limit)
    )
    rows = []
    for submission, owner, seen in session.execute(query):
        rows.append(
            QueueRow(
                id=submission.id, name=submission.name, owner=owner, status=submission.status,
                attempts=submission.attempts, done=submission.progress_done,
                total=submission.progress_total, worker_host=submission.worker_host,
                error_code=submission.error_code, created_at=submission.created_at,
                last_seen=seen, age_s=(now - submission.created_at).total_seconds(),
                stale=submission.status in ACTIVE and seen < cutoff,
                is_hidden=submission.is_hidden,
            )
        )  # fmt: skip
    return rows


def queue_overview(*, session: Session, now: datetime | None = None) -> QueueOverview:
    """What an operator checks first: is anything stuck, is anything failing."""
    now = now or utcnow()
    counts = dict.fromkeys((*ACTIVE, Status.FAILED), 0)
    grouped = select(Submission.status, func.count()).group_by(Submission.status)
    for status, number in session.execute(grouped):
        if status in counts:
            counts[status] = number
    return QueueOverview(
        counts=counts,
        active=_rows(session, ACTIVE, now, 500, newest_first=False),
        failed=_rows(session, (Status.FAILED,), now, FAILED_SHOWN, newest_first=True),
        stale_after_s=get_settings().stale_after_s,
    )
