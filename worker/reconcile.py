"""The periodic reconciler (beat: every ``GIR_RECONCILE_EVERY_S``): nothing stays stranded.

A broker restart loses queued messages, and a worker killed mid-job leaves its submission
``running`` with no one working on it; both show as a heartbeat that stopped.
:func:`app.submissions.pipeline.requeue_stale` decides and re-enqueues (the admin CLI calls it
too); this wrapper gives it a session and logs what it did.
"""

from __future__ import annotations

import logging

from app.db import new_session
from app.submissions.pipeline import Requeue, requeue_stale

log = logging.getLogger(__name__)


def reconcile() -> list[Requeue]:
    """One reconciler pass; returns what it did with each stale submission."""
    with new_session() as session:
        actions = requeue_stale(session=session)
    for item in actions:
        log.warning("reconciler: submission %s had no sign of life -> %s",
                    item.submission_id, item.action)  # fmt: skip
    return actions
