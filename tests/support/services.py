"""Where the tests find PostgreSQL and Redis, and how each test process names its own database
and Redis database — defined here once for every suite (``tests/app``, ``tests/worker``,
``tests/browser``).

``GIR_TEST_PG`` (an admin connection string, default the local trust-authenticated server) and
``GIR_TEST_REDIS`` (a Redis URL without a database number) point the tests at other servers.

Each suite's test process gets a database of its own, named for the suite, the xdist worker and
the process id, so parallel runs and several engineers' checkouts never drop each other's data.
Redis has sixteen numbered databases and no names, so each suite takes a fixed range (listed in
:data:`REDIS_DATABASES`); the ranges do not meet up to ``pytest -n 3``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

PG_ADMIN = os.environ.get("GIR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("GIR_TEST_REDIS", "redis://127.0.0.1:6379")

# suite -> (Redis database of xdist worker 0, step per further worker)
REDIS_DATABASES = {"app": (10, 1), "worker": (15, -1), "browser": (8, -1)}

# What every suite's settings share: the test environment and a secret that is not a real one.
BASE_SETTINGS = {
    "GIR_ENVIRONMENT": "test",
    "GIR_SECRET_KEY": "test-secret-key-not-for-production",
}


def worker_index(worker_id: str) -> int:
    """0 for ``master`` and ``gw0``, 1 for ``gw1``, …"""
    return int(worker_id[2:]) if worker_id.startswith("gw") else 0


def database_name(suite: str, worker_id: str) -> str:
    """This test process's PostgreSQL database for ``suite``."""
    return f"gir_{suite}_test_{worker_index(worker_id)}_{os.getpid()}"


def database_url(name: str) -> str:
    """The SQLAlchemy (psycopg 3) URL of database ``name`` on the :data:`PG_ADMIN` server."""
    url = make_url(PG_ADMIN).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def broker_url(suite: str, worker_id: str) -> str:
    """The Redis database (as a broker URL) of ``suite`` in this xdist worker."""
    first, step = REDIS_DATABASES[suite]
    return f"{REDIS}/{first + step * worker_index(worker_id)}"


def create_database(name: str, *, migrate: bool = True) -> str:
    """A new PostgreSQL database (an older one of that name is dropped first), migrated to head
    by Alembic unless ``migrate=False``; its SQLAlchemy URL."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    url = database_url(name)
    if migrate:
        from app.migrate import upgrade

        upgrade(url)
    return url


def drop_database(name: str) -> None:
    """Drop a test database, closing whatever connections are still open on it."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def service_settings(suite: str, worker_id: str, database: str, storage: Path) -> dict[str, str]:
    """The ``GIR_*`` environment every suite's service starts from: the test environment, its
    database URL, its Redis database and its storage folder."""
    return {
        **BASE_SETTINGS,
        "GIR_DATABASE_URL": database,
        "GIR_BROKER_URL": broker_url(suite, worker_id),
        "GIR_STORAGE_DIR": str(storage),
    }


def clear_caches() -> None:
    """Forget the process-wide settings, engine, session factory and Celery app, so the next
    use reads the environment again."""
    from app import db, queue, settings

    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db._factory.cache_clear()
    queue.get_celery.cache_clear()


@contextmanager
def pointed_at(env: Mapping[str, str]) -> Iterator[None]:
    """This process's settings read ``env`` inside the block; everything is restored after.

    For session-scoped set-up that must not leave its settings behind for the other tests of the
    same xdist worker.
    """
    from app.db import get_engine

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    clear_caches()
    try:
        yield
    finally:
        get_engine().dispose()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_caches()
