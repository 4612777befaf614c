"""The scoring pipeline's service functions: claims, stored results, summaries, the reconciler.

The Celery tasks in ``worker/`` stay thin and call these with their own session; the admin CLI
calls :func:`requeue_stale` too. Every write is idempotent — results are upserts keyed by
(submission, task), status changes are guarded by the status they expect — so a redelivered or
duplicated message never corrupts a submission: tasks can be acknowledged late and the
reconciler can re-enqueue whenever in doubt.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import queue
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef, VersionTask
from app.db import Base, UTCDateTime, utcnow
from app.settings import get_settings
from app.submissions.models import ACTIVE, RealWorldResultRow, Submission, Summary, TaskResultRow
from gir_core import generality
from gir_core.errors import ParameterError
from gir_core.scoring import RealWorldResult, TaskResult

log = logging.getLogger(__name__)


def log_key(submission_id: int) -> str:
    """Storage key of a submission's sandbox log (shown to its owner and admins only)."""
    return f"logs/{submission_id}.txt"


def upsert(
    session: Session, model: type[Base], values: Mapping[str, Any], keys: Sequence[str]
) -> None:
    """INSERT ``values``, or UPDATE the row with the same ``keys``, in one statement.

    PostgreSQL and SQLite both speak ``INSERT … ON CONFLICT (…) DO UPDATE``; unlike SQLite's
    ``INSERT OR REPLACE`` it keeps the row's id, so a redelivered task rewrites its row in place.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no upsert for the {dialect} dialect")
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(dict(values))
    changed = {name: statement.excluded[name] for name in values if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


def _guarded_update(
    session: Session, submission_id: int, statuses: Sequence[str], **values: Any
) -> bool:
    """UPDATE the submission only while it is in one of ``statuses``; whether it was. The guard
    makes a cancellation (or a failure recorded elsewhere) win over a worker still writing."""
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
    if submission is None or submission.status not in ("queued", "validating") or _busy(submission):
        session.rollback()
        return None
    if submission.seconds_per_mp is not None:
        session.rollback()
        queue.enqueue_scoring(submission_id)
        return None
    return _start(session, submission, "validating", host)


def claim_scoring(*, session: Session, submission_id: int, host: str) -> Submission | None:
    """Move a validated submission to ``running``; None if not to run. A resumed one keeps its
    version (its stored results belong to it), a new one takes the active version."""
    submission = session.get(Submission, submission_id, with_for_update=True)
    if (
        submission is None
        or submission.status not in ("queued", "running")
        or submission.seconds_per_mp is None
        or _busy(submission)
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
    return _start(session, submission, "running", host)


def _busy(submission: Submission) -> bool:
    """Another worker is on it: started and its heartbeat is fresh (a duplicate message)."""
    beat, started = submission.heartbeat_at, submission.status in ("validating", "running")
    fresh = timedelta(seconds=get_settings().stale_after_s)
    return started and beat is not None and utcnow() - beat < fresh


def _stored_tasks(session: Session, submission_id: int) -> int:
    query = select(func.count()).select_from(TaskResultRow).filter_by(submission_id=submission_id)
    return session.scalar(query) or 0


def charged(session: Session, submission: Submission) -> bool:
    """Whether the submission's interrupted attempt counts against its model (GIR_MAX_ATTEMPTS).

    A worker that dies (killed, its machine lost, its broker gone) leaves no cause behind. An
    attempt that stored task results after it started proves the model runs: its interruption
    was the service's, and charging it would fail good models on a bad day. One that died
    without storing any may be a model that takes its worker down, so it counts. Termination
    holds: every uncharged retry has stored at least one more task, and tasks are finite.
    (Stored rows, not ``progress_done``: the published progress holds still over hidden tasks.)
    """
    return _stored_tasks(session, submission.id) <= submission.attempt_progress


def _start(session: Session, submission: Submission, status: str, host: str) -> Submission | None:
    """Count the attempt and mark the submission as worked on, or give up after too many: a
    model that takes its worker down every time ends ``failed``, not redelivered forever. An
    attempt interrupted after progress is not counted (see :func:`charged`)."""
    now, limit = utcnow(), get_settings().max_attempts
    if charged(session, submission):
        submission.attempts += 1
    submission.attempt_progress = _stored_tasks(session, submission.id)
    if submission.attempts > limit:
        _mark_failed(submission, "crashed", crashed_sentence(limit, status))
        session.commit()
        return None
    submission.status, submission.error_message = status, ""  # e.g. a storage_sentence
    submission.worker_host = host[:120]
    submission.heartbeat_at = now
    if status == "running" and submission.started_at is None:
        submission.started_at = now
    session.commit()
    return submission


def crashed_sentence(attempts: int, status: str) -> str:
    """What the submitter reads when the worker died on every attempt."""
    phase = "validation" if status == "validating" else "scoring"
    return (
        f"crashed {attempts} times: {phase} stopped without finishing each time (the worker "
        "died, e.g. out of memory), so it was given up instead of retried forever"
    )


def _mark_failed(submission: Submission, code: str, message: str) -> None:
    submission.status, submission.error_code = "failed", code[:32]
    submission.error_message, submission.current_task = message, ""
    submission.finished_at = utcnow()


# -- state changes while working -----------------------------------------------------------


def record_validation(
    *, session: Session, submission_id: int, parameters: int, seconds_per_mp: float, log: str
) -> bool:
    """Store what the contract check measured and queue the submission for scoring (attempts
    restart at 0: scoring gets its own allowance). False if it was cancelled meanwhile."""
    ok = _guarded_update(
        session, submission_id, ("validating",), status="queued", attempts=0, log_key=log,
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
        session, submission_id, ACTIVE, status="failed", error_code=code[:32],
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
        session, submission_id, ("validating", "running"), status="queued",
        attempts=Submission.attempts - 1, heartbeat_at=utcnow(), current_task="",
        error_message=storage_sentence(reason),
    )  # fmt: skip
    session.commit()
    return ok


def touch(*, session: Session, submission_id: int) -> bool:
    """Heartbeat: the worker is alive on this submission. False once it is no longer active."""
    ok = _guarded_update(session, submission_id, ("validating", "running"), heartbeat_at=utcnow())
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
        session, submission_id, ("running",), progress_done=done, progress_total=total,
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
        session, submission_id, ("running",), status="scored", finished_at=utcnow(),
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


def summary_values(
    lines: Sequence[generality.TaskLine],
    *,
    psnr: Mapping[str, Sequence[float]],
    ssim: Mapping[str, Sequence[float]],
    niqe: Sequence[float],
    seed: int,
) -> dict[str, Any]:
    """The leaderboard's numbers, all from :mod:`gir_core.generality` on per-image values.

    Task means use ``math.fsum`` like :class:`~gir_core.scoring.TaskResult`; the bootstrap is
    seeded by the submission id so a rescore reproduces its intervals.
    """
    means = {key: math.fsum(values) / len(values) for key, values in psnr.items()}
    ssims = {key: math.fsum(values) / len(values) for key, values in ssim.items()}
    summary = generality.summarize(lines, means, ssims)
    ci = generality.bootstrap_ci(lines, psnr, seed=seed)
    rep, hid = summary.representative, summary.hidden
    return {
        "ar": summary.ar,
        "er": summary.er,
        "mean_psnr": summary.mean_psnr,
        "mean_ssim": math.fsum(ssims.values()) / len(ssims),
        "ar_low": ci.ar.low,
        "ar_high": ci.ar.high,
        "er_low": ci.er.low,
        "er_high": ci.er.high,
        "psnr_low": ci.mean_psnr.low,
        "psnr_high": ci.mean_psnr.high,
        "ar_representative": rep.ar if rep else None,
        "ar_hidden": hid.ar if hid else None,
        "psnr_representative": rep.mean_psnr if rep else None,
        "psnr_hidden": hid.mean_psnr if hid else None,
        "mean_niqe": math.fsum(niqe) / len(niqe) if niqe else None,
        "bias": _bias(lines, means),
    }


def _bias(lines: Sequence[generality.TaskLine], means: Mapping[str, float]) -> dict[str, Any]:
    """Per-degradation profile (:func:`gir_core.generality.degradation_profile`), name ->
    {single_score, n_single, median_score, pass_rate, n_mixtures, n_broken, mean_all_tasks,
    n_tasks}; ``mean_all_tasks`` is the old mean of s over every task containing it, kept
    under a name that says what it is (pages label it as the old measure).

    Public tasks only: hidden tasks' scores are published per task (by key), so a per-degradation
    figure over them would let anyone solve for which degradations each hidden task contains.
    Tasks with a broken line (excellence not above acceptance: no score) are left out and
    counted. Empty (and logged) only when the lines cannot be scored at all (e.g. an unknown
    degradation name).
    """
    lines = [line for line in lines if line.kind != "hidden"]
    means = {line.task_id: means[line.task_id] for line in lines if line.task_id in means}
    try:
        profile = generality.degradation_profile(lines, means)
    except ParameterError as error:
        log.warning("per-degradation bias left empty: %s", error)
        return {}
    return {
        name: {
            "single_score": p.single_score,
            "n_single": p.n_single,
            "median_score": p.median_score,
            "pass_rate": p.pass_rate,
            "n_mixtures": p.n_mixtures,
            "n_broken": p.n_broken,
            "mean_all_tasks": p.mean_score,
            "n_tasks": p.n_single + p.n_mixtures,
        }
        for name, p in profile.items()
    }


# -- the reconciler -------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Requeue:
    """What the reconciler did with one stale submission: ``validate``, ``score`` or ``failed``."""

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
            submission.status != "queued"
            and submission.attempts >= limit
            and charged(session, submission)
        ):
            _mark_failed(submission, "crashed", crashed_sentence(limit, submission.status))
            actions.append(Requeue(submission.id, "failed"))
            continue
        validated = submission.seconds_per_mp is not None
        submission.status, submission.heartbeat_at = "queued", now
        actions.append(Requeue(submission.id, "score" if validated else "validate"))
    session.commit()
    for item in actions:
        if item.action == "score":
            queue.enqueue_scoring(item.submission_id)
        elif item.action == "validate":
            queue.enqueue_validation(item.submission_id)
    return actions
