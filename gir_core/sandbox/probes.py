"""Harness self-tests run inside the confined child: try what a hostile model would, report.

The parent sends ``probe`` frames (see :meth:`SandboxedModel.probe`) after the model is loaded,
so every probe runs under exactly the confinement model code runs under. Each result is
"succeeded" or "failed: <reason>"; tests and ``gir check`` assert on them. Never reachable by a
submitted model: only the parent can send a frame.
"""

from __future__ import annotations

import ctypes
import os
import socket
from collections.abc import Callable
from typing import Any

_SYS_IO_URING_SETUP = 425  # the same number on x86_64 and aarch64
_IO_URING_PARAMS_BYTES = 120
_PR_GET_PDEATHSIG = 2
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _attempt(action: Callable[[], None]) -> str:
    try:
        action()
    except OSError as error:
        return f"failed: {error}"
    return "succeeded"


def _connect(host: str, port: int) -> None:
    with socket.create_connection((host, port), timeout=2):
        pass


def _connect_unix(path: str) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.settimeout(2)
        unix.connect(path)


def _io_uring() -> None:
    """io_uring_setup(4 entries) through ctypes, as native code in a model would call it."""
    params = ctypes.create_string_buffer(_IO_URING_PARAMS_BYTES)
    fd = _libc.syscall(_SYS_IO_URING_SETUP, 4, params)
    if fd < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    os.close(fd)


def _open(path: str, mode: str) -> None:
    with open(path, mode) as handle:
        handle.read(1) if mode == "r" else handle.write("x")


def pdeath_signal() -> int:
    """The signal this process gets when its parent dies (0: none)."""
    signal = ctypes.c_int(0)
    _libc.prctl(_PR_GET_PDEATHSIG, ctypes.byref(signal), 0, 0, 0)
    return signal.value


def run(header: dict[str, Any]) -> dict[str, str]:
    """Run the probes ``header`` asks for: connect, unix, io_uring, read, write, env, pdeathsig."""
    results: dict[str, str] = {}
    if header.get("connect"):
        host, port = header["connect"]
        results["connect"] = _attempt(lambda: _connect(str(host), int(port)))
    if header.get("unix"):
        results["unix"] = _attempt(lambda: _connect_unix(str(header["unix"])))
    if header.get("io_uring"):
        results["io_uring"] = _attempt(_io_uring)
    if header.get("read"):
        results["read"] = _attempt(lambda: _open(str(header["read"]), "r"))
    if header.get("write"):
        results["write"] = _attempt(lambda: _open(str(header["write"]), "w"))
    if header.get("env"):
        results["env"] = ",".join(sorted(os.environ))
    if header.get("pdeathsig"):
        results["pdeathsig"] = str(pdeath_signal())
    return results
