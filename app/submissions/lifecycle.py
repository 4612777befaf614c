"""A submission's lifecycle: the only code that changes its status.

Every move between the statuses of :mod:`app.submissions.status` is one of these functions, and
each checks its move against :data:`~app.submissions.status.TRANSITIONS` before writing. Worker
jobs claim, beat, record progress and results, finish or fail; the owner (API and pages)
cancels; operators (admin CLI and pages) rescore; the reconciler requeues what lost its worker;
the demo's reference rows go through the same claim, results and summary as a worker's run.

Every write is idempotent — results are upserts keyed by (submission, task), status changes
are guarded by the status they expect — so a redelivered or duplicated message never corrupts
a submission: jobs can be acknowledged late and the reconciler can re-enqueue whenever in doubt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from app import queue
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef, VersionTask
from app.db import upsert, utcnow
from app.errors import Conflict
from app.settings import get_settings
from app.submissions.liveness import busy, charged, stale_submissions, stored_tasks
from app.submissions.models import RealWorldResultRow, Submission, Summary, TaskResultRow
from app.submissions.status import ACTIVE, RESCORABLE, STARTED, Status, check_transition
from app.submissions.summary import summary_values
from gir_core import generality
from gir_core.scoring import RealWorldResult, TaskResult


def log_key(submission_id: int) -> str:
    """Storage key of a submission's sandbox log (shown to its owner and admins only)."""
    return f"logs/{submission_id}.txt"


def _guarded_update(
    session: Session,
    submission_id: int,
    statuses: Sequence[Status],
    status: Status | None = None,
    **values: Any,
) -> bool:
    """UPDATE the submission only while it is in one of ``statuses`` (to ``status``, if given);
    whether it was. The guard makes a cancellation (or a failure recorded elsewhere) win over a
    worker still writing. A move the transition table does not allow raises before any SQL."""
    if status is not None:
        for current in statuses:
            check_transition(current, status)
        values["status"] = status
    statement = (
        update(Submission)
        .where(Submission.id == submission_id, Submission.status.in_(statuses))
        .values(**values)
    )
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount == 1


# -- claims: a worker takes a submission ---------------------------------------------------


def claim_validation(*, session: Session, submission_id: int, host: str) -> Submission | None:
    """Move a queued submission to ``validating``; None if there is nothing to do (unknown,
    cancelled, finished). An already validated one is sent on to scoring (a duplicate message,
    or a reconciler re-sending validation): a validation message is never a dead end."""
    submission = session.get(Submission, submission_id, with_for_update=True)
    claimable = (Status.QUEUED, Status.VALIDATING)
    if submission is None or submission.status not in claimable or busy(submission):
        session.rollback()
        return None
    if submission.seconds_per_mp is not None:
        session.rollback()
        queue.enqueue_scoring(submission_id)
        return None
    return _start(session, submission, Status.VALIDATING, host)


def claim_scoring(*, session: Session, submission_id: int, host: str) -> Submission | None:
    """Move a validated submission to ``running``; None if not to run. A resumed one keeps its
    version (its stored results belong to it), a new one takes the active version."""
    submission = session.get(Submission, submission_id, with_for_update=True)
    if (
        submission is None
        or submission.status not in (Status.QUEUED, Status.RUNNING)
        or submission.seconds_per_mp is None
        or busy(submission)
    ):
        session.rollback()
        return None
    if submission.benchmark_version_id is None:
        active = select(BenchmarkVersion.id).where(BenchmarkVersion.is_active)
        submission.benchmark_version_id = session.scalar(active)
    if submission.benchmark_version_id is None:
        _mark_failed(submission, "internal", "no benchmark version is active; try again later")
        session.commit()
        return None
    return _start(session, submission, Status.RUNNING, host)


def _start(
    session: Session, submission: Submission, status: Status, host: str
) -> Submission | None:
    """Count the attempt and mark the submission as worked on, or give up after too many: a
    model that takes its worker down every time ends ``failed``, not redelivered forever. An
    attempt interrupted after progress is not counted (see :func:`charged`)."""
    now, limit = utcnow(), get_settings().max_attempts
    stored = stored_tasks(session, submission.id)  # one count for the rule and the new mark
    if charged(session, submission, stored):
        submission.attempts += 1
    submission.attempt_progress = stored
    if submission.attempts > limit:
        _mark_failed(submission, "crashed", crashed_sentence(limit, status))
        session.commit()
        return None
    _move(submission, status)
    submission.error_message = ""  # e.g. a storage_sentence
    submission.worker_host = host[:120]
    submission.heartbeat_at = now
    if status == Status.RUNNING and submission.started_at is None:
        submission.started_at = now
    session.commit()
    return submission


def crashed_sentence(attempts: int, status: Status) -> str:
    """What the submitter reads when the worker died on every attempt."""
    phase = "validation" if status == Status.VALIDATING else "scoring"
    return (
        f"crashed {attempts} times: {phase} stopped without finishing each time (the worker "
        "died, e.g. out of memory), so it was given up instead of retried forever"
    )


def _move(submission: Submission, status: Status) -> None:
    """Set a loaded (and locked) submission's status, if the table allows the move."""
    check_transition(submission.status, status)
    submission.status = status


