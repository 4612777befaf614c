"""Benchmark: the leaderboard API against ``/healthz`` under load, and a 1 GiB streamed upload.

Seeds a dedicated PostgreSQL database (created here, dropped afterwards) with users, a benchmark
version of 100 tasks (50 hidden) and 1,000 scored submissions with a summary and 100 per-task
results each, runs the API under uvicorn in a subprocess on a free loopback port, and drives it
with a small asyncio httpx load generator (bounded concurrency, bounded time and request count).
``/healthz`` does no work, so it is the baseline measured in the same run: the ratio
leaderboard req/s ÷ healthz req/s says what the board costs beyond the framework itself
(target ≥ 0.5, leaderboard p99 < 100 ms). Then it streams a 1 GiB model (a valid ONNX prefix,
generated on the fly) to ``POST /api/v1/submissions`` and prints the server's RSS growth from
``/proc/<pid>/status`` (target < 64 MiB: the upload must stream, never buffer); the stored file
is deleted afterwards.

    .venv/bin/python bench/api.py [--seconds 10] [--concurrency 8] [--upload-mib 1024]

The load generator shares the machine's cores with the server, so absolute numbers understate
a real deployment; the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from api_seed import (  # a sibling: bench/ is sys.path[0] when run
    ROOT,
    add_seed_arguments,
    seeded_database,
)

BOARD, HEALTH, UPLOAD = "/api/v1/leaderboard", "/healthz", "/api/v1/submissions"
CHUNK = 1 << 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def api_server(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """uvicorn (one process, as a single API replica runs) on a free loopback port."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + HEALTH, timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API did not start (see its output above)")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Load:
    """Throughput and latency of one endpoint under a fixed concurrency."""

    path: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_s: float

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        """Latency at quantile ``q`` (nearest rank), in milliseconds."""
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)]

    def line(self) -> str:
        """One report line."""
        return (
            f"{self.path:<22} {self.rate:8.1f} req/s   p50 {self.percentile(0.50):6.1f} ms   "
            f"p99 {self.percentile(0.99):6.1f} ms   server CPU "
            f"{1000 * self.server_cpu_s / self.requests:5.2f} ms/req   ({self.requests} requests)"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _drive(
    client: httpx.AsyncClient, path: str, pid: int, concurrency: int, seconds: float, cap: int
) -> Load:
    """``concurrency`` loops each sending one request at a time until time or count runs out."""
    latencies: list[float] = []
    cpu = cpu_seconds(pid)
    start = time.perf_counter()
    deadline = start + seconds

    async def loop() -> None:
        while time.perf_counter() < deadline and len(latencies) < cap:
            sent = time.perf_counter()
            response = await client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
            latencies.append((time.perf_counter() - sent) * 1000)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return Load(path, len(latencies), elapsed, latencies, cpu_seconds(pid) - cpu)


async def measure(base: str, pid: int, *, concurrency: int, seconds: float, cap: int) -> list[Load]:
    """Warm both endpoints up, then measure healthz and the board alternately (two rounds
    each, merged), so drift in the machine's load hits both alike."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for path in (HEALTH, BOARD):
            await _drive(client, path, pid, concurrency, 1.0, 200)
        runs: dict[str, list[Load]] = {HEALTH: [], BOARD: []}
        for _ in range(2):
            for path in (HEALTH, BOARD):
                run = await _drive(client, path, pid, concurrency, seconds / 2, cap // 2)
                runs[path].append(run)
    return [
        Load(
            path,
            sum(run.requests for run in loads),
            sum(run.seconds for run in loads),
            [ms for run in loads for ms in run.latencies_ms],
            sum(run.server_cpu_s for run in loads),
        )
        for path, loads in runs.items()
    ]


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from ``/proc/<pid>/status``."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


class RssSampler(threading.Thread):
    """Samples the server's RSS every 20 ms: VmHWM alone may already hold an earlier peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib = pid, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kib = max(self.peak_kib, memory_kib(self.pid)["VmRSS"])
            self._stop_event.wait(0.02)

    def stop(self) -> int:
        """Stop sampling; the highest RSS seen, KiB."""
        self._stop_event.set()
        self.join()
        return self.peak_kib


def onnx_head(size: int) -> bytes:
    """The start of an ONNX ModelProto: ir_version 9, then a ``graph`` field as long as the rest
    of the file — what the upload sniff checks on a file larger than its head buffer."""
    head = bytearray(b"\x08\x09\x3a")
    value = size - len(head) - 5  # a 5-byte varint holds any length under 2**35
    for index in range(5):
        head.append((value & 0x7F) | (0x80 if index < 4 else 0))
        value >>= 7
    return bytes(head)


def _envelope(boundary: str) -> tuple[bytes, bytes]:
    """The multipart bytes before and after the file's content (a name field, then the file)."""
    before = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
        f"bench upload\r\n--{boundary}\r\nContent-Disposition: form-data; "
        f'name="file"; filename="big.onnx"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    return before.encode(), f"\r\n--{boundary}--\r\n".encode()


async def _multipart(size: int, boundary: str) -> AsyncIterator[bytes]:
    """The multipart body, generated chunk by chunk: a 1 GiB file never sits in memory."""
    before, after = _envelope(boundary)
    head = onnx_head(size)
    yield before + head
    zeros, left = bytes(CHUNK), size - len(head)
    while left > 0:
        yield zeros[: min(CHUNK, left)]
        left -= CHUNK
    yield after


async def upload(base: str, token: str, size: int) -> tuple[int, float, dict[str, object]]:
    """Stream a ``size``-byte model to the API: (status, seconds, response body)."""
    boundary = "gir-bench-" + os.urandom(8).hex()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(sum(map(len, _envelope(boundary))) + size),
    }
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        response = await client.post(UPLOAD, content=_multipart(size, boundary), headers=headers)
    return response.status_code, time.perf_counter() - start, response.json()


