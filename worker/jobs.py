"""The Celery jobs, registered under their :mod:`app.queue` names: ids in, a session opened
here, :mod:`app.submissions.lifecycle` for every change of a submission.

Validation checks a submission's contract, then scoring scores it, resumably; the reconciler
requeues what lost its worker; synthesis and line training are the operators' jobs. Each leaves
a submission in a state a person can read: ``failed`` always carries a sentence — the model's
own error, or "internal error (id …)" whose traceback is only in this worker's log. Work
survives the worker's death: results are stored task by task, a heartbeat thread marks the
submission alive, and a rerun skips what is stored. Validation, scoring, synthesis and the
reconciler are idempotent (upserts, guarded state changes, a content-addressed cache), so they
are acknowledged late and redelivered if a worker dies; training lines checkpoints into storage,
so a redelivered training job resumes from its last checkpoint instead of starting again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from typing import cast

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from app.benchmarks.versions import get_version
from app.db import new_session
from app.queue import (
    RECONCILE_TASK,
    SCORE_TASK,
    SYNTHESIZE_TASK,
    TRAIN_LINES_TASK,
    VALIDATE_TASK,
    enqueue_scoring,
)
from app.settings import get_settings
from app.storage import StorageUnavailable, get_storage
from app.submissions.examples import save_example
from app.submissions.lifecycle import (
    claim_scoring,
    claim_validation,
    fail_submission,
    finish_scoring,
    finished_keys,
    log_key,
    record_validation,
    requeue_stale,
    set_progress,
    store_result,
    wait_for_storage,
)
from app.submissions.models import Submission
from app.submissions.status import Status
from gir_core.contract import PROBE_SIZES, run_probes
from gir_core.convention import AUTHORS, MetricConvention
from gir_core.errors import ModelError
from gir_core.sandbox import SandboxedModel, SandboxLimits
from gir_core.sandbox.errors_map import scoring_sentence
from gir_core.scoring import RealWorldResult, TaskResult, score
from worker.plan import ScoringPlan, prepare_inputs, scoring_plan
from worker.progress import Progress, hidden_last
from worker.sandboxing import HOST, append_log, excerpt, heartbeat, sandbox_setup, save_scoring_log

log = logging.getLogger(__name__)

Results = Generator[TaskResult | RealWorldResult, None, None]


def public_message(error: ModelError, *, scoring: bool) -> str:
    """The sentence the submitter reads.

    While scoring the model has seen hidden inputs, so anything it controls (an exception text,
    an output's shape or values, its timing) could carry them out: the owner reads the fixed
    sentence of the failure's class (:func:`~gir_core.sandbox.errors_map.scoring_sentence`), the
    detail goes to this worker's log only. Validation runs on the public probe images only, so
    its sentences keep their detail.
    """
    return scoring_sentence(error) if scoring else str(error)


@contextmanager
def failures(session: Session, submission_id: int, *, scoring: bool = False) -> Iterator[None]:
    """Turn whatever stops a job into the submission's failure sentence.

    A model's error is the submitter's to read (as a fixed sentence while scoring, see
    :func:`public_message`); anything else is ours: the submitter gets an id to quote, the
    traceback stays in this log (it may name hidden tasks' specs).
    """
    try:
        yield
    except ModelError as error:
        if scoring:  # the operator's copy: the owner's sentence says nothing model-made
            log.warning("submission %s: model failed while scoring (%s/%s): %s",
                        submission_id, error.code, error.reason, error)  # fmt: skip
        _fail(session, submission_id, error.code, public_message(error, scoring=scoring))
    except SoftTimeLimitExceeded:
        _fail(session, submission_id, "limit", "the job exceeded the worker's time limit")
    except StorageUnavailable as error:  # ours, not the model's: back to the queue
        session.rollback()
        # A fixed reason: the error names keys (and hashes) the submitter has no use for.
        wait_for_storage(session=session, submission_id=submission_id, reason="unreachable")
        log.warning("submission %s: %s; requeued for the reconciler", submission_id, error)
    except Exception:
        reference = uuid.uuid4()
        log.exception("submission %s: internal error (id %s)", submission_id, reference)
        _fail(session, submission_id, "internal", f"internal error (id {reference})")


def _fail(session: Session, submission_id: int, code: str, message: str) -> None:
    session.rollback()
    key = log_key(submission_id)
    saved = key if get_storage().exists(key) else ""
    fail_submission(
        session=session, submission_id=submission_id, code=code, message=message, log=saved
    )
    log.info("submission %s failed (%s): %s", submission_id, code, message)


# -- validation -----------------------------------------------------------------------------


def validate_submission(submission_id: int) -> None:
    """Contract-check a queued submission in the sandbox, then queue it for scoring."""
    with new_session() as session:
        submission = claim_validation(session=session, submission_id=submission_id, host=HOST)
        if submission is None:
            log.info("submission %s: no validation to do", submission_id)
            return
        with failures(session, submission_id), heartbeat(submission_id):
            parameters, per_mp = _check(submission)
            stored = record_validation(
                session=session,
                submission_id=submission_id,
                parameters=parameters,
                seconds_per_mp=per_mp,
                log=log_key(submission_id),
            )
            if stored:
                enqueue_scoring(submission_id)


def _check(submission: Submission) -> tuple[int, float]:
    """:func:`gir_core.contract.check_model`'s probes, with the sandbox kept in hand so its log
    can be stored; returns (parameters, seconds per megapixel)."""
    settings = get_settings()
    total = SandboxLimits().load_seconds + len(PROBE_SIZES) * settings.sandbox_image_s
    options, limits = sandbox_setup(submission.size_multiple, submission.tile_size, total)
    model = get_storage().local_path(submission.storage_key)
    sandbox = SandboxedModel(model, options, limits)
    try:
        info = sandbox.start()
        per_mp = run_probes(sandbox)
    finally:
        sandbox.close()
        append_log(submission.id, "contract check", excerpt(sandbox.log))
    return info.parameters, per_mp


# -- scoring --------------------------------------------------------------------------------


def score_submission(submission_id: int) -> None:
    """Score a validated submission on its benchmark version, resuming after stored tasks."""
    with new_session() as session:
        submission = claim_scoring(session=session, submission_id=submission_id, host=HOST)
        if submission is None or submission.benchmark_version_id is None:
            log.info("submission %s: no scoring to do", submission_id)
            return
        with failures(session, submission_id, scoring=True), heartbeat(submission_id):
            plan = scoring_plan(
                session=session, version_id=submission.benchmark_version_id, storage=get_storage()
            )
            prepare_inputs(plan)
            finished = _run_model(session, submission, plan) and finish_scoring(
                session=session,
                submission_id=submission_id,
                version_id=plan.version_id,
                lines=plan.lines,
                task_ids=plan.task_ids,
            )
            outcome = Status.SCORED if finished else "stopped: no longer running (cancelled?)"
            log.info("submission %s: %s", submission_id, outcome)


def _run_model(session: Session, submission: Submission, plan: ScoringPlan) -> bool:
    """Start the model's sandbox, score and store; its log is saved however this ends."""
    options, limits = sandbox_setup(submission.size_multiple, submission.tile_size)
    model = get_storage().local_path(submission.storage_key)
    sandbox = SandboxedModel(model, options, limits)
    try:
        sandbox.start()
        return _store_all(session, submission.id, plan, sandbox)
    finally:
        sandbox.close()
        save_scoring_log(submission.id, submission.attempts, sandbox.log)


def _save_example(submission_id: int, result: TaskResult) -> None:
    """Store a public task's example; a hidden task's is never written, whatever scoring gave."""
    if result.example is not None and result.kind == "representative":
        save_example(get_storage(), submission_id, result.key, result.example)


def _store_all(
    session: Session, submission_id: int, plan: ScoringPlan, sandbox: SandboxedModel
) -> bool:
    """Score what is not stored yet, storing each result as it lands; False if cancelled.

    The cancellation check is the guarded progress update after each task: the owner's
    ``cancelled`` wins, and the model's sandbox is closed at the next task boundary. A public
    task's example is written before its row: a resumed run skips stored tasks, so an example
    written after the row could be lost for good by a crash in between. Hidden tasks run last,
    as one block the progress does not reveal task by task (:mod:`worker.progress`).
    """
    skip = finished_keys(session=session, submission_id=submission_id)
    benchmark = hidden_last(plan.benchmark)
    progress = Progress(
        [item for item in benchmark.tasks if item.key not in skip], len(plan.task_ids)
    )
    finished = 0
    done, total, current = progress.after(finished)
    if not set_progress(
        session=session, submission_id=submission_id, done=done, total=total, current=current
    ):
        return False
    results = cast(Results, score(sandbox, benchmark, skip=skip, synthesis_workers=1))
    with closing(results):
        for result in results:
            if isinstance(result, TaskResult):
                finished += 1
                done, total, current = progress.after(finished)
                target = plan.task_ids[result.key]
                _save_example(submission_id, result)
            else:
                target = plan.set_ids[result.name]
            if not store_result(
                session=session,
                submission_id=submission_id,
                target_id=target,
                result=result,
                progress=(done, total, current),
            ):
                return False
    return True


# -- the reconciler and the operators' jobs --------------------------------------------------


def reconcile() -> None:
    """One pass of the periodic reconciler (beat: every ``GIR_RECONCILE_EVERY_S``).

    A broker restart loses queued messages, and a worker killed mid-job leaves its submission
    ``running`` with no one working on it; both show as a heartbeat that stopped.
    :func:`~app.submissions.lifecycle.requeue_stale` decides and re-enqueues (the admin CLI and
    page call it too); this job logs what it did with each stale submission.
    """
    with new_session() as session:
        actions = requeue_stale(session=session)
    for item in actions:
        log.warning("reconciler: submission %s had no sign of life -> %s",
                    item.submission_id, item.action)  # fmt: skip


def synthesize(version: str) -> None:
    """Make every degraded input of a benchmark version ahead of scoring (shared cache)."""
    with new_session() as session:
        found = get_version(session=session, name=version)
        plan = scoring_plan(session=session, version_id=found.id, storage=get_storage())
    made = prepare_inputs(plan)
    log.info("version %s: %d degraded inputs made, the rest were cached", version, made)


def train_lines(task_key: str, profile: str, convention: str = AUTHORS.text) -> None:
    """Train and record the acceptance and excellence lines of one pool task, measured with
    ``convention`` (the metric convention of the version they are for; the authors' default)."""
    # Lazy: training pulls in torch, which scoring workers never need in their own process.
    from app.benchmarks.lines import train_lines as train_task_lines

    with new_session() as session:
        trained = train_task_lines(
            session=session,
            task_key=task_key,
            profile=profile,
            device=_torch_device(),
            convention=MetricConvention.parse(convention),
        )
    log.info("lines of task %s: acceptance %.2f dB, excellence %.2f dB", trained.task_key,
             trained.acceptance_psnr, trained.excellence_psnr)  # fmt: skip


def _torch_device() -> str:
    """``GIR_DEVICE`` as a torch device (``auto``: the GPU when there is one)."""
    device = get_settings().device
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def register(celery: Celery) -> None:
    """Register every task under its :mod:`app.queue` name."""
    # The validation task's time limits come from the settings (app.queue's task_annotations).
    celery.task(name=VALIDATE_TASK, acks_late=True)(validate_submission)
    celery.task(name=SCORE_TASK, acks_late=True)(score_submission)
    celery.task(name=RECONCILE_TASK, acks_late=True)(reconcile)
    celery.task(name=SYNTHESIZE_TASK, acks_late=True)(synthesize)
    celery.task(name=TRAIN_LINES_TASK, acks_late=True)(train_lines)
