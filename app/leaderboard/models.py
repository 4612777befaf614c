"""The leaderboard's change counter: one row that database triggers bump on every change to
what the board shows, so each API process can cache rendered pages and still never serve a
stale one (see :mod:`app.leaderboard.cache`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base

BOARD_STATE_ID = 1


class BoardState(Base):
    """A single row (``id`` 1) whose ``version`` grows with each committed board change.

    Written only by the PostgreSQL triggers of migration ``62547b0e7125`` (on submissions,
    summaries, users and benchmark versions), never by application code, so no writer — API,
    worker, admin CLI or a hand-written SQL fix — can forget to invalidate the cache.
    """

    __tablename__ = "board_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
