"""Benchmark: server-side render time of the pages against the JSON endpoints they draw from.

Seeds a dedicated PostgreSQL database with ``api_seed`` (1,000 scored submissions, 100 tasks of
which 50 hidden, 100,000 per-task results; created here, dropped afterwards), then requests every
page in this one process through ``fastapi.testclient.TestClient`` — no server process and no
network, so a request's time is the application's own (routing, queries, charts, Jinja2) plus
the test client's small constant overhead, which the baseline pays too. Each page's baseline is
the JSON endpoint serving the same data, measured in the same run:

    /                                  /api/v1/leaderboard
    /?sort=mean_psnr&q=Restorer-01     /api/v1/leaderboard?sort=mean_psnr&q=Restorer-01
    /submissions/{id}                  /api/v1/submissions/{id}/results
    /compare?a={id}&b={id2}            /api/v1/submissions/{id}/results
    /tasks                             /api/v1/tasks

Every URL is warmed up, then requested in interleaved rounds (drift in the machine's load hits
all alike); the table shows the median and p95, the ratio of the page's median to its baseline's,
and — for the leaderboard and model pages — the verdict against issue 5's 200 ms (printed, not
asserted). The leaderboard is measured cold too: before each such request (untimed) a no-op
``UPDATE`` of one summary fires the board-state trigger as a newly scored submission does, so
the request renders the board again instead of reading ``app.leaderboard.cache``.

    .venv/bin/python bench/pages.py [--repeats 30] [--warmup 5] [--profile]

``--profile`` then shows where each page's time goes: cProfile of the endpoint (which FastAPI
runs in a worker thread) by cumulative time, in milliseconds per request.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastapi.routing
import psycopg
from api_seed import (  # a sibling: bench/ is sys.path[0] when run
    ROOT,
    add_seed_arguments,
    seeded_database,
)
from fastapi.testclient import TestClient

TARGET_MS = 200.0
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
THREADPOOL = "run_in_threadpool"
"""What ``fastapi.routing`` calls to run a sync endpoint; wrapped while profiling."""
BUMP = "UPDATE summaries SET mean_ssim = mean_ssim WHERE submission_id = %s"


@dataclass(frozen=True)
class Case:
    """One URL to time; ``baseline`` is the URL of its JSON counterpart (None for a baseline)."""

    url: str
    baseline: str | None = None
    target: bool = False
    cold: bool = False

    @property
    def label(self) -> str:
        """The URL as the table shows it."""
        return self.url + (" (cold)" if self.cold else "")

    @property
    def headers(self) -> dict[str, str]:
        """What a browser (pages) or an API client (JSON) sends."""
        return JSON if self.url.startswith("/api/") else HTML


def cases(a: int, b: int) -> list[Case]:
    """The pages and their baselines; ``a`` and ``b``: two scored submissions."""
    board, search = "/api/v1/leaderboard", "?sort=mean_psnr&q=Restorer-01"
    results, tasks = f"/api/v1/submissions/{a}/results", "/api/v1/tasks"
    return [
        Case(board),
        Case(board + search),
        Case(results),
        Case(tasks),
        Case("/", board, target=True),
        Case("/" + search, board + search, target=True),
        Case(f"/submissions/{a}", results, target=True),
        Case(f"/compare?a={a}&b={b}", results),
        Case("/tasks", tasks),
    ]


def cold_cases() -> list[Case]:
    """The leaderboard page and its JSON baseline, each right after a board change."""
    board = "/api/v1/leaderboard"
    return [Case(board, cold=True), Case("/", board, target=True, cold=True)]


class Bench:
    """The in-process client, and a way to change the board (for cold requests)."""

    def __init__(self, client: TestClient, url: str, bump_id: int) -> None:
        self.client = client
        self._changes = psycopg.connect(url, autocommit=True)
        self._bump_id = bump_id

    def close(self) -> None:
        """Close the connection that changes the board."""
        self._changes.close()

    def fetch(self, case: Case) -> tuple[float, str]:
        """One request (after a board change if cold): milliseconds and the body."""
        if case.cold:
            self._changes.execute(BUMP, (self._bump_id,))
        start = time.perf_counter()
        response = self.client.get(case.url, headers=case.headers)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {case.url}: {response.status_code} {response.text[:300]}")
        return elapsed, response.text

    def measure(self, group: list[Case], *, warmup: int, repeats: int) -> dict[Case, list[float]]:
        """Warm every URL up, then time them in ``repeats`` interleaved rounds."""
        for case in group:
            for _ in range(warmup):
                self.fetch(case)
        times: dict[Case, list[float]] = {case: [] for case in group}
        for _ in range(repeats):
            for case in group:
                times[case].append(self.fetch(case)[0])
        return times


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank quantile."""
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def report(times: dict[Case, list[float]]) -> None:
    """Print the table: median, p95, ratio to the baseline's median, verdict if targeted."""
    medians = {(case.url, case.cold): statistics.median(ms) for case, ms in times.items()}
    print(f"\n{'URL':<52} {'median ms':>9} {'p95 ms':>8} {'× JSON':>7}  < 200 ms")
    for case, ms in times.items():
        median = medians[(case.url, case.cold)]
        base = medians.get((case.baseline, case.cold)) if case.baseline else None
        ratio = f"{median / base:7.1f}" if base else f"{'–':>7}"
        verdict = ("PASS" if median < TARGET_MS else "FAIL") if case.target else "–"
        print(f"{case.label:<52} {median:9.1f} {percentile(ms, 0.95):8.1f} {ratio}  {verdict}")


