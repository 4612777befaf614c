"""The worker's side of the sandbox: spawn, feed, watch and kill the model's child process.

Every submitted model runs in its own child (``python -I -m gir_core.sandbox.child``) with a
scrubbed environment, an empty working directory and no inherited file descriptors; it receives
the model bytes and degraded inputs over a pipe and nothing else. The parent enforces wall-clock
limits and watches memory; any violation kills the child's whole process group and surfaces as a
typed :class:`~gir_core.errors.ModelError`, while the parent stays healthy for the next model.
The child dies with its parent, even by ``kill -9`` (see :mod:`gir_core.sandbox.lifeline`).
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ModelCrashError, ModelError, SandboxLimitError, SandboxViolationError
from gir_core.runners import RunOptions
from gir_core.runners.base import ModelInfo
from gir_core.sandbox import lifeline
from gir_core.sandbox.confine import ResourceLimits
from gir_core.sandbox.errors_map import to_exception
from gir_core.sandbox.protocol import Frame, ProtocolError, array_frame, read_frame, write_frame

_ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH")
_LOG_BYTES = 64 * 1024
_SIGNALS = {
    signal.SIGXCPU: (SandboxLimitError, "the model used up its CPU-time limit"),
    signal.SIGXFSZ: (
        SandboxViolationError,
        "the model tried to write a file, which is not allowed",
    ),
    signal.SIGSEGV: (ModelCrashError, "the model's process crashed (segmentation fault)"),
    signal.SIGABRT: (ModelCrashError, "the model's process aborted"),
}


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one model: memory (MiB), times (s), thread/process cap, model size (MiB)."""

    memory_mb: int = 4096
    cpu_seconds: int = 3600
    load_seconds: float = 120.0
    image_seconds: float = 60.0
    total_seconds: float = 3600.0
    processes: int = 512
    max_model_mb: int = 2048
    drop_root: bool = True
    # RLIMIT_AS/DATA break CUDA's huge address reservations: GPU hosts turn them off and rely on
    # the parent's RSS watchdog alone.
    kernel_memory_limits: bool = True

    def child_limits(self) -> ResourceLimits:
        """The rlimits the child sets on itself."""
        memory = (self.memory_mb << 20) if self.kernel_memory_limits else 0
        return ResourceLimits(
            address_space=memory,
            data=memory,
            cpu_seconds=self.cpu_seconds,
            processes=self.processes,
        )


