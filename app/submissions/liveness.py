"""Signs of life: whether a submission's worker is alive, whether it is stale, and whether its
interrupted attempt is charged to its model.

Reads only: :mod:`app.submissions.lifecycle` acts on them (claims refuse a busy submission, the
reconciler requeues stale ones, attempts count only when charged), and the operators' queue
overview flags with the same rule the reconciler applies.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.db import UTCDateTime, utcnow
from app.settings import get_settings
from app.submissions.models import Submission, TaskResultRow
from app.submissions.status import ACTIVE, STARTED


def busy(submission: Submission) -> bool:
    """Another worker is on it: started and its heartbeat is fresh (a duplicate message)."""
    beat, started = submission.heartbeat_at, submission.status in STARTED
    fresh = timedelta(seconds=get_settings().stale_after_s)
    return started and beat is not None and utcnow() - beat < fresh


def stored_tasks(session: Session, submission_id: int) -> int:
    query = select(func.count()).select_from(TaskResultRow).filter_by(submission_id=submission_id)
    return session.scalar(query) or 0


def charged(session: Session, submission: Submission, stored: int | None = None) -> bool:
    """Whether the submission's interrupted attempt counts against its model (GIR_MAX_ATTEMPTS).

    A worker that dies (killed, its machine lost, its broker gone) leaves no cause behind. An
    attempt that stored task results after it started proves the model runs: its interruption
    was the service's, and charging it would fail good models on a bad day. One that died
    without storing any may be a model that takes its worker down, so it counts. Termination
    holds: every uncharged retry has stored at least one more task, and tasks are finite.
    (Stored rows, not ``progress_done``: the published progress holds still over hidden tasks.)
    """
    if stored is None:  # ``stored``: the caller's count of the rows, when it has one
        stored = stored_tasks(session, submission.id)
    return stored <= submission.attempt_progress


def last_seen() -> ColumnElement[datetime]:
    """When a submission last showed life: its heartbeat, else its start, else its creation."""
    return func.coalesce(
        Submission.heartbeat_at, Submission.started_at, Submission.created_at, type_=UTCDateTime
    )


def stale_before(now: datetime) -> datetime:
    """An active submission last seen before this is stale (``GIR_STALE_AFTER_S`` ago)."""
    return now - timedelta(seconds=get_settings().stale_after_s)


def stale_submissions(*, session: Session, now: datetime) -> list[Submission]:
    """Active submissions without a sign of life for ``GIR_STALE_AFTER_S``, oldest first; rows
    another reconciler holds are skipped, so two passes never requeue the same one twice."""
    query = (
        select(Submission)
        .where(Submission.status.in_(ACTIVE), last_seen() < stale_before(now))
        .order_by(Submission.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))
