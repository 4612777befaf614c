"""Service test fixtures: a real PostgreSQL database per xdist worker, migrated by Alembic,
per-test isolation by savepoint, a real Redis broker database, and row factories.

Two ways to write rows (``tests/support/factories.py`` says more):

- ``session`` and ``rows`` (flush): one connection inside a transaction rolled back after the
  test; the API under ``client`` uses that same session. The default.
- ``live_db`` and ``live_rows`` (commit): for tests where another connection or process reads
  the rows (``live_server``, threads with their own sessions); every table is emptied afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.support.factories import Rows
from tests.support.services import (
    create_database,
    database_name,
    drop_database,
    pointed_at,
    service_settings,
)


@pytest.fixture(scope="session")
def service_env(
    worker_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Point the settings at this worker's test database, Redis database and storage folder."""
    name = database_name("app", worker_id)
    storage = tmp_path_factory.mktemp("storage")
    env = service_settings("app", worker_id, create_database(name, migrate=False), storage)
    redis.Redis.from_url(env["GIR_BROKER_URL"]).flushdb()
    with pointed_at(env):
        from app.migrate import upgrade

        upgrade(env["GIR_DATABASE_URL"])
        yield env
    drop_database(name)


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    """Each test starts with empty registration/sign-in rate counters (they live in-process)."""
    from app.auth.throttle import counter

    counter().clear()
    yield
    counter().clear()


@pytest.fixture
def tune(service_env: dict[str, str]) -> Iterator[Callable[..., None]]:
    """Change settings for one test (``tune(login_attempts=2)``); every value is restored."""
    from app.settings import get_settings

    settings = get_settings()
    saved = settings.model_dump()

    def change(**values: Any) -> None:
        for key, value in values.items():
            assert key in saved, f"no setting {key}"
            setattr(settings, key, value)

    yield change
    for key, value in saved.items():
        setattr(settings, key, value)


@pytest.fixture(scope="session")
def engine(service_env: dict[str, str]) -> Engine:
    """The engine of this worker's test database."""
    from app.db import get_engine

    return get_engine()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction rolled back after the test (savepoint mode)."""
    connection = engine.connect()
    outer = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db_session
    finally:
        db_session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def rows(session: Session) -> Rows:
    """Users, tokens and submissions flushed into the test's rolled-back ``session``."""
    return Rows(session)


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """The API with every request using the test's session."""
    from app.db import session_scope
    from app.main import create_app

    application = create_app()
    application.dependency_overrides[session_scope] = lambda: session
    with TestClient(application) as test_client:
        yield test_client


@pytest.fixture
def live_db(engine: Engine) -> Iterator[Engine]:
    """Committed data visible to other processes; every table is emptied afterwards."""
    yield engine
    from app.models import Base

    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def live_rows(live_db: Engine) -> Iterator[Rows]:
    """Users, tokens and submissions committed at once (other connections see them)."""
    from app.db import new_session

    with new_session() as committing:
        yield Rows(committing, commit=True)


@pytest.fixture
def broker(service_env: dict[str, str]) -> Iterator[redis.Redis]:
    """The test's Redis broker database, emptied before and after: the jobs the API enqueued
    (nothing consumes them in these tests) are there to read, and none outlives the test."""
    connection = redis.Redis.from_url(service_env["GIR_BROKER_URL"])
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def live_server(live_db: Engine) -> Iterator[str]:
    """The API under uvicorn on a free loopback port, with its own real sessions, started as
    the deployment starts it (``--no-proxy-headers``: ``app.proxies`` decides)."""
    from app.main import create_app

    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=0, log_level="warning", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def storage_dir(service_env: dict[str, str]) -> Path:
    """The storage folder the settings point at."""
    return Path(service_env["GIR_STORAGE_DIR"])
