"""The leaderboard's per-process page cache never serves a stale board: a hidden, rescored,
made-private, renamed or newly scored submission shows on the very next request — through the
test's own transaction, and through committed changes from other sessions (the path the API
takes in production, via the board-state probe). The triggers behind it exist and ignore
progress updates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks import moderation
from app.benchmarks.models import BenchmarkVersion
from app.db import new_session
from app.leaderboard import service
from app.leaderboard.cache import PageCache
from app.leaderboard.models import BoardState
from app.submissions.models import Submission, Summary
from tests.support.factories import Rows

BOARD = "/api/v1/leaderboard"


def _version(session: Session, *, active: bool = True) -> BenchmarkVersion:
    if active:
        session.execute(update(BenchmarkVersion).values(is_active=False))
    version = BenchmarkVersion(name=f"v-{uuid.uuid4().hex[:8]}", seed=1, is_active=active)
    session.add(version)
    session.flush()
    return version


def _scored(session: Session, owner: User, version: BenchmarkVersion, name: str, ar: float) -> int:
    rows = Rows(session)
    row = rows.submission(
        owner, name=name, size_bytes=1, storage_key="x", status="scored",
        benchmark_version_id=version.id,
    )  # fmt: skip
    # PSNR 25 within 24-26 and SSIM 0.8: the summary's defaults
    rows.summary(row, version.id, ar=ar, er=ar / 2, ar_low=0.0, ar_high=1.0)
    session.commit()
    return row.id


def _names(client: TestClient, query: str = "") -> list[str]:
    response = client.get(f"{BOARD}{query}")
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


def _csv_names(client: TestClient) -> list[str]:
    lines = client.get(f"{BOARD}.csv").text.splitlines()[1:]
    return [line.split(",")[2] for line in lines]


@pytest.fixture
def counted(session: Session) -> Iterator[list[str]]:
    """SELECT statements run on the test's connection meanwhile."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            seen.append(args[2])

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection, "before_cursor_execute", record)


# --- through the test's own transaction (the state is read with the version) -----------------


def test_a_repeated_page_costs_one_statement(
    client: TestClient, rows: Rows, session: Session, counted: list[str]
) -> None:
    owner, version = rows.user("ada"), _version(session)
    _scored(session, owner, version, "Alpha", 0.9)
    assert _names(client) == ["Alpha"]
    counted.clear()
    assert _names(client) == ["Alpha"]
    assert _csv_names(client) == ["Alpha"]
    counted.clear()
    assert _csv_names(client) == ["Alpha"]
    assert len(counted) == 1, counted  # the version with the board state; no board query


def test_hidden_rescored_private_and_new_rows_show_at_once(
    client: TestClient, rows: Rows, session: Session, broker: redis.Redis
) -> None:
    owner, version = rows.user("ada"), _version(session)
    first = _scored(session, owner, version, "Alpha", 0.9)
    second = _scored(session, owner, version, "Beta", 0.5)
    third = _scored(session, owner, version, "Gamma", 0.3)
    assert _names(client) == _csv_names(client) == ["Alpha", "Beta", "Gamma"]
    moderation.hide(session=session, submission_id=first)
    assert _names(client) == _csv_names(client) == ["Beta", "Gamma"]
    moderation.rescore(session=session, submission_id=second)
    assert _names(client) == _csv_names(client) == ["Gamma"]
    session.execute(update(Submission).where(Submission.id == third).values(visibility="private"))
    session.commit()
    assert _names(client) == []
    moderation.hide(session=session, submission_id=first, hidden=False)
    _scored(session, owner, version, "Delta", 0.95)
    assert _names(client) == _csv_names(client) == ["Delta", "Alpha"]


def test_scores_names_and_versions_show_at_once(
    client: TestClient, rows: Rows, session: Session
) -> None:
    owner, version = rows.user("ada"), _version(session)
    first = _scored(session, owner, version, "Alpha", 0.9)
    _scored(session, owner, version, "Beta", 0.5)
    page = client.get(BOARD).json()
    assert [item["owner"] for item in page["items"]] == ["ada", "ada"]
    session.execute(update(Summary).where(Summary.submission_id == first).values(ar=0.1))
    owner.name = "Ada Lovelace"
    session.commit()
    page = client.get(BOARD).json()
    assert [item["name"] for item in page["items"]] == ["Beta", "Alpha"]
    assert page["items"][1]["ar"] == 0.1
    assert {item["owner"] for item in page["items"]} == {"Ada Lovelace"}
    newer = _version(session)
    session.commit()
    assert client.get(BOARD).json()["version"] == newer.name
    assert _names(client) == []
    assert _names(client, f"?version={version.name}") == ["Beta", "Alpha"]


