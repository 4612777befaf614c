"""Failed-login rate limiting on ``LoginFailure`` rows (works on PostgreSQL and SQLite alike,
with no extra server).

Policy, kept deliberately simple:

* Every failed sign-in records one row per key: ``email:<address>`` and ``ip:<client>``. Unknown
  addresses are recorded too, so the limiter does not reveal which accounts exist.
* Once a key has ``settings.login_attempts`` failures within ``settings.login_window_s``, every
  attempt on it — right password or not — gets 429 with ``Retry-After`` until the oldest of those
  failures leaves the window. Refused attempts are not recorded, so the lock does not extend
  itself and the table stays bounded.
* A successful sign-in clears its e-mail key only. The address key is never cleared early: an
  attacker who owns an account cannot reset the counter of the address they guess from by
  signing in to it.
* The check and the record are not one transaction; parallel guesses can overshoot the limit
  by the number of requests in flight, which does not change the order of magnitude.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.models import LoginFailure
from app.db import utcnow
from app.errors import RateLimited
from app.settings import get_settings


def keys_for(email: str, client_ip: str | None) -> list[str]:
    """The counters one attempt touches: the account first, then the client address."""
    keys = [f"email:{email}"]
    if client_ip:
        keys.append(f"ip:{client_ip}")
    return keys


def ensure_allowed(*, session: Session, keys: list[str]) -> None:
    """Raise 429 (with ``retry_after`` seconds) if any key has used up its failures."""
    settings = get_settings()
    now = utcnow()
    window = timedelta(seconds=settings.login_window_s)
    wait = 0.0
    for key in keys:
        # The n-th most recent failure in the window decides: once it ages out, fewer than n
        # failures remain and the key may try again.
        decisive = session.scalar(
            select(LoginFailure.at)
            .where(LoginFailure.key == key, LoginFailure.at > now - window)
            .order_by(LoginFailure.at.desc())
            .offset(settings.login_attempts - 1)
            .limit(1)
        )
        if decisive is not None:
            wait = max(wait, (decisive + window - now).total_seconds())
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many failed sign-ins for this account or from this address; "
            f"try again in {seconds} seconds",
            retry_after=seconds,
        )


def record_failure(*, session: Session, keys: list[str]) -> None:
    """Count a failed attempt on every key, dropping rows that left the window, and commit."""
    now = utcnow()
    horizon = now - timedelta(seconds=get_settings().login_window_s)
    session.execute(delete(LoginFailure).where(LoginFailure.at <= horizon))
    session.add_all(LoginFailure(key=key, at=now) for key in keys)
    session.commit()


def forget(*, session: Session, key: str) -> None:
    """Clear one key's failures (the caller commits with the rest of the sign-in)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
