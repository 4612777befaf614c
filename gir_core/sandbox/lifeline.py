"""Sandbox children never outlive the process that started them.

Three layers, because a worker can die by ``kill -9`` at any instant:

1. The child asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``) before any
   model code runs, and again after dropping root (a credential change clears the setting). If
   the parent died before the request, the child is already an orphan: it compares
   ``getppid()`` with the parent's pid it was given and exits at once.
2. The child leads its own process group, which the parent kills on every exit path of
   :class:`~gir_core.sandbox.SandboxedModel` (close, errors, limits).
3. The parent writes a record per child (pid and start time of child and parent) into a private
   run directory; a starting worker calls :func:`reap_orphans`, which kills only children whose
   recorded parent is gone and which are still the very process recorded (same start time, the
   sandbox's command line), pinned by a pidfd so a reused pid is never signalled.

The kernel sends the parent-death signal when the *thread* that started the child exits: start a
sandbox from the thread that will use it (the worker's task thread, the CLI's main thread).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

CHILD_MODULE = "gir_core.sandbox.child"
EXIT_ORPHANED = 4
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent(parent: int) -> None:
    """Child side: SIGKILL this process when ``parent`` dies; exit now if it already has."""
    if _libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl(PR_SET_PDEATHSIG): {os.strerror(code)}")
    if os.getppid() != parent:  # the parent died before the request: nobody would kill us
        os._exit(EXIT_ORPHANED)


def run_dir() -> Path:
    """Where child records live: ``GIR_SANDBOX_RUN_DIR``, else a per-uid folder in the temp dir."""
    configured = os.environ.get("GIR_SANDBOX_RUN_DIR", "").strip()
    return Path(configured or Path(tempfile.gettempdir()) / f"gir-sandbox-{os.getuid()}")


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) or check it is ours: not a link, owned by us, writable by no one else.

    Anyone who could write a record here could make a worker kill a process of their choice (the
    record's start time must match, but why rely on one check). Raises OSError with the reason.
    """
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    info = path.lstat()
    if not path.is_dir() or path.is_symlink():
        raise OSError(f"{path} is not a directory")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise OSError(f"{path} is not private to uid {os.getuid()} (owner or mode)")
    return path


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None when it does not exist).

    (pid, start time) names one process for the machine's uptime: pids are reused, this pair is
    not. Field 22 of ``/proc/PID/stat``, counted after the command name, which may hold spaces.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class ChildRecord:
    """A sandbox child and the process that started it, each as (pid, start time)."""

    pid: int
    start: int
    parent: int
    parent_start: int


def register(pid: int, directory: Path | None = None) -> Path:
    """Record a just-started child of this process; returns the record's path (OSError if not)."""
    folder = private_dir(directory or run_dir())
    child_start, own_start = start_time(pid), start_time(os.getpid())
    if child_start is None or own_start is None:
        raise OSError(f"no start time for process {pid} or {os.getpid()}")
    record = ChildRecord(pid, child_start, os.getpid(), own_start)
    path = folder / f"{pid}.json"
    temporary = folder / f".{pid}.json.tmp"
    temporary.write_text(json.dumps(asdict(record)), encoding="ascii")
    temporary.replace(path)  # a reaper never reads half a record
    return path


def forget(path: Path | None) -> None:
    """Remove a child's record once the child is dead and waited for."""
    if path is not None:
        path.unlink(missing_ok=True)


def _is_sandbox_child(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return CHILD_MODULE.encode() in argv


def _read(path: Path) -> ChildRecord | None:
    try:
        return ChildRecord(**json.loads(path.read_text(encoding="ascii")))
    except (OSError, ValueError, TypeError):
        return None


def _kill_if_still(record: ChildRecord) -> bool:
    """SIGKILL the recorded child if it still is that process; True if it was killed."""
    try:
        pidfd = os.pidfd_open(record.pid)
    except OSError:
        return False  # already gone
    try:
        # Checked after opening the pidfd: the fd pins this process, so a pid reused after the
        # checks cannot receive the signal.
        if start_time(record.pid) != record.start or not _is_sandbox_child(record.pid):
            return False
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(pidfd)


def reap_orphans(directory: Path | None = None) -> list[int]:
    """Kill the sandbox children whose parent is gone; returns their pids.

    Records of children whose parent still runs (another worker on this host) are left alone;
    records of dead or unrelated processes are removed without signalling anything.
    """
    folder = private_dir(directory or run_dir())
    killed = []
    for path in sorted(folder.glob("*.json")):
        record = _read(path)
        if record is not None and start_time(record.parent) == record.parent_start:
            continue  # its parent is alive and will clean up after itself
        if record is not None and _kill_if_still(record):
            killed.append(record.pid)
        path.unlink(missing_ok=True)
    return killed
