"""Request-rate limits on registration and sign-in, per client address and for the whole process.

Failed sign-ins are counted in the database (``app.auth.ratelimit``); these limits count every
attempt, right or wrong, because each one costs an argon2 hash (64 MiB, tens of milliseconds).
A burst from one address, or from a botnet spread over many, is refused with 429 and
``Retry-After`` before any hashing starts.

The counters live in the API process: they need no server and cost nothing to check. With
several API processes each has its own, so the effective limits are the settings times the
number of processes (the hash bound of ``app.auth.hashgate`` is per process too, which is what
keeps each process's memory bounded).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import cache
from typing import Literal

from fastapi import Request

from app.errors import RateLimited
from app.settings import get_settings

Kind = Literal["register", "login"]
_SWEEP_ABOVE = 10_000
"""Forget idle addresses once this many are known, so many addresses cannot fill memory."""


class WindowCounter:
    """Sliding-window event counts per key; thread-safe (sync routes run in a thread pool)."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, limits: list[tuple[str, int]], window_s: float, now: float) -> float:
        """Record one event on every key if each is under its limit and return 0; otherwise
        record nothing and return the seconds until the fullest key frees a place."""
        with self._lock:
            if len(self._events) > _SWEEP_ABOVE:
                self._sweep(now - window_s)
            wait = 0.0
            for key, limit in limits:
                events = self._events.setdefault(key, deque())
                while events and events[0] <= now - window_s:
                    events.popleft()
                if len(events) >= limit:
                    wait = max(wait, events[-limit] + window_s - now)
            if wait > 0:
                return wait
            for key, _ in limits:
                self._events[key].append(now)
            return 0.0

    def _sweep(self, horizon: float) -> None:
        for key in [key for key, events in self._events.items() if events[-1] <= horizon]:
            del self._events[key]

    def clear(self) -> None:
        """Forget every count (tests)."""
        with self._lock:
            self._events.clear()


@cache
def counter() -> WindowCounter:
    """The process's counter."""
    return WindowCounter()


def client_address(request: Request) -> str | None:
    """The client's address (already the forwarded one behind a trusted proxy)."""
    return request.client.host if request.client else None


def admit(kind: Kind, address: str | None, now: float | None = None) -> None:
    """Count one attempt of ``kind``; 429 with ``retry_after`` past the address or global limit."""
    settings = get_settings()
    per_address, overall = {
        "register": (settings.register_per_address, settings.register_global),
        "login": (settings.login_per_address, settings.login_global),
    }[kind]
    limits = [(f"{kind}:all", overall)]
    if address:
        limits.append((f"{kind}:ip:{address}", per_address))
    window = settings.auth_window_s
    wait = counter().take(limits, window, time.monotonic() if now is None else now)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        verb = "registrations" if kind == "register" else "sign-in attempts"
        raise RateLimited(
            f"too many {verb} from this address or on this server just now; "
            f"try again in {seconds} seconds",
            retry_after=seconds,
        )


def limited(kind: Kind) -> Callable[[Request], None]:
    """A route dependency that admits one attempt of ``kind`` from the caller's address."""

    def dependency(request: Request) -> None:
        admit(kind, client_address(request))

    return dependency
