"""The demo's running part: a local Celery worker and the API as child processes, progress of
the reference scoring, then the URLs, until Ctrl-C stops both children cleanly.

The worker is the production one on the embedded broker: one process with the ``validate`` and
``score`` queues, the solo pool (SQLite has one writer; one job at a time is what a small
machine can run anyway) and the embedded beat for the reconciler. The children get their own
session (process group), so Ctrl-C reaches only the demo, which then asks each child to stop
(SIGTERM: Celery's warm shutdown, uvicorn's graceful one) and waits for it; SIGTERM and SIGHUP
(a closed terminal) to the demo do the same (:func:`stop_signals`). Should the demo die without
that chance (SIGKILL), Linux sends each child SIGTERM itself (:data:`_ORPHAN_GUARD`), so no
worker or server outlives it. A job cut short is sent again by the next run
(:func:`resume_leftovers`) or, while serving, by the reconciler.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import IO

import httpx

from app.db import new_session, utcnow
from app.leaderboard.schemas import LeaderboardQuery
from app.leaderboard.service import leaderboard
from app.submissions import lifecycle
from app.submissions.models import Submission
from app.submissions.status import ACTIVE, Status

Say = Callable[[str], None]
STOP_SECONDS = 20.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
READY_SECONDS = 90.0
WORKER = ("-m", "celery", "-A", "worker.celery_app", "worker", "-Q", "validate,score",
          "--pool=solo", "-B", "--loglevel=INFO")  # fmt: skip


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass
class Child:
    """A child process and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]

    def alive(self) -> bool:
        """Whether it is still running."""
        return self.process.poll() is None


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` yet (a second demo, another server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


_ORPHAN_GUARD = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"  # PR_SET_PDEATHSIG, kept across exec
    "if os.getppid() != int(sys.argv[1]):\n    sys.exit(1)\n"  # the demo died before prctl
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])\n"
)
"""Run first in each child on Linux: ask the kernel for SIGTERM when the demo dies, then exec."""


def _command(args: list[str]) -> list[str]:
    if sys.platform.startswith("linux"):
        return [sys.executable, "-c", _ORPHAN_GUARD, str(os.getpid()), *args]
    return [sys.executable, *args]


def start(name: str, args: list[str], logs: Path) -> Child:
    """Start ``python args…`` in its own session with output appended to ``logs/name.log``."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    handle = log.open("ab")
    process = subprocess.Popen(
        _command(args),
        stdout=handle,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Child(name, process, log, handle)


def start_children(port: int, logs: Path) -> list[Child]:
    """The worker, then the API on 127.0.0.1:``port``."""
    api = ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)]
    api.append("--no-proxy-headers")  # app.proxies decides whom to believe (GIR_TRUSTED_PROXIES)
    return [start("worker", list(WORKER), logs), start("api", api, logs)]


def stop_children(children: list[Child], say: Say) -> None:
    """SIGTERM each running child, wait for it, SIGKILL what ignores that; close the logs."""
    for child in children:
        if child.alive():
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        try:
            child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
            say(f"{child.name} did not stop within {STOP_SECONDS:.0f} s and was killed")
        child.handle.close()


def check_children(children: list[Child]) -> None:
    """Raise DemoError naming a child that exited, with its log."""
    for child in children:
        if not child.alive():
            raise DemoError(
                f"the {child.name} exited with code {child.process.returncode}; see {child.log}"
            )


def wait_ready(url: str, children: list[Child]) -> None:
    """Wait until ``url``/readyz answers 200 (database, broker and storage usable)."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        check_children(children)
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise DemoError(f"the API did not become ready within {READY_SECONDS:.0f} s")


def resume_leftovers(say: Say) -> None:
    """Send again the jobs of submissions a previous demo left queued or running.

    Called before our worker starts, when no worker can be on them: the embedded broker drops a
    message once it is taken, so without this they would wait for the reconciler's staleness
    limit (minutes). Duplicates are harmless; claims are idempotent.
    """
    with new_session() as session:
        later = utcnow() + timedelta(days=1)  # every active submission counts as stale now
        actions = lifecycle.requeue_stale(session=session, now=later)
    if actions:
        say(f"re-sent {len(actions)} unfinished job(s) from the previous run")


def watch(submission_id: int, children: list[Child], say: Say, show: Say) -> str:
    """Follow one submission until it leaves the active states; its final status.

    Prints each change of status, and the task progress as it lands.
    """
    last = ""
    while True:
        check_children(children)
        with new_session() as session:
            submission = session.get(Submission, submission_id)
            if submission is None:
                raise DemoError(f"submission {submission_id} disappeared")
            status, done, total = (
                submission.status,
                submission.progress_done,
                submission.progress_total,
            )
            error = submission.error_message
        if status != last:
            say(f"identity model: {status}" + (f" ({error})" if error else ""))
            last = status
        if status not in ACTIVE:
            return status
        if status == Status.RUNNING:
            show(f"  identity model: {done}/{total} tasks scored")
        time.sleep(0.5)


def print_board(say: Say) -> None:
    """The active version's leaderboard, as the API serves it."""
    with new_session() as session:
        page = leaderboard(session=session, query=LeaderboardQuery())
    say(f"leaderboard of {page.version} ({page.total} rows):")
    say(f"  {'#':>2}  {'name':<34} {'AR':>6} {'ER':>6} {'PSNR':>7} {'SSIM':>6}")
    for row in page.items:
        say(
            f"  {row.rank:>2}  {row.name[:34]:<34} {row.ar:6.1%} {row.er:6.1%} "
            f"{row.mean_psnr:7.2f} {row.mean_ssim:6.3f}"
        )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP stop the demo as Ctrl-C does (children stopped cleanly)."""
    saved = {number: signal.signal(number, _interrupt) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def serve_until_interrupted(children: list[Child]) -> None:
    """Block until Ctrl-C (or a child dies, which raises DemoError)."""
    try:
        while True:
            check_children(children)
            time.sleep(1.0)
    except KeyboardInterrupt:
        return
