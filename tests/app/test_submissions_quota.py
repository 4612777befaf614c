"""Upload quotas through the real API: the daily and the active limit, their 429 answers and
reset times, admins' exemption, and a real race of parallel uploads for the last slot."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import new_session
from app.submissions.models import Submission
from tests.app.submissions_support import API, onnx_model, queued_ids, stored_files, upload
from tests.support.factories import Rows


def test_daily_quota_429_with_reset_time_and_rejections_do_not_count(
    client: TestClient,
    rows: Rows,
    session: Session,
    storage_dir: Path,
    broker: redis.Redis,
    tune: Callable[..., None],
) -> None:
    tune(quota_per_day=2, quota_active=10)
    _, headers = rows.user_with_token("ada")
    ids = [upload(client, headers, onnx_model(f"d{n}")).json()["id"] for n in range(2)]
    first = session.get(Submission, ids[0])
    assert first is not None
    before = stored_files(storage_dir)
    refused = upload(client, headers, onnx_model("d2"))
    assert refused.status_code == 429
    detail = refused.json()["detail"]
    assert detail["code"] == "quota_exceeded"
    assert "all 2 submissions of the last 24 hours" in detail["message"]
    daily = detail["quota"]["daily"]
    assert (daily["limit"], daily["used"], daily["remaining"]) == (2, 2, 0)
    resets = first.created_at + timedelta(hours=24)
    assert daily["resets_at"] == resets.isoformat().replace("+00:00", "Z")
    retry = int(refused.headers["retry-after"])
    assert 86_390 <= retry <= 86_400
    assert stored_files(storage_dir) == before
    quota = client.get("/api/v1/me/quota", headers=headers).json()
    assert quota["daily"] == daily and quota["exempt"] is False
    assert quota["active"] == {"limit": 10, "used": 2, "remaining": 8}

    first.status, first.error_code = "failed", "contract"  # refused by the contract check
    session.commit()
    assert upload(client, headers, onnx_model("d2")).status_code == 202


def test_active_quota_frees_on_cancel_and_admins_are_exempt(
    client: TestClient, rows: Rows, broker: redis.Redis, tune: Callable[..., None]
) -> None:
    tune(quota_per_day=1, quota_active=1)
    _, headers = rows.user_with_token("ada")
    _, admin = rows.user_with_token("root", admin=True)
    first = upload(client, headers, onnx_model("a0"))
    tune(quota_per_day=10)
    busy = upload(client, headers, onnx_model("a1"))
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "60"
    assert "1 submission(s) queued or running" in busy.json()["detail"]["message"]
    assert client.delete(f"{API}/{first.json()['id']}", headers=headers).status_code == 200
    assert upload(client, headers, onnx_model("a1")).status_code == 202
    tune(quota_per_day=0, quota_active=0)
    assert [upload(client, admin, onnx_model(f"r{n}")).status_code for n in range(3)] == [202] * 3
    quota = client.get("/api/v1/me/quota", headers=admin).json()
    assert quota["exempt"] is True and quota["daily"]["used"] == 3
    assert client.get("/api/v1/me/quota").status_code == 401


def test_parallel_uploads_cannot_share_the_last_slot(
    live_server: str,
    live_rows: Rows,
    storage_dir: Path,
    broker: redis.Redis,
    tune: Callable[..., None],
) -> None:
    import httpx

    tune(quota_per_day=10, quota_active=1)
    _, headers = live_rows.user_with_token("racer")
    before = stored_files(storage_dir)
    barrier = threading.Barrier(4, timeout=10)
    codes: list[int] = []

    def send(n: int) -> None:
        files = {"file": ("m.onnx", onnx_model(f"race{n}", pad=200_000))}
        barrier.wait()
        reply = httpx.post(
            f"{live_server}{API}", headers=headers, data={"name": "r"}, files=files, timeout=30
        )
        codes.append(reply.status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202, 429, 429, 429]
    with new_session() as session:
        rows = list(session.scalars(select(Submission)))
    assert len(rows) == 1
    assert {p.relative_to(storage_dir).as_posix() for p in stored_files(storage_dir) - before} == {
        rows[0].storage_key
    }
    assert queued_ids(broker) == [rows[0].id]
