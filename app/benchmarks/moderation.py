"""Operator moderation of submissions: rescore (one or all) and hide.

Status changes are :mod:`app.submissions.lifecycle`'s: a rescore is its
``requeue_for_rescore``, and re-enqueueing stale submissions its ``requeue_stale``, the one
function the worker's reconciler and ``gir-admin submissions requeue-stale`` share. A rescore is
committed *before* its job is enqueued: if enqueueing fails, the row still says ``queued`` and
the reconciler sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import queue
from app.errors import NotFound
from app.storage import get_storage
from app.submissions import lifecycle
from app.submissions.examples import delete_examples
from app.submissions.models import Submission
from app.submissions.status import RESCORABLE

log = logging.getLogger(__name__)
Send = Callable[[int], None]


def _get(session: Session, submission_id: int) -> Submission:
    submission = session.get(Submission, submission_id, with_for_update=True)
    if submission is None:
        raise NotFound(f"there is no submission {submission_id}")
    return submission


def rescore(*, session: Session, submission_id: int) -> Submission:
    """Score one scored or failed submission again from scratch (e.g. on a new version).

    Raises:
        NotFound: no such submission.
        Conflict: it is queued, running or cancelled.
    """
    submission = _get(session, submission_id)
    lifecycle.requeue_for_rescore(session=session, submission=submission)
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
        lifecycle.requeue_for_rescore(session=session, submission=submission)
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
