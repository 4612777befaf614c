"""Limits on uploads while they stream: uploads in progress per user, bytes in flight per user and
in total, and a minimum rate.

The size limit and the quota bound what one finished upload may cost; nothing bounded what
unfinished ones cost. Parallel uploads each filled temporary space up to the size limit before
any was counted, and 200 connections sending a byte a second held the server's sockets and
workers indefinitely. This module sits around the request stream — not in the storage backend,
so it holds for every backend — and refuses with a sentence:

* more than ``GIR_UPLOADS_PER_USER`` uploads at once from one user: 429;
* bytes in flight beyond ``GIR_UPLOAD_SPACE_USER_MB`` for one user: 429, or beyond
  ``GIR_UPLOAD_SPACE_TOTAL_MB`` for the whole process: 507 — checked on the declared
  ``Content-Length`` before reading, and on the bytes actually received while streaming (a
  chunked body declares nothing). Only bytes received count: a client that declares a gigabyte
  and trickles holds no space it has not sent;
* a body slower than ``GIR_UPLOAD_MIN_KIB_S`` once ``GIR_UPLOAD_GRACE_S`` have passed: 408. By
  any moment ``t`` after the start, ``min_rate × (t − grace)`` bytes must have arrived; the wait
  for the next chunk ends when that falls due, so an idle client and a trickling one are cut
  alike.

The ledger lives in the API process (each process has its own limits). Everything is released
when the request ends, however it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import anyio

from app.errors import InsufficientStorage, RateLimited, TooSlow
from app.settings import get_settings

MIB = 1 << 20


@dataclass
class Ticket:
    """One upload in progress and the bytes it has received."""

    user_id: int
    bytes: int = 0


@dataclass
class _Usage:
    uploads: int = 0
    bytes: int = 0


class UploadLedger:
    """Uploads and bytes in flight, per user and in total (thread-safe)."""

    def __init__(self) -> None:
        self._users: dict[int, _Usage] = {}
        self._lock = threading.Lock()
        self.total_bytes = 0

    def usage(self, user_id: int) -> tuple[int, int]:
        """``(uploads, bytes)`` in flight for ``user_id``."""
        with self._lock:
            found = self._users.get(user_id, _Usage())
            return found.uploads, found.bytes

    def _check_space(self, usage: _Usage, more: int) -> None:
        settings = get_settings()
        per_user, overall = (
            settings.upload_space_user_mb * MIB,
            settings.upload_space_total_mb * MIB,
        )
        if usage.bytes + more > per_user:
            raise RateLimited(
                f"your uploads in progress would need more than your "
                f"{settings.upload_space_user_mb} MiB of upload space; "
                "wait for them to finish, then send this one",
                retry_after=60,
            )
        if self.total_bytes + more > overall:
            raise InsufficientStorage(
                "the server's space for uploads in progress is full; try again in a few minutes",
                retry_after=60,
            )

    def start(self, user_id: int, declared: int | None) -> Ticket:
        """Count one more upload for ``user_id``; refuse it if it cannot fit."""
        limit = get_settings().uploads_per_user
        with self._lock:
            usage = self._users.get(user_id, _Usage())
            if usage.uploads >= limit:
                raise RateLimited(
                    f"you already have {usage.uploads} upload(s) in progress (the limit is "
                    f"{limit}); wait for one to finish",
                    retry_after=30,
                )
            self._check_space(usage, declared or 0)
            usage.uploads += 1
            self._users[user_id] = usage
        return Ticket(user_id)

    def add(self, ticket: Ticket, size: int) -> None:
        """Count ``size`` more bytes received on ``ticket``; refuse past a space limit."""
        with self._lock:
            usage = self._users[ticket.user_id]
            self._check_space(usage, size)
            usage.bytes += size
            ticket.bytes += size
            self.total_bytes += size

    def finish(self, ticket: Ticket) -> None:
        """Release the upload of ``ticket`` and every byte it counted."""
        with self._lock:
            usage = self._users[ticket.user_id]
            usage.uploads -= 1
            usage.bytes -= ticket.bytes
            self.total_bytes -= ticket.bytes
            ticket.bytes = 0
            if usage.uploads == 0:
                del self._users[ticket.user_id]


@cache
def ledger() -> UploadLedger:
    """The process's ledger."""
    return UploadLedger()


def _too_slow(min_kib_s: float, grace_s: float) -> TooSlow:
    return TooSlow(
        f"the upload was too slow: after the first {grace_s:g} seconds it must average at least "
        f"{min_kib_s:g} KiB/s; send it again over a faster connection"
    )


async def paced(chunks: AsyncIterator[bytes], ticket: Ticket) -> AsyncIterator[bytes]:
    """Yield ``chunks``, counting them on ``ticket``; 408 once the body falls below the
    minimum rate (see the module docstring), 429/507 once a space limit is passed."""
    settings = get_settings()
    rate, grace = settings.upload_min_kib_s * 1024, settings.upload_grace_s
    began = time.monotonic()
    received = 0
    iterator = aiter(chunks)
    while True:
        due = began + grace + received / rate
        try:
            with anyio.fail_after(max(0.0, due - time.monotonic())):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise _too_slow(settings.upload_min_kib_s, grace) from None
        received += len(chunk)
        ledger().add(ticket, len(chunk))
        yield chunk


@contextmanager
def upload_slot(user_id: int, declared: int | None) -> Iterator[Ticket]:
    """One upload of ``user_id`` in progress while the body runs (``declared``: its checked
    Content-Length, None when chunked); released however it ends."""
    ticket = ledger().start(user_id, declared)
    try:
        yield ticket
    finally:
        ledger().finish(ticket)
