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
from app.storage import StorageUnavailable, get_storage, put_bytes
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
    wait_for_storage,
)
from gir_core.contract import PROBE_SIZES, run_probes
from gir_core.errors import ModelError
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel, SandboxLimits
from gir_core.sandbox.errors_map import printable, scoring_sentence
from gir_core.scoring import RealWorldResult, TaskResult, score
from worker.plan import ScoringPlan, prepare_inputs, scoring_plan
from worker.progress import Progress, hidden_last

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


EXCERPT_LINES, EXCERPT_LINE_CHARS = 40, 200
"""What an owner sees of a model's own output from its contract check: the last 40 lines (where
an error's traceback is), each cut at 200 characters, control characters and escapes removed."""


def excerpt(text: str) -> str:
    """A bounded, printable excerpt of a model's output for its owner.

    Only ever applied to runs on public inputs (the contract check's probes): output printed
    while scoring is never shown to owners at all (:func:`_save_scoring_log`). Escapes and
    control characters go (a log shown in a terminal or a page must not be able to redraw or
    hide lines); what is cut is said, with its size.
    """
    lines = printable(text).splitlines()
    kept = [line[:EXCERPT_LINE_CHARS] for line in lines[-EXCERPT_LINES:]]
    if len(kept) < len(lines) or any(len(line) > EXCERPT_LINE_CHARS for line in lines):
        kept.insert(0, "(the model's output is cut to its last lines and their first characters)")
    return "\n".join(kept)


def append_log(submission_id: int, title: str, text: str) -> str:
    """Add one sandbox run's output as a titled section of the submission's log; its key.

    The log is the model child's stderr, for the owner and admins only (never hidden specs:
    the child only ever sees arrays).
    """
    storage, key = get_storage(), log_key(submission_id)
    before = storage.read_bytes(key) if storage.exists(key) else b""
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


WITHHELD_LOG = (
    "(the model's output while scoring is withheld, printed or not: it ran on hidden inputs, so "
    "what it wrote is kept for administrators only, in storage key {key})"
)
"""The owner's whole view of a scoring run's output: fixed text, not even its size (the model
chooses how much it prints)."""


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
    note = WITHHELD_LOG.format(key=key)
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
