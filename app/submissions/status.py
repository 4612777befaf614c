"""A submission's statuses and the transitions allowed between them, as data.

The functions that move a submission from one status to another are all in
:mod:`app.submissions.lifecycle`, which refuses any move this table does not list. The enum
lives here, apart from them, because the model's column needs it and the lifecycle needs the
model: this module imports neither. It is the one place a status is spelled as a string (a test
enforces it); the database column keeps these values.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import Dialect, String
from sqlalchemy.types import TypeDecorator


class Status(StrEnum):
    """Where a submission is; equal to (and stored as) its lower-case name."""

    QUEUED = "queued"
    VALIDATING = "validating"
    RUNNING = "running"
    SCORED = "scored"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (Status.QUEUED, Status.VALIDATING, Status.RUNNING)
"""Statuses a worker may still act on (and an owner may cancel)."""
STARTED = (Status.VALIDATING, Status.RUNNING)
"""Statuses in which a worker claims to be working on the submission (it sends heartbeats)."""
FINISHED = (Status.SCORED, Status.FAILED, Status.CANCELLED)
"""Statuses no worker changes; only an operator's rescore leaves them (not ``cancelled``)."""
RESCORABLE = (Status.SCORED, Status.FAILED)
"""Finished statuses an operator may send back to the queue."""

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    # A worker claims it; it fails (no version active, too many crashes) or is cancelled; the
    # reconciler re-sends a stale one (queued -> queued with a fresh heartbeat).
    Status.QUEUED: frozenset(
        {Status.QUEUED, Status.VALIDATING, Status.RUNNING, Status.FAILED, Status.CANCELLED}
    ),
    # Validated (back to the queue, for scoring), storage lost or stale (back to the queue), the
    # contract check failed, cancelled; a stale one claimed again by another worker.
    Status.VALIDATING: frozenset(
        {Status.VALIDATING, Status.QUEUED, Status.FAILED, Status.CANCELLED}
    ),
    # Scored, failed or cancelled; storage lost or stale (back to the queue); claimed again.
    Status.RUNNING: frozenset(
        {Status.RUNNING, Status.QUEUED, Status.SCORED, Status.FAILED, Status.CANCELLED}
    ),
    Status.SCORED: frozenset({Status.QUEUED}),  # an operator's rescore
    Status.FAILED: frozenset({Status.QUEUED}),  # an operator's rescore
    Status.CANCELLED: frozenset(),  # the owner's decision stays
}


class TransitionError(RuntimeError):
    """A status change the table does not allow: a bug in the caller, never a user's error."""


def check_transition(current: str, new: Status) -> None:
    """Raise :class:`TransitionError` unless ``current`` may become ``new``."""
    if new not in TRANSITIONS[Status(current)]:
        raise TransitionError(f"a {current} submission cannot become {new}")


def sources(new: Status) -> tuple[Status, ...]:
    """Every status that may become ``new``, in the enum's order."""
    return tuple(status for status in Status if new in TRANSITIONS[status])


class StatusColumn(TypeDecorator[Status]):
    """The status column: ``VARCHAR(12)`` holding the enum's values, read back as :class:`Status`
    (so a loaded row compares and types like one set in Python). Anything else is refused before
    it reaches the database."""

    impl = String(12)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else Status(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Status | None:
        return None if value is None else Status(value)
