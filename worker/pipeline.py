"""What the worker's jobs do: check a submission's contract, then score it, resumably.

Each entry point receives an id, opens its own session, and leaves the submission in a state a
person can read: ``failed`` always carries a sentence — the model's own error, or "internal
error (id …)" whose traceback is only in this worker's log. Work survives the worker's death:
results are stored task by task, a heartbeat thread marks the submission alive, and a rerun
skips what is stored (the reconciler requeues submissions whose heartbeat stopped).
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import cast

from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.db import new_session
from app.queue import enqueue_scoring
from app.settings import get_settings
from app.storage import get_storage, put_bytes
from app.submissions.examples import save_example
from app.submissions.models import Submission
from app.submissions.pipeline import (
    claim_scoring,
    claim_validation,
    fail_submission,
    finish_scoring,
    finished_keys,
    log_key,
    record_validation,
    set_progress,
    store_result,
    touch,
)
from gir_core.contract import PROBE_SIZES, run_probes
from gir_core.errors import ModelError
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel, SandboxLimits
from gir_core.scoring import RealWorldResult, TaskResult, score
from worker.plan import ScoringPlan, prepare_inputs, scoring_plan

log = logging.getLogger(__name__)

HOST = socket.gethostname()
Results = Generator[TaskResult | RealWorldResult, None, None]


def sandbox_setup(
    size_multiple: int = 1, tile: int | None = None, total_seconds: float | None = None
) -> tuple[RunOptions, SandboxLimits]:
    """Run options and limits for one model from the settings (``GIR_SANDBOX_*``, ``GIR_DEVICE``).

    RLIMIT_AS breaks CUDA's address-space reservations, so kernel memory limits are off where
    the model may run on a GPU; the parent's RSS watchdog still applies everywhere.
    """
    settings = get_settings()
    total = total_seconds or settings.sandbox_total_s
    gpu = settings.device == "cuda" or (
        settings.device == "auto" and Path("/dev/nvidiactl").exists()
    )
    options = RunOptions(
        size_multiple=size_multiple,
        tile=tile,
        device=settings.device,
        threads=settings.sandbox_threads,
        gpu_memory_mb=settings.sandbox_gpu_memory_mb,
    )
    limits = SandboxLimits(
        memory_mb=settings.sandbox_memory_mb,
        cpu_seconds=max(1, int(total * settings.sandbox_threads)),
        image_seconds=settings.sandbox_image_s,
        total_seconds=total,
        kernel_memory_limits=not gpu,
    )
    return options, limits


def append_log(submission_id: int, title: str, text: str) -> str:
    """Add one sandbox run's output as a titled section of the submission's log; its key.

    The log is the model child's stderr, for the owner and admins only (never hidden specs:
    the child only ever sees arrays).
    """
    storage, key = get_storage(), log_key(submission_id)
    before = storage.local_path(key).read_bytes() if storage.exists(key) else b""
    put_bytes(storage, key, before + f"== {title} ==\n{text or '(no output)'}\n".encode())
    return key


@contextmanager
def heartbeat(submission_id: int) -> Iterator[None]:
    """Mark the submission alive every ``GIR_HEARTBEAT_S`` from a thread while a step runs.

    A single image may take minutes; the reconciler must only requeue a submission whose
    worker died, never one that is merely busy.
    """
    stop = threading.Event()
    every = get_settings().heartbeat_s

    def beat() -> None:
        while not stop.wait(every):
            try:
                with new_session() as session:
                    touch(session=session, submission_id=submission_id)
            except SQLAlchemyError as error:
                log.warning("heartbeat of submission %s failed: %s", submission_id, error)

    thread = threading.Thread(target=beat, name=f"heartbeat-{submission_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# While scoring, the model sees hidden inputs: any text it controls (an exception message, what it
# prints) could carry them out to the submitter, so those channels are closed for that phase.
WITHHELD_MESSAGES = {
    "crash": "the model raised an error or crashed while scoring (its message is withheld: during "
    "scoring it could carry hidden test data; reproduce with `gir eval` on your own images)",
    "violation": "the model tried to access a file, device or the network while scoring, which "
    "the sandbox forbids",
}
WITHHELD_LOG = (
    "({size} bytes of model output withheld: output printed while scoring hidden inputs is kept "
    "for administrators only, in storage key {key})"
)


def public_message(error: ModelError, *, scoring: bool) -> str:
    """The sentence the submitter reads; model-controlled text is dropped while scoring."""
    if scoring and error.code in WITHHELD_MESSAGES:
        return WITHHELD_MESSAGES[error.code]
    return str(error)


@contextmanager
def failures(session: Session, submission_id: int, *, scoring: bool = False) -> Iterator[None]:
    """Turn whatever stops a job into the submission's failure sentence.

    A model's error is the submitter's to read (except model-controlled text while scoring, see
    :func:`public_message`); anything else is ours: the submitter gets an id to quote, the
    traceback stays in this log (it may name hidden tasks' specs).
    """
    try:
        yield
    except ModelError as error:
        _fail(session, submission_id, error.code, public_message(error, scoring=scoring))
    except SoftTimeLimitExceeded:
        _fail(session, submission_id, "limit", "the job exceeded the worker's time limit")
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


def validate(submission_id: int) -> None:
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
        append_log(submission.id, "contract check", sandbox.log)
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
            outcome = "scored" if finished else "stopped: no longer running (cancelled?)"
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
        _save_scoring_log(submission.id, submission.attempts, sandbox.log)


def _save_scoring_log(submission_id: int, attempt: int, text: str) -> None:
    """Keep the scoring output for administrators; the owner's log says it was withheld."""
    key = f"logs/{submission_id}-scoring-admin.txt"
    data = text.encode("utf-8", errors="replace")
    put_bytes(get_storage(), key, data)
    note = WITHHELD_LOG.format(size=len(data), key=key)
    append_log(submission_id, f"scoring, attempt {attempt}", note)


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
    written after the row could be lost for good by a crash in between.
    """
    skip = finished_keys(session=session, submission_id=submission_id)
    todo = [item.key for item in plan.benchmark.tasks if item.key not in skip]
    total = len(plan.task_ids)
    done = total - len(todo)
    upcoming = iter([*todo[1:], ""])
    current = todo[0] if todo else ""
    if not set_progress(
        session=session, submission_id=submission_id, done=done, total=total, current=current
    ):
        return False
    results = cast(Results, score(sandbox, plan.benchmark, skip=skip, synthesis_workers=1))
    with closing(results):
        for result in results:
            if isinstance(result, TaskResult):
                done, current = done + 1, next(upcoming)
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
