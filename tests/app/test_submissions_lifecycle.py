"""A submission's life as the API shows it: who may cancel it and when, its queue position and
progress, and error details only its owner reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.submissions.models import Submission
from tests.app.submissions_support import API, World
from tests.support.factories import Rows


@pytest.fixture
def world(rows: Rows, storage_dir: Path) -> World:
    return World(rows, storage_dir)


@pytest.mark.parametrize(
    ("who", "kind", "status"),
    [
        ("anonymous", "public", 401),
        ("other", "public", 403),
        ("other", "private", 404),
        ("other", "hidden", 404),
        ("owner", "private", 200),
        ("admin", "hidden", 200),
    ],
)
def test_who_may_cancel(
    client: TestClient, session: Session, world: World, who: str, kind: str, status: int
) -> None:
    row = world.subs[kind]
    response = client.delete(f"{API}/{row.id}", headers=world.headers[who])
    assert response.status_code == status, response.text
    session.refresh(row)
    assert row.status == ("cancelled" if status == 200 else "running")
    if status == 200:
        assert response.json()["status"] == "cancelled"
        assert row.finished_at is not None


@pytest.mark.parametrize(
    ("status", "code"),
    [("queued", 200), ("validating", 200), ("scored", 409), ("failed", 409), ("cancelled", 409)],
)
def test_cancel_only_while_active(
    client: TestClient, rows: Rows, world: World, status: str, code: int
) -> None:
    row = rows.submission(world.owner, status=status)
    response = client.delete(f"{API}/{row.id}", headers=world.owner_h)
    assert response.status_code == code
    if code == 409:
        assert response.json()["detail"]["message"] == (
            f"submission {row.id} is {status}; only queued, validating or running submissions "
            "can be cancelled"
        )
        assert client.get(f"{API}/{row.id}", headers=world.owner_h).json()["status"] == status


def test_progress_queue_position_and_private_error_details(
    client: TestClient, rows: Rows, session: Session, world: World
) -> None:
    queued = [rows.submission(world.other, status="queued") for _ in range(3)]
    view = client.get(f"{API}/{queued[2].id}", headers=world.other_h).json()
    ahead = session.scalars(
        select(Submission.id).where(Submission.status == "queued", Submission.id < queued[2].id)
    ).all()
    assert view["progress"]["queue_position"] == len(ahead) >= 2
    running = world.subs["public"]
    running.progress_done, running.progress_total, running.current_task = 3, 4, "h01"
    running.status, running.error_code, running.error_message = "failed", "limit", "too slow"
    session.commit()
    owner = client.get(f"{API}/{running.id}", headers=world.owner_h).json()
    assert owner["progress"] == {
        "done": 3,
        "total": 4,
        "fraction": 0.75,
        "queue_position": None,
        "current_task": "h01",
    }
    assert (owner["error_code"], owner["error_message"]) == ("limit", "too slow")
    stranger = client.get(f"{API}/{running.id}").json()
    assert (stranger["error_code"], stranger["error_message"]) == ("", "")