def cold_renders(base: str, count: int = 40) -> None:
    """What a cache miss costs: one request at a time, each for a page not rendered before
    (a new offset), so every one runs the ranked board query over all submissions."""
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for offset in range(count):
            start = time.perf_counter()
            response = client.get(BOARD, params={"limit": 50, "offset": 500 + offset})
            response.raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
    print(
        f"  uncached render (cache miss), sequential: median {statistics.median(latencies):.1f} "
        f"ms, max {max(latencies):.1f} ms over {count} new pages"
    )


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report_load(loads: list[Load], concurrency: int) -> None:
    """Both endpoints, the ratio and the verdicts against the targets."""
    health, board = loads
    print(f"\nload: {concurrency} concurrent connections, keep-alive, loopback")
    for load in loads:
        print("  " + load.line())
    ratio = board.rate / health.rate
    p99 = board.percentile(0.99)
    print(f"  ratio leaderboard/healthz = {ratio:.2f}   (target >= 0.5: {_verdict(ratio >= 0.5)})")
    print(f"  leaderboard p99 = {p99:.1f} ms   (target < 100 ms: {_verdict(p99 < 100)})")


def run_upload(base: str, pid: int, token: str, mib: int, storage: Path) -> None:
    """Stream the big upload, print the server's memory growth, delete the stored file."""
    before = memory_kib(pid)
    sampler = RssSampler(pid)
    sampler.start()
    status, seconds, body = asyncio.run(upload(base, token, mib << 20))
    peak = sampler.stop()
    after = memory_kib(pid)
    growth = (max(peak, after["VmRSS"]) - before["VmRSS"]) / 1024
    print(
        f"\nupload: {mib} MiB streamed in {seconds:.1f} s ({mib / seconds:.0f} MiB/s) -> {status}"
    )
    if status != 202:
        raise RuntimeError(f"the upload was refused: {body}")
    print(
        f"  server VmRSS: before {before['VmRSS'] / 1024:.1f} MiB, peak during "
        f"{peak / 1024:.1f} MiB, after {after['VmRSS'] / 1024:.1f} MiB"
    )
    print(
        f"  server VmHWM: before {before['VmHWM'] / 1024:.1f} MiB, "
        f"after {after['VmHWM'] / 1024:.1f} MiB"
    )
    print(f"  RSS growth = {growth:.1f} MiB   (target < 64 MiB: {_verdict(growth < 64)})")
    stored = list((storage / "submissions").rglob("*.onnx"))
    for path in stored:
        print(f"  deleting {path.name} ({path.stat().st_size / 2**20:.0f} MiB)")
        path.unlink()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_seed_arguments(parser)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0, help="per endpoint")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per endpoint")
    parser.add_argument("--upload-mib", type=int, default=1024, help="0 skips the upload")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    with seeded_database("api", args) as (url, scratch, seeded):
        env = {
            "GIR_ENVIRONMENT": "production",
            "GIR_SECRET_KEY": os.urandom(32).hex(),
            "GIR_DATABASE_URL": url,
            "GIR_BROKER_URL": "filesystem://",
            "GIR_BROKER_DIR": str(scratch / "broker"),
            "GIR_STORAGE_DIR": str(scratch / "storage"),
            "GIR_MAX_UPLOAD_MB": str(max(args.upload_mib + 64, 1024)),
        }
        with api_server(env) as (base, pid):
            loads = asyncio.run(
                measure(
                    base,
                    pid,
                    concurrency=args.concurrency,
                    seconds=args.seconds,
                    cap=args.max_requests,
                )
            )
            report_load(loads, args.concurrency)
            cold_renders(base)
            if args.upload_mib:
                run_upload(base, pid, seeded.admin_token, args.upload_mib, scratch / "storage")


if __name__ == "__main__":
    main()
