"""Attacks on sign-in and registration (issue #13, items 7, 11-14), each performed for real:
bursts against a live uvicorn, forged proxy headers, cross-site forms, replayed cookies,
guessing from one address and from many."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import ratelimit, service
from app.auth.cookies import SESSION_COOKIE
from app.auth.hashgate import hash_gate
from app.auth.models import LoginFailure, User
from app.db import utcnow
from app.proxies import forwarded_client
from tests.support.factories import Rows

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}
Tune = Callable[..., None]


def _login(
    client: TestClient | httpx.Client, email: str, password: str = PASSWORD, **kw: Any
) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}, **kw)


# --- 7: bursts of registrations; bounded hashing -------------------------------------------------


def _burst(url: str, count: int, forwarded: Callable[[int], str] | None = None) -> list[Any]:
    """``count`` registrations sent at once (a barrier releases them together)."""
    barrier = threading.Barrier(count, timeout=30)
    replies: list[Any] = [None] * count

    def send(n: int) -> None:
        body = {"email": f"burst{n}@example.org", "name": "B", "password": PASSWORD}
        headers = {"X-Forwarded-For": forwarded(n)} if forwarded else {}
        barrier.wait()
        replies[n] = httpx.post(
            f"{url}/api/v1/auth/register", json=body, headers=headers, timeout=60
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return replies


def test_registration_burst_is_refused_past_the_limit_and_hashing_stays_bounded(
    live_server: str, tune: Tune
) -> None:
    # Production-strength argon2 (64 MiB, t=3): slow enough that admitted requests overlap.
    tune(environment="development", register_per_address=5, hash_concurrency=2, hash_wait_s=60)
    gate = hash_gate()
    gate.reset_counts()
    replies = _burst(live_server, 16)
    codes = sorted(reply.status_code for reply in replies)
    assert codes == [201] * 5 + [429] * 11
    refused = next(reply for reply in replies if reply.status_code == 429)
    assert refused.json()["detail"]["code"] == "rate_limited"
    assert "too many registrations from this address" in refused.json()["detail"]["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    # Five hashes wanted to run at once: the gate let exactly two in and made the others wait.
    assert gate.peak == 2
    assert gate.waits >= 1
    assert gate.active == 0


def test_registrations_are_limited_globally_across_addresses(live_server: str, tune: Tune) -> None:
    tune(trusted_proxies="127.0.0.1", register_per_address=100, register_global=3)
    replies = _burst(live_server, 6, forwarded=lambda n: f"198.51.100.{n + 1}")
    assert sorted(reply.status_code for reply in replies) == [201] * 3 + [429] * 3


# --- 14: X-Forwarded-For only from configured proxies --------------------------------------------


def test_forged_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    live_server: str, tune: Tune
) -> None:
    tune(login_per_address=3)
    with httpx.Client(base_url=live_server) as client:
        # Default (no trusted proxies): a new forged address per try does not dodge the limit.
        forged = [
            _login(client, "x@example.org", "guess", headers={"X-Forwarded-For": f"203.0.113.{n}"})
            for n in range(4)
        ]
        assert [reply.status_code for reply in forged] == [401, 401, 401, 429]
        tune(trusted_proxies="127.0.0.1")  # now 127.0.0.1 is our proxy and vouches
        vouched = [
            _login(client, "x@example.org", "guess", headers={"X-Forwarded-For": f"192.0.2.{n}"})
            for n in range(4)
        ]
        assert [reply.status_code for reply in vouched] == [401] * 4  # four clients, one try each
        same = [
            _login(client, "x@example.org", "guess", headers={"X-Forwarded-For": "192.0.2.50"})
            for _ in range(4)
        ]
        assert [reply.status_code for reply in same] == [401, 401, 401, 429]


def test_forwarded_chain_stops_at_the_first_address_not_vouched_for(tune: Tune) -> None:
    tune(trusted_proxies="10.0.0.0/8, 127.0.0.1")
    assert forwarded_client("10.0.0.2", "6.6.6.6, 198.51.100.4, 10.0.0.9") == "198.51.100.4"
    assert forwarded_client("192.0.2.1", "198.51.100.4") == "192.0.2.1"  # not our proxy
    assert forwarded_client("127.0.0.1", "not-an-address") == "127.0.0.1"
    tune(trusted_proxies="")
    assert forwarded_client("127.0.0.1", "198.51.100.4") == "127.0.0.1"


# --- 11: sign-out ends the session on the server --------------------------------------------------


def test_a_copied_cookie_stops_working_after_logout(
    client: TestClient, rows: Rows, session: Session
) -> None:
    rows.user("Ada", email="ada@example.org", password=PASSWORD)
    csrf = _login(client, "ada@example.org").json()["csrf_token"]
    stolen = client.cookies[SESSION_COOKIE]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = TestClient(client.app, cookies={SESSION_COOKIE: stolen})
    assert replay.get("/api/v1/me").status_code == 401
    assert service.user_for_cookie(session=session, cookie=stolen) is None
    fresh = _login(client, "ada@example.org")  # signing in again works, with a new cookie
    assert fresh.status_code == 200 and client.get("/api/v1/me").status_code == 200


def test_the_sign_out_form_ends_the_session_too(client: TestClient, rows: Rows) -> None:
    rows.user("Ada", email="ada@example.org", password=PASSWORD)
    page = client.get("/login", headers=HTML)
    token = page.cookies.get("gir_csrf") or client.cookies["gir_csrf"]
    form = {"email": "ada@example.org", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=form, headers=HTML).url.path == "/account"
    stolen = client.cookies[SESSION_COOKIE]
    out = client.post("/logout", data={"csrf_token": client.cookies["gir_csrf"]}, headers=HTML)
    assert out.status_code == 200 and out.url.path == "/"
    replay = TestClient(client.app, cookies={SESSION_COOKIE: stolen})
    assert replay.get("/account", headers=HTML, follow_redirects=False).status_code == 303


# --- 12: login CSRF ------------------------------------------------------------------------------


def test_cross_site_sign_in_without_the_token_is_refused(
    client: TestClient, rows: Rows, session: Session
) -> None:
    rows.user("Ada", email="ada@example.org", password=PASSWORD)
    # An attacker's page posting its own credentials: no cookies, no Sec-Fetch-Site (an older
    # browser), a form body a page on another site can send.
    victim = TestClient(client.app)
    form = {"email": "ada@example.org", "password": PASSWORD}
    forged = victim.post("/login", data=form, headers=HTML, follow_redirects=False)
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    as_text = victim.post(
        "/api/v1/auth/login",
        content=f'{{"email": "ada@example.org", "password": "{PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    assert as_text.status_code == 403 and as_text.json()["detail"]["code"] == "csrf_failed"
    registered = victim.post(
        "/register", data={**form, "email": "mallory@example.org", "name": "M"}, headers=HTML
    )
    assert registered.status_code == 403
    assert session.scalar(select(User).where(User.email == "mallory@example.org")) is None
    assert victim.get("/api/v1/me").status_code == 401


# --- 13: lock the guesser, not the NAT -----------------------------------------------------------


def test_guessing_one_account_does_not_lock_out_the_rest_of_the_nat(
    client: TestClient, rows: Rows, tune: Tune
) -> None:
    tune(login_attempts=3, login_per_address=1000)
    rows.user("Ada", email="ada@example.org", password=PASSWORD)
    rows.user("Ada", email="bob@example.org", password=PASSWORD)
    nat = ("192.0.2.10", 40000)
    attacker, colleague = TestClient(client.app, client=nat), TestClient(client.app, client=nat)
    codes = [_login(attacker, "ada@example.org", "guess").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    locked = _login(attacker, "ada@example.org")
    assert locked.status_code == 429  # right password or not: this pair is locked
    assert "from this address" in locked.json()["detail"]["message"]
    assert _login(colleague, "bob@example.org").status_code == 200  # same address, own account
    home = TestClient(client.app, client=("198.51.100.3", 40000))
    assert _login(home, "ada@example.org").status_code == 200  # ada from elsewhere


def test_guessing_one_account_from_many_addresses_backs_off(
    client: TestClient, rows: Rows, session: Session, tune: Tune
) -> None:
    tune(account_attempts=4, login_attempts=3, login_per_address=1000)
    rows.user("Ada", email="ada@example.org", password=PASSWORD)
    for n in range(4):  # a botnet: one guess per address
        guesser = TestClient(client.app, client=(f"203.0.113.{n}", 40000))
        assert _login(guesser, "ada@example.org", "guess").status_code == 401
    fifth = TestClient(client.app, client=("203.0.113.99", 40000))
    backoff = _login(fifth, "ada@example.org", "guess")
    assert backoff.status_code == 429
    assert "from several addresses" in backoff.json()["detail"]["message"]
    assert backoff.headers["Retry-After"] == "1"
    # Each further failure doubles the wait: 3 beyond the threshold, the last 2 s ago → 6 s.
    key = ratelimit.keys_for("ada@example.org", None)[1]
    now = utcnow()
    session.query(LoginFailure).filter(LoginFailure.key == key).delete()
    session.add_all(LoginFailure(key=key, at=now - timedelta(seconds=2)) for _ in range(4 + 3))
    session.commit()
    waited = _login(fifth, "ada@example.org")
    assert waited.status_code == 429
    assert 5 <= int(waited.headers["Retry-After"]) <= 6


@pytest.mark.parametrize("attempts", [1, 3])
def test_login_rate_is_limited_per_address_whatever_the_account(
    client: TestClient, tune: Tune, attempts: int
) -> None:
    tune(login_per_address=attempts)
    codes = [_login(client, f"guess{n}@example.org", "x").status_code for n in range(attempts + 1)]
    assert codes == [401] * attempts + [429]
