"""A worker killed with ``kill -9`` mid-scoring leaves no model process behind (issue #13 item 5);
a starting worker kills what a crashed one left and names every missing protection in its log.

Only the worker's own pid is killed, not its process group: the model's child leads a group and
session of its own, so only the sandbox's lifeline can take it down with the worker.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.queue import enqueue_scoring
from gir_core.sandbox import landlock, lifeline
from tests.support import procs
from tests.worker.conftest import (
    Bench,
    WorkerProcess,
    add_submission,
    reread,
    slow_model,
    wait_for,
)
from worker.sandboxing import HOST
from worker.selfcheck import report_sandbox


def _model_processes(worker: int) -> list[int]:
    """The sandbox children of ``worker`` (by parent pid and command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := procs.stat(int(entry))) and fields[1] == str(worker):
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            if lifeline.CHILD_MODULE.encode() in argv:
                found.append(int(entry))
    return found


def test_kill_9_of_a_scoring_worker_leaves_no_model_process(
    db: Session,
    bench: Bench,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_dir = tmp_path / "sandbox-run"
    monkeypatch.setenv("GIR_SANDBOX_RUN_DIR", str(run_dir))  # the workers inherit it
    slow = slow_model(tmp_path, spins=2_000_000)  # about a minute per image
    submission_id = add_submission(db, "slow", slow, "torchscript", validated=True)
    enqueue_scoring(submission_id)
    worker = start_worker()
    pid = worker.process.pid
    children: list[int] = []

    def scoring() -> bool:
        children[:] = _model_processes(pid)
        return reread(db, submission_id).status == "running" and len(children) == 1

    wait_for(scoring, [worker], timeout=90.0)
    model = children[0]
    busy = int(procs.stat(model)[11])
    wait_for(lambda: int(procs.stat(model)[11]) > busy + 20, [worker])  # the model is computing

    os.kill(pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    assert procs.gone_within(model, 5.0), (
        f"model process {model} outlived its kill -9'd worker by 5 s"
    )

    # The dead worker could not remove its record; the next worker's start-up reaper does.
    assert (run_dir / f"{model}.json").exists()
    second = start_worker()
    wait_for(lambda: "sandbox self-check on" in second.output(), [second], timeout=90.0)
    assert not (run_dir / f"{model}.json").exists()


def test_start_up_reaps_orphans_and_names_every_missing_protection(
    worker_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("GIR_SANDBOX_RUN_DIR", str(tmp_path))
    gone_pid, gone_start = procs.dead_process()
    orphan = procs.waiting_child()  # a sandbox child waiting for its model; its "worker" is gone
    try:
        time.sleep(0.5)
        start = lifeline.start_time(orphan.pid)
        assert start is not None
        procs.write_record(tmp_path, lifeline.ChildRecord(orphan.pid, start, gone_pid, gone_start))
        with caplog.at_level(logging.INFO, logger="worker.selfcheck"):
            report_sandbox()
        assert orphan.wait(timeout=5) == -signal.SIGKILL
    finally:
        orphan.kill()
        orphan.wait()
    lines = [r.getMessage() for r in caplog.records]
    assert f"killed model process {orphan.pid} left behind by a crashed worker on {HOST}" in lines
    active = next(line for line in lines if line.startswith("sandbox self-check on"))
    for name, ok, reason in landlock.abi_protections(landlock.abi_version()):
        missing = f"SANDBOX PROTECTION MISSING on {HOST}: {name} ({reason})"
        assert (name in active) if ok else (missing in lines), name
