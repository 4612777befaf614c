"""``python -m app.demo`` (what ``make demo`` runs) and ``gir-admin demo``: bootstrap, serve,
stop on Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from sqlalchemy import select

from app.benchmarks.models import ImageSet
from app.db import new_session
from app.demo.run import DemoPlan, DemoState, Reporter, bootstrap, embedded_paths, reset
from app.demo.serve import (
    Child,
    DemoError,
    port_free,
    print_board,
    resume_leftovers,
    serve_until_interrupted,
    start_children,
    stop_children,
    stop_signals,
    wait_ready,
    watch,
)
from app.errors import ServiceError
from app.settings import get_settings

DEFAULT_PORT = 8000
EXIT_INTERRUPTED = 130


def demo_port() -> int:
    """``GIR_DEMO_PORT`` or 8000."""
    text = os.environ.get("GIR_DEMO_PORT", "").strip()
    if not text:
        return DEFAULT_PORT
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise DemoError(f"GIR_DEMO_PORT must be a port number, got {text!r}")
    return int(text)


def _where(report: Reporter) -> None:
    settings = get_settings()
    report.say(
        f"GIR Bench demo · database {settings.database_url} · broker {settings.broker_url} "
        f"({settings.broker_dir}) · storage {settings.storage_dir}"
    )


def _account(state: DemoState, plan: DemoPlan, report: Reporter) -> None:
    if state.password is not None:
        report.say(
            f"administrator {state.admin_email}, password {state.password} (shown this once; "
            f"also in {plan.credentials}, readable only by you)"
        )
    else:
        report.say(f"administrator {state.admin_email} (password in {plan.credentials})")


def _images(count: int) -> str:
    return f"{count} image" if count == 1 else f"{count} images"


def _real_world(report: Reporter) -> None:
    with new_session() as session:
        sets = list(session.scalars(select(ImageSet).where(ImageSet.role == "real")))
        found = [f"{s.name} ({s.label}, {_images(len(s.images))})" for s in sets]
    if found:
        report.say(f"real-world sets (scored by NIQE, no ground truth): {'; '.join(found)}")
    else:
        report.say("real-world sets: none (no package-shipped photo was found for one)")


def _serve(state: DemoState, plan: DemoPlan, port: int, report: Reporter) -> None:
    if not state.identity_new:
        resume_leftovers(report.say)
    url, logs = f"http://127.0.0.1:{port}", plan.folder / "logs"
    report.say(f"starting the worker and the API (their logs: {logs}/) …")
    with stop_signals():
        children = start_children(port, logs)
        _watch_and_wait(state, children, url, report)


def _watch_and_wait(state: DemoState, children: list[Child], url: str, report: Reporter) -> None:
    try:
        wait_ready(url, children)
        report.say(f"ready: open {url}/ in a browser (sign in with var/demo-credentials.txt)")
        watch(state.identity_id, children, report.say, report.show)
        print_board(report.say)
        report.say(f"leaderboard: {url}/   tasks: {url}/tasks   submit: {url}/submit")
        report.say(f"API:         {url}/api/v1/leaderboard   docs: {url}/docs")
        report.say("running; press Ctrl-C to stop")
        serve_until_interrupted(children)
    finally:
        report.say("stopping the worker and the API …")
        stop_children(children, report.say)
        report.say("stopped")


def run_demo(plan: DemoPlan, *, serve: bool = True, port: int | None = None) -> int:
    """Bootstrap the demo and, with ``serve``, run it until Ctrl-C; the exit code."""
    report = Reporter()
    logging.basicConfig(level=logging.WARNING, format="[warning] %(message)s")
    logging.getLogger("kombu").setLevel(logging.ERROR)  # filesystem transport: "no hostname"
    try:
        port = port or demo_port()
        if port != DEFAULT_PORT:  # URLs in API answers name the port the demo serves on
            os.environ.setdefault("GIR_PUBLIC_URL", f"http://127.0.0.1:{port}")
            get_settings.cache_clear()
        if serve and not port_free(port):
            raise DemoError(
                f"something already listens on 127.0.0.1:{port} (another demo?); stop it or "
                "choose another port with GIR_DEMO_PORT"
            )
        _where(report)
        state = bootstrap(plan, report)
        _account(state, plan, report)
        _real_world(report)
        report.say(f"benchmark ready in {state.seconds:.1f} s ({state.trained} tasks trained now)")
        if serve:
            _serve(state, plan, port, report)
    except (DemoError, ServiceError) as error:
        report.say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        report.say("interrupted; run it again to continue where it stopped")
        return EXIT_INTERRUPTED
    return 0


def _confirm_reset(yes: bool) -> bool:
    paths = ", ".join(str(path) for path in embedded_paths())
    if yes:
        return True
    try:
        answer = input(f"delete {paths} (database, broker, storage, demo files)? [y/N] ")
    except EOFError:  # no terminal to ask (e.g. a script): only --yes deletes
        return False
    return answer.strip().lower() in ("y", "yes")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the demo."""
    parser = argparse.ArgumentParser(
        prog="python -m app.demo",
        description="GIR Bench on SQLite with a local worker and the demo benchmark.",
    )
    parser.add_argument("--no-serve", action="store_true", help="bootstrap only, then exit")
    parser.add_argument("--reset", action="store_true", help="delete var/ first (asks)")
    parser.add_argument("--yes", action="store_true", help="do not ask before --reset")
    parser.add_argument("--port", type=int, help="API port (default: GIR_DEMO_PORT or 8000)")
    args = parser.parse_args(argv)
    if args.reset:
        try:
            if not _confirm_reset(args.yes):
                print("nothing deleted")
                return 1
            removed = reset()
        except ServiceError as error:
            print(f"error: {error.message}")
            return 2
        print(f"deleted {', '.join(map(str, removed)) or 'nothing (no state yet)'}")
    return run_demo(DemoPlan(), serve=not args.no_serve, port=args.port)
