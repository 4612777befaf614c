"""`gir submit/status/results/leaderboard` end to end: the real `gir` executable against the
app served by uvicorn, a real Celery worker, PostgreSQL and Redis (issue 14's acceptance).

The test benchmark (``tests/support/stack.py``) makes the identity model's scores known in
advance: AR = 3/4 and ER = 1/4 over three public tasks and one hidden task.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.factories import Rows
from tests.support.stack import (
    BIN,
    ServiceProcess,
    api_server_args,
    free_port,
    start_process,
    wait_ready,
)
from tests.worker.conftest import Bench, WorkerProcess, onnx_model, slow_model

CLI_TIMEOUT_S = 180


@dataclass(frozen=True)
class Live:
    """The served API, an account's token, and where model files go."""

    url: str
    token: str
    folder: Path

    def gir(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run the installed `gir` with GIR_URL/GIR_TOKEN set, as a CI job would (no terminal)."""
        env = {
            **os.environ,
            "GIR_URL": self.url,
            "GIR_TOKEN": self.token if token is None else token,
        }
        return subprocess.run(
            [str(BIN / "gir"), *args], env=env, capture_output=True, text=True,
            timeout=CLI_TIMEOUT_S, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def model(self, name: str, data: bytes) -> str:
        path = self.folder / name
        path.write_bytes(data)
        return str(path)


@pytest.fixture
def serve(
    worker_env: dict[str, str], rows: Rows, bench: Bench, tmp_path: Path
) -> Iterator[Callable[..., Live]]:
    """Start uvicorn on a free port over the worker tests' database (``settings`` override
    the environment) with an account and its token; every server is killed afterwards."""
    servers: list[ServiceProcess] = []
    user = rows.user("CI", email="ci@example.org", password="a long password 123")
    token = rows.token_secret(user)

    def start(**settings: str) -> Live:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**worker_env, "GIR_PUBLIC_URL": url, **settings}
        log = tmp_path / f"server-{len(servers)}.log"
        servers.append(start_process(api_server_args(port), env=env, log=log))
        wait_ready(url, servers[-1:])
        return Live(url, token, tmp_path)

    yield start
    for server in servers:
        server.kill()


@pytest.fixture
def live(serve: Callable[..., Live]) -> Live:
    """The API with the default settings."""
    return serve()


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    body = json.loads(result.stdout)
    assert isinstance(body, dict)
    return body


def _fail(result: subprocess.CompletedProcess[str], *processes: ServiceProcess) -> str:
    logs = "\n".join(p.output()[-3000:] for p in processes)
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}\n{logs}"


def test_a_good_model_scores_and_a_threshold_it_misses_is_exit_3(
    live: Live, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker()
    model = live.model("identity.onnx", onnx_model("identity", "ci-identity"))
    first = live.gir("submit", model, "--name", "CI identity", "--wait", "--json", "--poll", "0.3")
    assert first.returncode == 0, _fail(first, worker)
    report = _json(first)
    assert (report["status"], report["existing"], report["exit_code"]) == ("scored", False, 0)
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert (summary["ar"], summary["er"]) == (0.75, 0.25)
    assert report["rank"] == {"rank": 1, "of": 1}
    assert report["url"] == f"{live.url}/submissions/{report['id']}"
    progress = first.stderr.splitlines()
    assert progress[:2] == ["checking the model contract locally …", progress[1]]
    assert progress[1].startswith("local check: OK (onnx, sha256 ")
    assert any(line.startswith("uploading identity.onnx [") for line in progress)
    assert any(line.startswith("running [") and "tasks" in line for line in progress)
    assert all(a != b for a, b in itertools.pairwise(progress))  # a line per change
    assert live.token not in first.stdout + first.stderr

    # The same file again is a 409: it follows submission 1 and judges it against --min-ar.
    again = live.gir("submit", model, "--no-check", "--wait", "--min-ar", "1.0", "--quiet")
    assert again.returncode == 3, _fail(again, worker)
    assert again.stderr == "error: AR 0.75 is below --min-ar 1 by 0.25\n"  # --quiet: no progress
    assert f"submission {report['id']}: {live.url}/submissions/{report['id']}" in again.stdout
    assert "AR         0.75  [" in again.stdout and "ER         0.25" in again.stdout
    assert "rank       1 of 1 on test" in again.stdout

    status = live.gir("status", str(report["id"]), "--json")
    assert status.returncode == 0 and _json(status)["summary"] == summary

    table = live.gir("results", str(report["id"]), "--csv")
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert [row["key"] for row in rows] == ["1", "2", "3"]  # the hidden task is not listed
    api = httpx.get(f"{live.url}/api/v1/submissions/{report['id']}/results").json()
    assert [float(row["mean_psnr"]) for row in rows] == [t["mean_psnr"] for t in api["tasks"][:3]]

    board = live.gir("leaderboard", "--json")
    assert [item["id"] for item in _json(board)["items"]] == [report["id"]]  # type: ignore[attr-defined]
    badge = httpx.get(f"{live.url}/api/v1/submissions/{report['id']}/badge.svg")
    assert badge.headers["content-type"] == "image/svg+xml"
    assert "AR 0.75 · ER 0.25" in badge.text


def test_a_server_side_contract_failure_is_exit_1_and_a_timeout_exit_5(
    live: Live, start_worker: Callable[..., WorkerProcess]
) -> None:
    worker = start_worker()
    scaled = live.model("scaled.onnx", onnx_model("scaled", "ci-scaled"))
    failed = live.gir("submit", scaled, "--no-check", "--wait", "--json", "--poll", "0.3")
    assert failed.returncode == 1, _fail(failed, worker)
    report = _json(failed)
    assert report["status"] == "failed" and report["exit_code"] == 1
    assert isinstance(report["error"], str)
    assert report["error"].startswith(f"submission {report['id']} failed (")
    assert "local check" not in failed.stderr  # --no-check

    slow = live.model("slow.pt", slow_model(live.folder, spins=200_000))
    waited = live.gir("submit", slow, "--no-check", "--wait", "--timeout", "1", "--json")
    assert waited.returncode == 5, _fail(waited, worker)
    timed_out = _json(waited)
    assert timed_out["exit_code"] == 5
    assert f"--timeout 1 s passed while submission {timed_out['id']} was" in str(timed_out["error"])
    assert "it keeps running" in str(timed_out["error"])


def test_a_refused_token_is_exit_4_and_never_printed(live: Live) -> None:
    model = live.model("identity.onnx", onnx_model("identity", "ci-token"))
    secret = "gir_not-a-real-token-0123456789"
    refused = live.gir("submit", model, "--no-check", "--json", token=secret)
    assert refused.returncode == 4, _fail(refused)
    body = _json(refused)
    assert body["exit_code"] == 4
    assert str(body["error"]).startswith("the service refused the token (401)")
    on_line = live.gir("status", "1", "--token", secret, "--wait")
    assert on_line.returncode == 4
    for result in (refused, on_line):
        assert secret not in result.stdout + result.stderr


def test_a_used_up_quota_is_exit_4(serve: Callable[..., Live]) -> None:
    live = serve(GIR_QUOTA_PER_DAY="0")
    model = live.model("identity.onnx", onnx_model("identity", "ci-quota"))
    refused = live.gir("submit", model, "--no-check", "--json")
    assert refused.returncode == 4, _fail(refused)
    error = str(_json(refused)["error"])
    assert error.startswith("the quota is used up (429): "), error
