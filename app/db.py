"""Database engine and sessions (SQLAlchemy 2). PostgreSQL in production, SQLite embedded.

The schema is created only by Alembic migrations (``migrations/``); nothing here calls
``create_all``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from app.settings import get_settings

DB_INT_MAX = 2**31 - 1
"""The largest id an ``INTEGER`` column holds: larger path ids are refused (422), not sent."""
CONTROL_CHARS = r"\x00-\x1f\x7f"
"""The control characters (a regex character-class body) no one-line text may hold."""
PRINTABLE = rf"^[^{CONTROL_CHARS}]*$"
"""A one-line text without control characters; PostgreSQL cannot store NUL at all."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations can refer to them)."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both PostgreSQL and SQLite (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An engine with the per-dialect settings GIR Bench relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(connection: object, record: object) -> None:
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    return make_engine(get_settings().database_url)


@lru_cache
def _factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def new_session() -> Session:
    """A new session on the configured database (the worker and CLIs open their own)."""
    return _factory()()


def session_scope() -> Iterator[Session]:
    """Yield a session and close it afterwards (FastAPI dependency)."""
    session = new_session()
    try:
        yield session
    finally:
        session.close()


def upsert(
    session: Session, model: type[Base], values: Mapping[str, Any], keys: Sequence[str]
) -> None:
    """INSERT ``values``, or UPDATE the row with the same ``keys``, in one statement.

    PostgreSQL and SQLite both speak ``INSERT … ON CONFLICT (…) DO UPDATE``; unlike SQLite's
    ``INSERT OR REPLACE`` it keeps the row's id, so a redelivered task rewrites its row in place.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no upsert for the {dialect} dialect")
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(dict(values))
    changed = {name: statement.excluded[name] for name in values if name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))