def test_progress_updates_leave_the_board_state_alone(rows: Rows, session: Session) -> None:
    owner, version = rows.user("ada"), _version(session)
    first = _scored(session, owner, version, "Alpha", 0.9)

    def state() -> tuple[int, str]:
        row = session.execute(text("SELECT version, xmin::text FROM board_state")).one()
        return int(row[0]), str(row[1])

    before = state()
    session.execute(
        update(Submission)
        .where(Submission.id == first)
        .values(progress_done=3, current_task="h01", heartbeat_at=Submission.created_at)
    )
    assert state() == before
    session.execute(update(Submission).where(Submission.id == first).values(status="failed"))
    assert state()[0] == before[0] + 1


def test_triggers_watch_every_table_the_board_reads(session: Session) -> None:
    found = set(
        session.scalars(
            text(
                "SELECT tgrelid::regclass::text FROM pg_trigger "
                "WHERE tgname LIKE '%\\_board\\_state' AND NOT tgisinternal"
            )
        )
    )
    assert found == {"submissions", "summaries", "users", "benchmark_versions"}


# --- committed changes from other sessions: the probe path the API takes in production -------


@pytest.fixture
def live_client(live_db: Engine) -> Iterator[TestClient]:
    """The API with its real per-request sessions (no override): fresh sessions of the engine,
    so cached pages are found through the board-state probe."""
    from app.main import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def test_committed_changes_from_elsewhere_show_on_the_next_request(
    live_client: TestClient, broker: redis.Redis
) -> None:
    with new_session() as setup:
        owner, version = Rows(setup, commit=True).user("grace"), _version(setup)
        first = _scored(setup, owner, version, "Alpha", 0.9)
        second = _scored(setup, owner, version, "Beta", 0.5)
    assert _names(live_client) == ["Alpha", "Beta"]
    hits = service.PAGES.hits
    assert _names(live_client) == ["Alpha", "Beta"]
    assert service.PAGES.hits == hits + 1  # served from the cache, found by the probe
    with new_session() as operator:
        moderation.hide(session=operator, submission_id=first)
    assert _names(live_client) == _csv_names(live_client) == ["Beta"]
    with new_session() as operator:
        moderation.rescore(session=operator, submission_id=second)
    assert _names(live_client) == _csv_names(live_client) == []
    with new_session() as worker:
        worker.execute(update(Submission).where(Submission.id == second).values(status="scored"))
        values = {"ar": 0.7, "er": 0.1, "mean_psnr": 25.0, "mean_ssim": 0.8, "ar_low": 0.6}
        values |= {"ar_high": 0.8, "psnr_low": 24.0, "psnr_high": 26.0}
        worker.add(Summary(submission_id=second, benchmark_version_id=version.id, **values))
        worker.commit()
    assert _names(live_client) == ["Beta"]
    assert live_client.get(BOARD).json()["items"][0]["ar"] == 0.7


def test_a_broken_probe_falls_back_to_the_session(live_client: TestClient) -> None:
    with new_session() as setup:
        owner, version = Rows(setup, commit=True).user("grace"), _version(setup)
        first = _scored(setup, owner, version, "Alpha", 0.9)
    assert _names(live_client) == ["Alpha"]
    connection = service.PROBE._connection
    assert connection is not None
    connection.close()  # as if the database had dropped it
    with new_session() as operator:
        moderation.hide(session=operator, submission_id=first)
    assert _names(live_client) == []
    assert _names(live_client) == []
    assert service.PROBE._connection is not None and not service.PROBE._connection.closed


def test_the_counter_survives_truncation(live_db: Engine) -> None:
    with live_db.begin() as connection:
        connection.execute(text("TRUNCATE board_state, submissions CASCADE"))
    with new_session() as check:
        assert (check.scalar(select(BoardState.version)) or 0) >= 1  # re-created, then bumped


# --- the cache itself ---------------------------------------------------------------------------


def test_page_cache_is_bounded_and_keyed_by_state() -> None:
    pages: PageCache[str] = PageCache(max_weight=10)
    assert pages.get("s1", "a") is None
    pages.put("s1", "a", "page a", 4)
    pages.put("s1", "b", "page b", 4)
    assert pages.get("s1", "a") == "page a"  # now the most recently used
    pages.put("s1", "c", "page c", 4)  # over the weight: the least recently used goes
    assert (pages.get("s1", "a"), pages.get("s1", "b"), pages.get("s1", "c")) == (
        "page a",
        None,
        "page c",
    )
    pages.put("s1", "huge", "too big", 11)
    assert pages.get("s1", "huge") is None
    assert pages.get("s2", "a") is None  # a new state forgets every page of the old one
    pages.put("s1", "a", "late page of the old state", 1)
    assert pages.get("s2", "a") is None
    assert (pages.hits, pages.misses) == (3, 5)