def scrubbed_env() -> dict[str, str]:
    """Only what a runtime needs: no secrets, no database or broker URLs, no HOME."""
    env = {key: os.environ[key] for key in _ENV_PASSTHROUGH if key in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    # One thread at import: unshare(CLONE_NEWUSER) refuses a multi-threaded process, and
    # OpenBLAS starts its pool when numpy is imported. The runner sets the model's own thread
    # count through the runtime's API afterwards (torch.set_num_threads, ORT intra-op threads).
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[key] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class SandboxedModel:
    """A submitted model running in its own confined child process.

    Usage::

        with SandboxedModel(Path("model.onnx")) as model:
            restored = model.run(degraded)  # H×W×3 float32 in, H×W×3 float32 out
    """

    def __init__(
        self,
        model: Path | bytes,
        options: RunOptions | None = None,
        limits: SandboxLimits | None = None,
    ) -> None:
        self.options = options or RunOptions()
        self.limits = limits or SandboxLimits()
        self._data = model if isinstance(model, bytes) else Path(model).read_bytes()
        if len(self._data) > self.limits.max_model_mb << 20:
            raise SandboxLimitError(
                f"the model file is {len(self._data) / 2**20:.0f} MiB, over the limit of "
                f"{self.limits.max_model_mb} MiB"
            )
        self._process: subprocess.Popen[bytes] | None = None
        self._record: Path | None = None
        self._workdir: str | None = None
        self._log: collections.deque[bytes] = collections.deque()
        self._log_size = 0
        self._killed_for: ModelError | None = None
        self._deadline_total = 0.0
        self.info: ModelInfo | None = None
        self.protections: dict[str, str] = {}
        self.missing: dict[str, str] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> SandboxedModel:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> ModelInfo:
        """Spawn the child, send the model, wait until it is loaded; return what it reports.

        On any failure the child is killed before the error propagates.
        """
        try:
            return self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> ModelInfo:
        self._workdir = tempfile.mkdtemp(prefix="gir-sandbox-")
        os.chmod(self._workdir, 0o755)
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-m", lifeline.CHILD_MODULE, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self._workdir,
            env=scrubbed_env(),
            start_new_session=True,
            close_fds=True,
        )
        self._deadline_total = time.monotonic() + self.limits.total_seconds
        reaping = self._register(self._process.pid)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        threading.Thread(target=self._watch_memory, daemon=True).start()
        header = {
            "kind": "start",
            "options": asdict(self.options),
            "limits": asdict(self.limits.child_limits()),
            "drop_root": self.limits.drop_root,
        }
        reply = self._exchange(Frame(header, self._data), self.limits.load_seconds, "loading")
        self.info = ModelInfo.from_json(reply.header["info"])
        self.protections = dict(reply.header.get("protections", {}))
        self.missing = dict(reply.header.get("missing", {}))
        if reaping:
            self.missing["orphan records (reaping after a crash)"] = reaping
        return self.info

    def _register(self, pid: int) -> str:
        """Record the child for :func:`lifeline.reap_orphans`; the reason if that is impossible."""
        try:
            self._record = lifeline.register(pid)
        except OSError as error:
            return f"no record of the child in {lifeline.run_dir()}: {error}"
        return ""

    def close(self) -> None:
        """Ask the child to exit, kill it if it does not, remove its working directory."""
        process, self._process = self._process, None
        if process is not None:
            try:
                if process.poll() is None and process.stdin is not None:
                    write_frame(process.stdin.fileno(), Frame({"kind": "close"}))
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._kill(process)
            lifeline.forget(self._record)
            self._record = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @property
    def log(self) -> str:
        """The child's stderr (last 64 KiB): for the owner's failure log, never for others."""
        return b"".join(self._log).decode("utf-8", errors="replace")

    # -- inference -----------------------------------------------------------------------

    def run(self, image: NDArray[np.float32]) -> NDArray[np.float32]:
        """Restore one H×W×3 float32 image; returns the model's raw H×W×3 float32 output."""
        output, _ = self.run_timed(image)
        return output

    def run_timed(self, image: NDArray[np.float32]) -> tuple[NDArray[np.float32], float]:
        """Like :meth:`run`, also returning the child's inference seconds."""
        height, width = image.shape[:2]
        what = f"a {width}×{height} input"
        reply = self._exchange(
            array_frame("run", image.astype(np.float32)), self.limits.image_seconds, what
        )
        output = reply.array()
        if output.shape != image.shape or output.dtype != np.float32:
            raise ModelCrashError(f"the sandbox returned {output.shape} for {what}", reason="shape")
        return output, float(reply.header.get("seconds", 0.0))

    def probe(self, **checks: Any) -> dict[str, str]:
        """Ask the child to try attacks and report (see :func:`gir_core.sandbox.probes.run`).

        ``connect=(host, port)``, ``unix=path``, ``io_uring=True``, ``read=path``,
        ``write=path``, ``env=True``, ``pdeathsig=True``.
        """
        reply = self._exchange(Frame({"kind": "probe", **checks}), 10.0, "a probe")
        return dict(reply.header["results"])

    # -- internals -----------------------------------------------------------------------

    def _exchange(self, frame: Frame, seconds: float, what: str) -> Frame:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise ModelCrashError("the model's sandbox is not running")
        deadline = min(time.monotonic() + seconds, self._deadline_total)
        try:
            write_frame(process.stdin.fileno(), frame)
            reply = read_frame(
                process.stdout.fileno(),
                max_payload=max(len(frame.payload), 1 << 16),
                deadline=deadline,
            )
        except TimeoutError:
            self._kill(process)
            total = time.monotonic() >= self._deadline_total
            limit = (
                f"its total time limit of {self.limits.total_seconds:g} s"
                if total
                else (
                    f"the limit of {seconds:g} s while {what}"
                    if what == "loading"
                    else f"the limit of {seconds:g} s on {what}"
                )
            )
            raise SandboxLimitError(f"the model exceeded {limit}", reason="time") from None
        except (ProtocolError, OSError):
            raise self._death_error(process) from None
        if reply.header.get("kind") == "error":
            self._kill(process)
            header = reply.header
            raise to_exception(
                str(header.get("code")), str(header.get("message")), header.get("reason")
            )
        return reply

    def _death_error(self, process: subprocess.Popen[bytes]) -> ModelError:
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill(process)
            code = process.wait()
        if self._killed_for is not None:
            return self._killed_for
        if code < 0 and -code in _SIGNALS:
            cls, message = _SIGNALS[signal.Signals(-code)]
            return cls(message)
        if code == -signal.SIGKILL:
            return SandboxLimitError("the model's process was killed (memory or time limit)")
        return ModelCrashError(f"the model's process exited unexpectedly (code {code})")

    def _kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the child's process group, then wait for the child.

        The group is signalled even when the child has exited but is not yet waited for (its
        zombie keeps the group id from being reused); only a child already waited for is skipped.
        """
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _drain_stderr(self) -> None:
        process = self._process
        if process is None or process.stderr is None:
            return
        fd = process.stderr.fileno()
        for chunk in iter(lambda: os.read(fd, 4096), b""):
            self._log.append(chunk)
            self._log_size += len(chunk)
            while self._log_size > _LOG_BYTES and len(self._log) > 1:
                self._log_size -= len(self._log.popleft())

    def _watch_memory(self) -> None:
        process = self._process
        limit_kb = self.limits.memory_mb * 1024
        while process is not None and process.poll() is None:
            if _rss_kb(process.pid) > limit_kb:
                self._killed_for = SandboxLimitError(
                    f"the model used more than its memory limit of {self.limits.memory_mb} MiB",
                    reason="memory",
                )
                self._kill(process)
                return
            time.sleep(0.05)


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0