def check(bench: Bench, a: int, expected: int) -> None:
    """The figures mean something only if the model page draws what a real one does."""
    tasks = bench.client.get(f"/api/v1/submissions/{a}/results").json()["tasks"]
    page = bench.fetch(Case(f"/submissions/{a}"))[1]
    if len(tasks) != expected or 'id="chart-degradation-bias"' not in page or "bias-empty" in page:
        raise RuntimeError(f"submission {a}: {len(tasks)} task results, or no bias chart drawn")


@contextlib.contextmanager
def profiled_endpoints(profiler: cProfile.Profile) -> Iterator[None]:
    """Profile what FastAPI runs in its thread pool (sync endpoints and their rendering):
    cProfile sees only the thread that enables it, and that is not the client's."""
    original = getattr(fastapi.routing, THREADPOOL)

    async def run(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            profiler.enable()
            try:
                return func(*args, **kwargs)
            finally:
                profiler.disable()

        return await original(call)

    setattr(fastapi.routing, THREADPOOL, run)
    try:
        yield
    finally:
        setattr(fastapi.routing, THREADPOOL, original)


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    for prefix in (str(ROOT) + "/", "site-packages/"):
        path = path.split(prefix, 1)[-1]
    return f"{path}:{line}({name})" if line else name


def profile(bench: Bench, case: Case, requests: int = 10, top: int = 25) -> None:
    """Where the endpoint's time goes, per request, by cumulative time."""
    profiler = cProfile.Profile()
    with profiled_endpoints(profiler):
        for _ in range(requests):
            bench.fetch(case)
    entries: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    ordered = sorted(entries.items(), key=lambda item: item[1][3], reverse=True)
    print(f"\nprofile of {case.label}, {requests} requests: ms per request")
    print(f"{'cumulative':>10} {'own':>8} {'calls':>8}  function")
    for key, (_, calls, own, cumulative, _) in ordered[:top]:
        print(
            f"{1000 * cumulative / requests:10.1f} {1000 * own / requests:8.1f} "
            f"{calls / requests:8.0f}  {_where(key)}"
        )


def configure(url: str, scratch: Path) -> None:
    """Point this process's settings at the seeded database (read once, so caches go)."""
    os.environ.update(
        GIR_ENVIRONMENT="production",
        GIR_SECRET_KEY=os.urandom(32).hex(),
        GIR_DATABASE_URL=url,
        GIR_BROKER_URL="filesystem://",
        GIR_BROKER_DIR=str(scratch / "broker"),
        GIR_STORAGE_DIR=str(scratch / "storage"),
    )
    from app.db import get_engine
    from app.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()


def run(url: str, args: argparse.Namespace) -> None:
    """Time every page and baseline, print the table, profile slow pages if asked."""
    from app.main import create_app

    with TestClient(create_app()) as client:
        items = client.get("/api/v1/leaderboard", params={"baselines": "false"}).json()["items"]
        a, b = items[0]["id"], items[1]["id"]
        bench = Bench(client, url.replace("postgresql+psycopg://", "postgresql://"), a)
        try:
            check(bench, a, args.tasks)
            times = bench.measure(cases(a, b), warmup=args.warmup, repeats=args.repeats)
            times |= bench.measure(cold_cases(), warmup=args.warmup, repeats=args.repeats)
            report(times)
            for case in [case for case in times if case.baseline] if args.profile else []:
                profile(bench, case)
        finally:
            bench.close()
    from app.db import get_engine

    get_engine().dispose()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_seed_arguments(parser)
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per URL")
    parser.add_argument("--repeats", type=int, default=30, help="timed requests per URL")
    parser.add_argument("--profile", action="store_true", help="then profile each page")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    with seeded_database("pages", args) as (url, scratch, _):
        configure(url, scratch)
        run(url, args)


if __name__ == "__main__":
    main()