def _mark_failed(submission: Submission, code: str, message: str) -> None:
    _move(submission, Status.FAILED)
    submission.error_code = code[:32]
    submission.error_message, submission.current_task = message, ""
    submission.finished_at = utcnow()


# -- state changes while working -----------------------------------------------------------


def record_validation(
    *, session: Session, submission_id: int, parameters: int, seconds_per_mp: float, log: str
) -> bool:
    """Store what the contract check measured and queue the submission for scoring (attempts
    restart at 0: scoring gets its own allowance). False if it was cancelled meanwhile."""
    ok = _guarded_update(
        session, submission_id, (Status.VALIDATING,), Status.QUEUED, attempts=0, log_key=log,
        heartbeat_at=utcnow(), parameters=parameters, seconds_per_mp=seconds_per_mp,
    )  # fmt: skip
    session.commit()
    return ok


def fail_submission(
    *, session: Session, submission_id: int, code: str, message: str, log: str = ""
) -> bool:
    """Mark an active submission failed with a sentence for its owner (and its log, if any)."""
    values: dict[str, Any] = {"log_key": log} if log else {}
    ok = _guarded_update(
        session, submission_id, ACTIVE, Status.FAILED, error_code=code[:32],
        error_message=message, finished_at=utcnow(), current_task="", **values,
    )  # fmt: skip
    session.commit()
    return ok


def storage_sentence(reason: str) -> str:
    """What the submitter reads while storage is down: nothing is lost, it will run again."""
    return (
        f"waiting for storage ({reason}): the job went back to the queue and is retried "
        "automatically; results stored so far are kept"
    )


def wait_for_storage(*, session: Session, submission_id: int, reason: str) -> bool:
    """Put a submission that lost its storage back in the queue, for the reconciler to resend
    once its heartbeat is ``GIR_STALE_AFTER_S`` old. The attempt is given back: an outage of
    ours is not the model's crash and must not use up its ``GIR_MAX_ATTEMPTS``. The sentence is
    cleared when a worker claims it again."""
    ok = _guarded_update(
        session, submission_id, STARTED, Status.QUEUED,
        attempts=Submission.attempts - 1, heartbeat_at=utcnow(), current_task="",
        error_message=storage_sentence(reason),
    )  # fmt: skip
    session.commit()
    return ok


def touch(*, session: Session, submission_id: int) -> bool:
    """Heartbeat: the worker is alive on this submission. False once it is no longer active."""
    ok = _guarded_update(session, submission_id, STARTED, heartbeat_at=utcnow())
    session.commit()
    return ok


def set_progress(
    *, session: Session, submission_id: int, done: int, total: int, current: str
) -> bool:
    """Tasks done / total and the task in progress; False when no longer running (cancelled)."""
    ok = _progress(session, submission_id, done, total, current)
    session.commit()
    return ok


def _progress(session: Session, submission_id: int, done: int, total: int, current: str) -> bool:
    return _guarded_update(
        session, submission_id, (Status.RUNNING,), progress_done=done, progress_total=total,
        current_task=current[:16], heartbeat_at=utcnow(),
    )  # fmt: skip


# -- results --------------------------------------------------------------------------------


def finished_keys(*, session: Session, submission_id: int) -> set[str]:
    """Task keys and real-world set names already stored: what a resumed run skips."""
    tasks = (
        select(TaskDef.key)
        .join(VersionTask, VersionTask.task_id == TaskDef.id)
        .join(TaskResultRow, TaskResultRow.version_task_id == VersionTask.id)
        .where(TaskResultRow.submission_id == submission_id)
    )
    sets = (
        select(ImageSet.name)
        .join(RealWorldResultRow, RealWorldResultRow.image_set_id == ImageSet.id)
        .where(RealWorldResultRow.submission_id == submission_id)
    )
    return {*session.scalars(tasks), *session.scalars(sets)}


def store_result(
    *,
    session: Session,
    submission_id: int,
    target_id: int,
    result: TaskResult | RealWorldResult,
    progress: tuple[int, int, str],
) -> bool:
    """Upsert one result with the progress (done, total, current task), in one transaction.

    ``target_id``: the version task's id for a :class:`TaskResult`, the image set's for a
    :class:`RealWorldResult`. False, with nothing written, once it is no longer running.
    """
    if not _progress(session, submission_id, *progress):
        session.rollback()
        return False
    if isinstance(result, TaskResult):
        values: dict[str, Any] = {
            "submission_id": submission_id,
            "version_task_id": target_id,
            "mean_psnr": result.mean_psnr,
            "mean_ssim": result.mean_ssim,
            "psnr": list(result.psnr),
            "ssim": list(result.ssim),
            "seconds": result.seconds,
        }
        upsert(session, TaskResultRow, values, ("submission_id", "version_task_id"))
    else:
        values = {
            "submission_id": submission_id,
            "image_set_id": target_id,
            "mean_niqe": result.mean_niqe if math.isfinite(result.mean_niqe) else None,
            "niqe": [value if math.isfinite(value) else None for value in result.niqe],
            "seconds": result.seconds,
        }
        upsert(session, RealWorldResultRow, values, ("submission_id", "image_set_id"))
    session.commit()
    return True


