"""A bound on concurrent argon2 computations, so a burst of sign-ins cannot exhaust memory.

Each hash or check takes 64 MiB for tens of milliseconds; forty at once took the API to 1.9 GiB.
At most ``GIR_HASH_CONCURRENCY`` run at once in a process (4 × 64 MiB by default); the others wait
up to ``GIR_HASH_WAIT_S`` for a place and then get 503 with a sentence instead of piling up.
The gate counts who is inside and the most there ever were, so tests can measure the bound
rather than infer it from timings.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from app.errors import Unavailable
from app.settings import get_settings


class HashGate:
    """A counting semaphore that records its occupancy (``active``, ``peak``, ``waits``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.active = self.peak = self.waits = 0

    @contextmanager
    def slot(self, wait_s: float) -> Iterator[None]:
        """Hold one place while the body runs; 503 after ``wait_s`` without one."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self.waits += 1
            if not self._slots.acquire(timeout=wait_s):
                seconds = max(1, math.ceil(wait_s))
                raise Unavailable(
                    f"the server is busy checking passwords; try again in {seconds} seconds",
                    retry_after=seconds,
                )
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1
            self._slots.release()

    def reset_counts(self) -> None:
        """Zero ``peak`` and ``waits`` (tests measure one burst at a time)."""
        with self._lock:
            self.peak, self.waits = self.active, 0


@cache
def _gate(limit: int) -> HashGate:
    return HashGate(limit)


def hash_gate() -> HashGate:
    """The process's gate for the configured bound."""
    return _gate(get_settings().hash_concurrency)


@contextmanager
def hashing() -> Iterator[None]:
    """Run one argon2 computation inside the gate."""
    with hash_gate().slot(get_settings().hash_wait_s):
        yield
