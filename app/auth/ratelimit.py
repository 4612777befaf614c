"""Failed-sign-in lockouts on ``LoginFailure`` rows (works on PostgreSQL and SQLite alike, with
no extra server).

Policy — lock the guesser, not the neighbours:

* Every failed sign-in records one row per key: ``pair:<address>|<client>`` (this account from
  this client address) and ``email:<address>`` (this account from anywhere). Unknown addresses
  are recorded too, so the limiter does not reveal which accounts exist.
* A pair with ``settings.login_attempts`` failures within ``settings.login_window_s`` is refused
  (429 with ``Retry-After``) until the oldest of them leaves the window. Others behind the same
  address (a NAT, a campus) sign in to their own accounts undisturbed — there is no
  per-address lock; a client guessing many accounts meets the per-address request limit of
  ``app.auth.throttle`` instead.
* An account with ``settings.account_attempts`` failures within the window, from any mix of
  addresses, backs off: after its latest failure it waits 1 s, then 2, 4, … doubling with each
  further failure, capped at the window. A guesser spread over many addresses gets a few dozen
  guesses per window; the owner, at worst, waits out the backoff.
* Refused attempts are not recorded, so a lock does not extend itself and the table stays
  bounded. A successful sign-in clears its pair and its account: signing in to one's own
  account never resets the counters of an account one is guessing.
* The check and the record are not one transaction; parallel guesses can overshoot the limit
  by the number of requests in flight, which does not change the order of magnitude.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.auth.models import LoginFailure
from app.db import utcnow
from app.errors import RateLimited
from app.settings import get_settings

ACCOUNT = "email:"
PAIR = "pair:"


def keys_for(email: str, client_ip: str | None) -> list[str]:
    """The counters one attempt touches: this account from this address, then the account.

    The pair is stored as a digest: a 254-character address and an IPv6 client would not fit
    the key column together.
    """
    pair = hashlib.sha256(f"{email}|{client_ip or '-'}".encode()).hexdigest()
    return [f"{PAIR}{pair}", f"{ACCOUNT}{email}"]


def _pair_wait(session: Session, key: str, now: datetime, window: timedelta) -> float:
    # The n-th most recent failure in the window decides: once it ages out, fewer than n
    # failures remain and the pair may try again.
    decisive = session.scalar(
        select(LoginFailure.at)
        .where(LoginFailure.key == key, LoginFailure.at > now - window)
        .order_by(LoginFailure.at.desc())
        .offset(get_settings().login_attempts - 1)
        .limit(1)
    )
    return 0.0 if decisive is None else (decisive + window - now).total_seconds()


def _account_wait(session: Session, key: str, now: datetime, window: timedelta) -> float:
    count, latest = session.execute(
        select(func.count(), func.max(LoginFailure.at)).where(
            LoginFailure.key == key, LoginFailure.at > now - window
        )
    ).one()
    beyond = count - get_settings().account_attempts
    if beyond < 0 or latest is None:
        return 0.0
    backoff = min(window.total_seconds(), 2.0 ** min(beyond, 30))
    return (latest - now).total_seconds() + backoff


def ensure_allowed(*, session: Session, keys: list[str]) -> None:
    """Raise 429 (with ``retry_after`` seconds) while a pair is locked or an account backs off."""
    now = utcnow()
    window = timedelta(seconds=get_settings().login_window_s)
    for key in keys:
        wait = (_account_wait if key.startswith(ACCOUNT) else _pair_wait)(session, key, now, window)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            where = (
                "for this account from several addresses"
                if key.startswith(ACCOUNT)
                else "for this account from this address"
            )
            raise RateLimited(
                f"too many failed sign-ins {where}; try again in {seconds} seconds",
                retry_after=seconds,
            )


def record_failure(*, session: Session, keys: list[str]) -> None:
    """Count a failed attempt on every key, dropping rows that left the window, and commit."""
    now = utcnow()
    horizon = now - timedelta(seconds=get_settings().login_window_s)
    session.execute(delete(LoginFailure).where(LoginFailure.at <= horizon))
    session.add_all(LoginFailure(key=key, at=now) for key in keys)
    session.commit()


def forget(*, session: Session, keys: list[str]) -> None:
    """Clear these keys' failures (the caller commits with the rest of the sign-in)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys)))
