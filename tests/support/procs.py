"""Processes seen through ``/proc``, and the sandbox-child stand-ins the orphan tests need.

Light on purpose (no app, no torch): ``tests/core`` and ``tests/worker`` both check that a model
process dies with its parent and that the start-up reaper kills what a crashed worker left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from gir_core.sandbox import lifeline


def stat(pid: int) -> list[str]:
    """``/proc/PID/stat`` fields after the command name ([] when the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for init to reap it (a zombie runs nothing)."""
    fields = stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    """Whether ``pid`` stops running within ``seconds`` (polled, so a test waits no longer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def cpu_ticks(pid: int) -> int:
    """User plus system clock ticks ``pid`` has used: rising while its model computes."""
    fields = stat(pid)
    return int(fields[11]) + int(fields[12])


def dead_process() -> tuple[int, int]:
    """(pid, start time) of a process that existed and is gone: a crashed worker's identity."""
    sleeper = subprocess.Popen(["sleep", "30"])
    start = lifeline.start_time(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    assert start is not None
    return sleeper.pid, start


def write_record(folder: Path, record: lifeline.ChildRecord, name: str = "") -> Path:
    """Write ``record`` as the sandbox does (``PID.json``), or under ``name``."""
    path = folder / (name or f"{record.pid}.json")
    path.write_text(json.dumps(asdict(record)))
    return path


def waiting_child() -> subprocess.Popen[bytes]:
    """A real sandbox child (waiting for its model on stdin), this test process its parent."""
    return subprocess.Popen(
        [sys.executable, "-I", "-m", lifeline.CHILD_MODULE, str(os.getpid())],
        stdin=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
