"""Operator moderation of submissions: rescore (one or all) and hide.

Re-enqueueing stale submissions is :func:`app.submissions.pipeline.requeue_stale`, the one
function the worker's reconciler and ``gir-admin submissions requeue-stale`` share. A rescore is
committed *before* its job is enqueued: if enqueueing fails, the row still says ``queued`` and
the reconciler sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import queue
from app.errors import Conflict, NotFound
from app.storage import get_storage
from app.submissions.examples import delete_examples
from app.submissions.models import (
    RealWorldResultRow,
    Submission,
    Summary,
    TaskResultRow,
)

log = logging.getLogger(__name__)
Send = Callable[[int], None]

RESCORABLE = ("scored", "failed")


def _get(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id, with_for_update=True)
    if submission is None:
        raise NotFound(f"there is no submission {submission_id}")
    return submission


def _reset(session: Session, submission: Submission) -> None:
    """Back to the start of the lifecycle with its results gone. The version is cleared so the
    worker scores it on whichever version is active when scoring starts; a validated model is
    passed straight on to scoring by the worker's validation step. Callers delete its stored
    examples after the commit (files cannot roll back with a failed transaction)."""
    for table in (TaskResultRow, RealWorldResultRow, Summary):
        session.execute(delete(table).where(table.submission_id == submission.id))
    submission.status = "queued"
    submission.attempts = 0
    submission.progress_done = 0
    submission.current_task = ""
    submission.error_code = submission.error_message = ""
    submission.started_at = submission.finished_at = submission.heartbeat_at = None
    submission.benchmark_version_id = None


def rescore(*, session: Session, submission_id: int) -> Submission:
    """Score one scored or failed submission again from scratch (e.g. on a new version).

    Raises:
        NotFound: no such submission.
        Conflict: it is queued, running or cancelled.
    """
    submission = _get(session, submission_id)
    if submission.status not in RESCORABLE:
        raise Conflict(
            f"submission {submission_id} is {submission.status}; only scored or failed "
            "submissions can be rescored"
        )
    _reset(session, submission)
    session.commit()
    delete_examples(get_storage(), submission.id)
    _send(queue.enqueue_validation, submission.id)
    return submission


REFERENCE_PREFIX = "reference/"


def rescore_all(*, session: Session) -> list[int]:
    """Rescore every scored or failed submission; returns their ids (oldest first).

    Reference rows whose results are recorded line values (their stored file is a manifest under
    ``reference/``, not a model) are skipped: there is nothing to run, and the demo rebuilds them.
    """
    query = (
        select(Submission)
        .where(Submission.status.in_(RESCORABLE))
        .where(Submission.storage_key.not_like(f"{REFERENCE_PREFIX}%"))
        .order_by(Submission.id)
        .with_for_update(skip_locked=True)
    )
    submissions = list(session.scalars(query))
    for submission in submissions:
        _reset(session, submission)
    session.commit()
    ids = [submission.id for submission in submissions]
    for submission_id in ids:
        delete_examples(get_storage(), submission_id)
        _send(queue.enqueue_validation, submission_id)
    return ids


def hide(*, session: Session, submission_id: int, hidden: bool = True) -> Submission:
    """Take a submission off the public leaderboard (or put it back with ``hidden=False``)."""
    submission = _get(session, submission_id)
    submission.is_hidden = hidden
    session.commit()
    return submission


def _send(send: Send, submission_id: int) -> None:
    """Enqueue, logging (not raising) a broker failure: the committed row is the truth and the
    reconciler will send the job again."""
    try:
        send(submission_id)
    except (BrokerError, OSError) as error:
        log.warning("could not enqueue submission %s: %s", submission_id, error)
