"""Per-user quotas: submissions per rolling 24 hours and submissions active at once.

The daily window is *rolling* (the last 24 hours), not the calendar day: a calendar reset at
midnight UTC would let someone submit a full quota at 23:59 and another at 00:00, which is the
hill-climbing on the hidden set the quota exists to stop. ``resets_at`` is therefore the moment
the next slot frees: when the oldest counted submission leaves the window. Submissions the
contract check rejected (``failed`` with ``error_code`` in :data:`NOT_COUNTED`, never validated)
do not count: they only ever ran on the public probe images, so they reveal nothing about the
hidden tasks. A submission that passed the contract check and then failed while scoring counts,
whatever the failure: it has seen hidden inputs, and a free failure would be a free message out
(the failure's class, the task it stopped at). Cancelled ones count.

Admission is atomic: :func:`lock_owner` takes a lock on the user's row (``SELECT … FOR UPDATE``
on PostgreSQL; on SQLite a no-op write, which takes the database's single write lock) before the
counts are read, and the caller inserts and commits under that lock, so two parallel uploads
cannot both take the last slot. Administrators are exempt.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import and_, func, not_, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.db import utcnow
from app.errors import RateLimited
from app.settings import get_settings
from app.submissions.models import Submission
from app.submissions.schemas import ActiveQuota, DailyQuota, QuotaRead
from app.submissions.status import ACTIVE, Status
from gir_core.errors import ContractError, ModelFormatError

WINDOW = timedelta(hours=24)
NOT_COUNTED = (ContractError.code, ModelFormatError.code)
"""``error_code`` values of submissions the contract check refused (not counted)."""
ACTIVE_RETRY_S = 60
"""Retry-After when only the active limit is hit: nobody knows when a job ends; poll gently."""


class QuotaExceeded(RateLimited):
    """429 with the caller's quota in the body and a Retry-After header."""

    code = "quota_exceeded"


def lock_owner(*, session: Session, owner_id: int) -> None:
    """Serialise admissions of one user until the caller's transaction ends."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(User).where(User.id == owner_id).values(is_admin=User.is_admin))
    else:
        session.execute(select(User.id).where(User.id == owner_id).with_for_update())


def _daily_times(session: Session, owner_id: int, now: datetime) -> list[datetime]:
    refused = and_(
        Submission.status == Status.FAILED,
        Submission.error_code.in_(NOT_COUNTED),
        Submission.seconds_per_mp.is_(None),  # never validated: it saw no hidden input
    )
    query = (
        select(Submission.created_at)
        .where(Submission.owner_id == owner_id, Submission.created_at > now - WINDOW)
        .where(not_(refused))
        .order_by(Submission.created_at)
    )
    return list(session.scalars(query))


def _active_count(session: Session, owner_id: int) -> int:
    query = select(func.count()).where(
        Submission.owner_id == owner_id, Submission.status.in_(ACTIVE)
    )
    return session.scalar(query) or 0


def read_quota(*, session: Session, owner: User, now: datetime | None = None) -> QuotaRead:
    """The caller's limits, use and reset time (what ``GET /api/v1/me/quota`` returns)."""
    now = now or utcnow()
    settings = get_settings()
    times = _daily_times(session, owner.id, now)
    active = _active_count(session, owner.id)
    if owner.is_admin:
        return QuotaRead(
            exempt=True,
            daily=DailyQuota(limit=None, used=len(times), remaining=None, resets_at=None),
            active=ActiveQuota(limit=None, used=active, remaining=None),
        )
    limit = settings.quota_per_day
    resets_at = None
    if times and limit > 0:  # the next slot frees when enough of the oldest have left
        resets_at = times[max(len(times) - limit, 0)] + WINDOW
    return QuotaRead(
        exempt=False,
        daily=DailyQuota(
            limit=limit, used=len(times), remaining=max(limit - len(times), 0), resets_at=resets_at
        ),
        active=ActiveQuota(
            limit=settings.quota_active,
            used=active,
            remaining=max(settings.quota_active - active, 0),
        ),
    )


def enforce(*, session: Session, owner: User, now: datetime | None = None) -> QuotaRead:
    """The caller's quota if another submission fits, else raise :class:`QuotaExceeded`.

    Call it after :func:`lock_owner` (in the same transaction) for the authoritative check; called
    alone it is the cheap early refusal before an upload is streamed.
    """
    now = now or utcnow()
    quota = read_quota(session=session, owner=owner, now=now)
    if quota.exempt:
        return quota
    body = quota.model_dump(mode="json")
    if quota.daily.remaining == 0:
        reset = quota.daily.resets_at
        retry = None if reset is None else max(math.ceil((reset - now).total_seconds()), 1)
        when = f"; the next slot frees at {reset:%Y-%m-%d %H:%M:%S} UTC" if reset else ""
        extra = {"quota": body} if retry is None else {"quota": body, "retry_after": retry}
        raise QuotaExceeded(
            f"you have used all {quota.daily.limit} submissions of the last 24 hours{when}",
            **extra,
        )
    if quota.active.remaining == 0:
        raise QuotaExceeded(
            f"you already have {quota.active.used} submission(s) queued or running (limit "
            f"{quota.active.limit}); wait for one to finish or cancel it",
            quota=body,
            retry_after=ACTIVE_RETRY_S,
        )
    return quota