def finish_scoring(
    *,
    session: Session,
    submission_id: int,
    version_id: int,
    lines: Sequence[generality.TaskLine],
    task_ids: Mapping[str, int],
) -> bool:
    """Write the summary from the stored rows and mark the submission ``scored``.

    ``task_ids`` maps each line's task key to its version task id. The summary is computed from
    what is in the database — not from what this run happened to see — so a resumed run ends
    exactly like an uninterrupted one. False if the submission was cancelled.
    """
    keys = {vt_id: key for key, vt_id in task_ids.items()}
    rows = session.scalars(select(TaskResultRow).filter_by(submission_id=submission_id))
    stored = {keys[row.version_task_id]: row for row in rows if row.version_task_id in keys}
    real = select(RealWorldResultRow.mean_niqe).filter_by(submission_id=submission_id)
    values = summary_values(
        lines,
        psnr={key: row.psnr for key, row in stored.items()},
        ssim={key: row.ssim for key, row in stored.items()},
        niqe=[value for value in session.scalars(real) if value is not None],
        seed=submission_id,
    )
    total = len(task_ids)
    ok = _guarded_update(
        session, submission_id, (Status.RUNNING,), Status.SCORED, finished_at=utcnow(),
        progress_done=total, progress_total=total, current_task="",
        log_key=log_key(submission_id),
    )  # fmt: skip
    if not ok:
        session.rollback()
        return False
    summary = {"submission_id": submission_id, "benchmark_version_id": version_id, **values}
    upsert(session, Summary, {**summary, "computed_at": utcnow()}, ("submission_id",))
    session.commit()
    return True


# -- the owner's cancellation, an operator's rescore -----------------------------------------


def cancel(*, session: Session, submission: Submission) -> None:
    """Cancel an active submission the caller has locked (and checked the viewer may manage);
    a worker sees ``cancelled`` at its next guarded write and stops.

    Raises:
        Conflict: already scored, failed or cancelled.
    """
    if submission.status not in ACTIVE:
        raise Conflict(
            f"submission {submission.id} is {submission.status}; only queued, validating or "
            "running submissions can be cancelled"
        )
    _move(submission, Status.CANCELLED)
    submission.current_task = ""
    submission.finished_at = utcnow()
    session.commit()


def requeue_for_rescore(*, session: Session, submission: Submission) -> None:
    """Back to the start of the lifecycle with its results gone (the caller commits).

    The version is cleared so the worker scores it on whichever version is active when scoring
    starts; a validated model is passed straight on to scoring by the validation job. Callers
    delete its stored examples after the commit (files cannot roll back with a failed
    transaction), then send its validation job.

    Raises:
        Conflict: it is queued, running or cancelled.
    """
    if submission.status not in RESCORABLE:
        raise Conflict(
            f"submission {submission.id} is {submission.status}; only scored or failed "
            "submissions can be rescored"
        )
    for table in (TaskResultRow, RealWorldResultRow, Summary):
        session.execute(delete(table).where(table.submission_id == submission.id))
    _move(submission, Status.QUEUED)
    submission.attempts = 0
    submission.progress_done = 0
    submission.current_task = ""
    submission.error_code = submission.error_message = ""
    submission.started_at = submission.finished_at = submission.heartbeat_at = None
    submission.benchmark_version_id = None


# -- the reconciler -------------------------------------------------------------------------


@dataclass(frozen=True)
class Requeue:
    """What the reconciler did with one stale submission: the job it sent again (``validate``,
    ``score``), or :attr:`Status.FAILED` when it gave the submission up."""

    submission_id: int
    action: str


def requeue_stale(*, session: Session, now: datetime | None = None) -> list[Requeue]:
    """Re-enqueue stale submissions (lost message, dead worker); fail the hopeless ones.

    A submission whose charged attempts all died (``GIR_MAX_ATTEMPTS``, see :func:`charged`) fails;
    the others go back to ``queued`` with a fresh ``heartbeat_at`` (the next pass leaves them
    alone for another interval) and their job is sent again: validation if never validated,
    else scoring, which resumes after the last stored task. Rows are committed *before* the
    jobs are sent: if sending fails, the next pass sends them again.
    """
    now = now or utcnow()
    limit = get_settings().max_attempts
    actions: list[Requeue] = []
    for submission in stale_submissions(session=session, now=now):
        if (
            submission.status != Status.QUEUED
            and submission.attempts >= limit
            and charged(session, submission)
        ):
            _mark_failed(submission, "crashed", crashed_sentence(limit, submission.status))
            actions.append(Requeue(submission.id, Status.FAILED))
            continue
        validated = submission.seconds_per_mp is not None
        _move(submission, Status.QUEUED)
        submission.heartbeat_at = now
        actions.append(Requeue(submission.id, "score" if validated else "validate"))
    session.commit()
    for item in actions:
        if item.action == "score":
            queue.enqueue_scoring(item.submission_id)
        elif item.action == "validate":
            queue.enqueue_validation(item.submission_id)
    return actions
