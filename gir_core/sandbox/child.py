"""Entry point of the model's child process (``python -I -m gir_core.sandbox.child``).

It first arranges to die with its parent (the worker's pid is its one argument), then receives
the model bytes on stdin, confines itself (see :mod:`gir_core.sandbox.confine`), loads the
model, then answers ``run`` frames with outputs until ``close``. Its stdout is the
protocol channel only: anything the model prints is redirected to stderr, which the parent keeps
as the submission's log.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import replace
from typing import Any

from gir_core.errors import ModelError
from gir_core.runners import RunOptions, load_runner, restore, sniff
from gir_core.runners.base import Runner
from gir_core.sandbox import lifeline, probes
from gir_core.sandbox.confine import (
    Protections,
    ResourceLimits,
    drop_root,
    filter_syscalls,
    isolate_network,
    restrict_files,
    set_limits,
)
from gir_core.sandbox.errors_map import classify
from gir_core.sandbox.protocol import Frame, array_frame, read_frame, write_frame

MAX_MODEL_BYTES = 4 << 30
MAX_IMAGE_BYTES = 1 << 30


def _confine(header: dict[str, Any], parent: int) -> tuple[Protections, ResourceLimits]:
    protections = Protections()
    limits = ResourceLimits(**header["limits"])
    if header.get("drop_root", True):
        drop_root(protections)
    if not protections.active.get("unprivileged user", "").startswith("dropped root"):
        # RLIMIT_NPROC counts every process of the uid: only safe for our dedicated nobody.
        limits = replace(limits, processes=0)
        protections.add(
            "processes (RLIMIT_NPROC)", False, "not set: the uid is shared (seccomp still applies)"
        )
    isolate_network(protections)
    restrict_files(protections)
    # Changing uid cleared the parent-death signal: ask again before any model code runs.
    lifeline.die_with_parent(parent)
    protections.add("dies with the worker", True, "PR_SET_PDEATHSIG=SIGKILL, own process group")
    return protections, limits


def _load(data: bytes, options: RunOptions, limits: ResourceLimits, prot: Protections) -> Runner:
    fmt = sniff(data)
    if fmt == "onnx":
        import onnxruntime  # noqa: F401  (imported before the memory limit: it maps a lot)
    else:
        import torch  # noqa: F401
    filter_syscalls(prot)
    set_limits(limits, prot)
    return load_runner(data, options, fmt)


def _serve(runner: Runner, options: RunOptions, in_fd: int, out_fd: int) -> None:
    while True:
        frame = read_frame(in_fd, max_payload=MAX_IMAGE_BYTES)
        kind = frame.header.get("kind")
        if kind == "close":
            return
        if kind == "probe":
            write_frame(out_fd, Frame({"kind": "probe", "results": probes.run(frame.header)}))
            continue
        started = time.perf_counter()
        output = restore(runner, frame.array(), options)
        elapsed = time.perf_counter() - started
        write_frame(out_fd, array_frame("output", output, seconds=elapsed))


def main() -> int:
    """Run the child protocol; exit code 0 after ``close``, 3 after a reported error."""
    parent = int(sys.argv[1])
    lifeline.die_with_parent(parent)
    out_fd = os.dup(1)
    os.dup2(2, 1)  # model prints go to the log, never into the protocol
    in_fd = 0
    try:
        start = read_frame(in_fd, max_payload=MAX_MODEL_BYTES)
        options = RunOptions(**start.header["options"])
        protections, limits = _confine(start.header, parent)
        runner = _load(start.payload, options, limits, protections)
        ready = {"kind": "ready", "info": runner.info.to_json()}
        ready |= {"protections": protections.active, "missing": protections.missing}
        write_frame(out_fd, Frame(ready))
        _serve(runner, options, in_fd, out_fd)
        return 0
    except BaseException as error:  # every failure becomes a typed frame for the parent
        code, message, reason = classify(error)
        print(f"sandbox child: {type(error).__name__}: {error}", file=sys.stderr)
        error_frame = {"kind": "error", "code": code, "message": message, "reason": reason}
        with contextlib.suppress(OSError):
            write_frame(out_fd, Frame(error_frame))
        return 3


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["ModelError", "main"]
