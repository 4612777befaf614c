"""A per-process cache of rendered leaderboard pages, keyed by the board's state in the database.

The board is one ranked SQL statement over every scored submission; under load it is the same
few pages asked for again and again. Each request still asks the database one cheap question —
the ``board_state`` row's counter and ``xmin``, bumped by triggers in the same transaction as
any change to what the board shows (see ``app.leaderboard.models``) — and renders only when
that state differs from the one its pages were made for. So a hidden, rescored or newly scored
submission shows on the very next request, from every API process, whoever changed it (API,
worker, admin CLI or plain SQL).

Why the row's ``xmin`` too: the counter alone can repeat — a transaction that bumped it and
rolled back leaves the next one to bump it to the same number — while the transaction id that
wrote the row version never does (tests reading uncommitted data through their own session
would otherwise share pages across rolled-back tests).

A cached page is found without the request's session at all: :class:`StateProbe` reads the
committed state over one autocommit connection of its own (one round trip, where a session
costs a pool check-out ping, BEGIN, the query and ROLLBACK). On a miss, and for a session that
may hold uncommitted changes of its own (bound to a caller's connection, as in the tests, or
already in a transaction), the state is read in the same statement as the version lookup, and
that state keys the page rendered after it: the page can only be as new or newer than its key.

Only PostgreSQL boards are cached (:func:`state_column` is None elsewhere): the embedded SQLite
demo has a handful of rows and no triggers.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import psycopg
from sqlalchemy import ColumnClause, Connection, Engine, ScalarSelect, literal_column, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.leaderboard.models import BOARD_STATE_ID, BoardState

log = logging.getLogger(__name__)
T = TypeVar("T")
State = tuple[str, str]
"""(database, ``"<counter>/<xmin>"``): what a cached page is valid for."""
STATE_SQL = "board_state.version::text || '/' || board_state.xmin::text"
PROBE_SQL = f"SELECT {STATE_SQL} FROM board_state WHERE id = {BOARD_STATE_ID}"
MAX_WEIGHT = 20_000
"""Rows held across all cached pages (a row is ~1.5 KB as a pydantic object): ~30 MB at most."""


def state_column(session: Session) -> ScalarSelect[str | None] | None:
    """A scalar subquery giving the board state as text to select beside other columns (so it
    comes from the statement's own snapshot), or None where boards are not cached."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    text: ColumnClause[str] = literal_column(STATE_SQL)
    query = select(text).select_from(BoardState).where(BoardState.id == BOARD_STATE_ID)
    return query.scalar_subquery()


def database_of(bind: Engine | Connection) -> str:
    """Which database a state belongs to (one process may talk to several, e.g. in tests)."""
    url = bind.engine.url
    return f"{url.host}:{url.port}/{url.database}"


def committed_engine(session: Session) -> Engine | None:
    """The engine when ``session`` can only see committed data — a fresh session of an engine
    on PostgreSQL through psycopg (the probe's driver) — else None: a session bound to a
    caller's connection, or already in a transaction, may see its own uncommitted changes,
    which the probe's connection cannot."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or session.in_transaction():
        return None
    postgresql = bind.dialect.name == "postgresql" and bind.dialect.driver == "psycopg"
    return bind if postgresql else None


class StateProbe:
    """Reads the committed board state over one autocommit connection of this process.

    The connection comes from the engine (same URL and options), detached from its pool so it
    never counts against it, and is re-opened after an error or a fork. Any failure answers
    None, and the caller reads the state through its session instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None  # thread-safe
        self._owner: tuple[int, str] | None = None

    def _connect(self, engine: Engine, database: str) -> psycopg.Connection[Any]:
        if self._owner is not None and self._owner != (os.getpid(), database):
            # Another database (tests) is closed; one inherited over a fork is only forgotten:
            # closing it here would end the parent's session on the shared socket.
            self._drop(close=self._owner[0] == os.getpid())
        with self._lock:
            if self._connection is None:
                raw = engine.raw_connection()
                connection = raw.driver_connection
                raw.detach()
                assert isinstance(connection, psycopg.Connection)  # see committed_engine
                connection.autocommit = True
                self._connection, self._owner = connection, (os.getpid(), database)
            return self._connection

    def _drop(self, *, close: bool = True) -> None:
        with self._lock:
            connection, self._connection, self._owner = self._connection, None, None
        if connection is not None and close:
            try:
                connection.close()
            except psycopg.Error:  # a broken connection may fail to close; it is gone anyway
                log.debug("closing the board-state probe connection failed", exc_info=True)

    def read(self, engine: Engine) -> State | None:
        """The committed state of ``engine``'s database, or None if it cannot be read now."""
        database = database_of(engine)
        try:
            row = self._connect(engine, database).execute(PROBE_SQL, prepare=True).fetchone()
        except (SQLAlchemyError, psycopg.Error) as error:
            log.info("board-state probe failed (%s); reading through the session", error)
            self._drop()
            return None
        return (database, row[0]) if row is not None and row[0] is not None else None


class PageCache(Generic[T]):
    """Least-recently-used rendered pages for the latest board state seen; thread-safe.

    A different state empties the cache: pages of an older state are never served again, and
    those of a newer one replace them. ``weight`` (rows per page) bounds the memory held.
    """

    def __init__(self, max_weight: int = MAX_WEIGHT) -> None:
        self.max_weight = max_weight
        self._lock = threading.Lock()
        self._state: Hashable = None
        self._pages: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self._weight = 0
        self.hits = self.misses = 0

    def _switch(self, state: Hashable) -> None:
        if state != self._state:
            self._state, self._weight = state, 0
            self._pages.clear()

    def get(self, state: Hashable, key: Hashable) -> T | None:
        """The page rendered for ``key`` in ``state``, or None."""
        with self._lock:
            self._switch(state)
            found = self._pages.get(key)
            if found is None:
                self.misses += 1
                return None
            self._pages.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, state: Hashable, key: Hashable, page: T, weight: int) -> None:
        """Remember ``page`` for ``key`` in ``state`` (ignored if the state moved on)."""
        with self._lock:
            if state != self._state or weight > self.max_weight:
                return
            previous = self._pages.pop(key, None)
            self._weight += weight - (previous[1] if previous is not None else 0)
            self._pages[key] = (page, weight)
            while self._weight > self.max_weight:
                _, (_, dropped) = self._pages.popitem(last=False)
                self._weight -= dropped
