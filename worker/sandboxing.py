"""What surrounds a model's sandbox in a worker job: its limits, its log, its heartbeat.

The jobs (:mod:`worker.jobs`) run a submitted model only through these: options and limits from
the settings, the owner's log (an excerpt of the contract check's output; the scoring output
withheld, kept for administrators), and a thread that marks the submission alive while a step
runs, so the reconciler only requeues submissions whose worker died.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from app.db import new_session
from app.settings import get_settings
from app.storage import get_storage, put_bytes
from app.submissions.lifecycle import log_key, touch
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxLimits
from gir_core.sandbox.errors_map import printable

log = logging.getLogger(__name__)

HOST = socket.gethostname()


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
    while scoring is never shown to owners at all (:func:`save_scoring_log`). Escapes and
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


WITHHELD_LOG = (
    "(the model's output while scoring is withheld, printed or not: it ran on hidden inputs, so "
    "what it wrote is kept for administrators only, in storage key {key})"
)
"""The owner's whole view of a scoring run's output: fixed text, not even its size (the model
chooses how much it prints)."""


def save_scoring_log(submission_id: int, attempt: int, text: str) -> None:
    """Keep the scoring output for administrators; the owner's log says it was withheld."""
    key = f"logs/{submission_id}-scoring-admin.txt"
    data = text.encode("utf-8", errors="replace")
    put_bytes(get_storage(), key, data)
    note = WITHHELD_LOG.format(key=key)
    append_log(submission_id, f"scoring, attempt {attempt}", note)


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
