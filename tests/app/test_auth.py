"""Accounts and auth through the real API on PostgreSQL: sign-in, cookies, rate limiting, API
tokens, CSRF, and identity that never comes from a body."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import ratelimit, security, service
from app.auth.cookies import CSRF_COOKIE, SESSION_COOKIE
from app.auth.csrf import CsrfCookieMiddleware, csrf_token_for
from app.auth.models import ApiToken, LoginFailure, User
from app.db import utcnow
from app.deps import CurrentUser
from app.errors import Invalid, NotFound
from app.settings import get_settings
from tests.support.factories import bearer

PASSWORD = "correct horse battery"


def _register(client: TestClient, email: str, **extra: Any) -> Any:
    body = {"email": email, "name": "Ada", "password": PASSWORD, **extra}
    return client.post("/api/v1/auth/register", json=body)


def _login(client: TestClient, email: str, password: str = PASSWORD, csrf: str = "") -> Any:
    body = {"email": email, "password": password}
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.post("/api/v1/auth/login", json=body, headers=headers)


def _signed_in(client: TestClient, email: str = "ada@example.org") -> str:
    """Register and sign in ``client``; returns the CSRF token to echo."""
    assert _register(client, email).status_code == 201
    response = _login(client, email)
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def _cookie_attrs(response: Any, name: str) -> dict[str, str]:
    """The attributes of the ``Set-Cookie`` for ``name`` (lower-case keys) and its ``value``."""
    for header in response.headers.get_list("set-cookie"):
        first, *attrs = (part.strip() for part in header.split(";"))
        key, _, value = first.partition("=")
        if key == name:
            found = {"value": value}
            for attr in attrs:
                attr_key, _, attr_value = attr.partition("=")
                found[attr_key.lower()] = attr_value
            return found
    raise AssertionError(f"no Set-Cookie for {name}")


def _token(client: TestClient, csrf: str, name: str = "ci") -> dict[str, Any]:
    response = client.post("/api/v1/tokens", json={"name": name}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- accounts, sign-in, cookies ------------------------------------------------------------------


def test_register_login_me_logout(client: TestClient) -> None:
    created = _register(client, " Ada@Example.org ")
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "email": "ada@example.org",
        "name": "Ada",
        "is_admin": False,
    }
    assert client.get("/api/v1/me").status_code == 401
    login = _login(client, "ADA@example.org")
    assert login.status_code == 200
    assert login.json()["user"]["email"] == "ada@example.org"
    assert client.get("/api/v1/me").json()["email"] == "ada@example.org"
    csrf = login.json()["csrf_token"]
    out = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert _cookie_attrs(out, SESSION_COOKIE)["max-age"] == "0"
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_flags(client: TestClient) -> None:
    _register(client, "ada@example.org")
    response = _login(client, "ada@example.org")
    session_cookie = _cookie_attrs(response, SESSION_COOKIE)
    assert "httponly" in session_cookie
    assert session_cookie["samesite"] == "lax"
    assert session_cookie["path"] == "/"
    assert int(session_cookie["max-age"]) == 14 * 24 * 3600
    assert "secure" not in session_cookie  # public_url is http in the test settings
    csrf_cookie = _cookie_attrs(response, CSRF_COOKIE)
    assert "httponly" not in csrf_cookie  # page scripts must read it
    assert csrf_cookie["value"] == response.json()["csrf_token"]


@pytest.fixture
def https_public_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GIR_PUBLIC_URL", "https://bench.example.org")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("https_public_url")
def test_cookies_are_secure_behind_https(client: TestClient) -> None:
    _register(client, "ada@example.org")
    response = _login(client, "ada@example.org")
    assert "secure" in _cookie_attrs(response, SESSION_COOKIE)
    assert "secure" in _cookie_attrs(response, CSRF_COOKIE)


def test_registration_rules(client: TestClient, session: Session) -> None:
    assert _register(client, "ada@example.org").status_code == 201
    stored = session.scalar(select(User.password_hash).where(User.email == "ada@example.org"))
    assert stored is not None and stored.startswith("$argon2id$")
    duplicate = _register(client, "ADA@example.org")
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"]["code"] == "conflict"
    short = _register(client, "bob@example.org", password="nine char")
    assert short.status_code == 422
    assert "password" in short.json()["detail"]["message"]
    assert _register(client, "not-an-address").status_code == 422
    same = _register(client, "longaddress@example.org", password="LongAddress@example.org")
    assert same.status_code == 422


def test_wrong_password_and_unknown_email_read_the_same(client: TestClient) -> None:
    _register(client, "ada@example.org")
    wrong = _login(client, "ada@example.org", "not the password")
    unknown = _login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"]["message"] == service.BAD_LOGIN
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")


def test_password_change_ends_other_sessions(client: TestClient, session: Session) -> None:
    csrf = _signed_in(client)
    old_cookie = client.cookies[SESSION_COOKIE]
    changed = client.put(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a much better passphrase"},
        headers={"X-CSRF-Token": csrf},
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/me").status_code == 200  # this browser got a new cookie
    assert client.cookies[SESSION_COOKIE] != old_cookie
    assert service.user_for_cookie(session=session, cookie=old_cookie) is None
    client.cookies.clear()
    assert _login(client, "ada@example.org", "a much better passphrase").status_code == 200


def test_forged_and_expired_cookies_are_anonymous(client: TestClient, session: Session) -> None:
    _signed_in(client)
    genuine = client.cookies[SESSION_COOKIE]
    user = service.user_for_cookie(session=session, cookie=genuine)
    assert user is not None and user.email == "ada@example.org"
    claim = {"u": user.id, "f": security.password_fingerprint(user.password_hash)}
    other_key = URLSafeTimedSerializer("not-our-secret", salt=security._SESSION_SALT)
    assert service.user_for_cookie(session=session, cookie=other_key.dumps(claim)) is None
    assert security.read_session(genuine, max_age_s=-1) is None  # expired
    client.cookies.set(SESSION_COOKIE, genuine[:-3] + "abc")
    assert client.get("/api/v1/me").status_code == 401


# --- rate limiting -------------------------------------------------------------------------------


def test_failed_logins_are_rate_limited(client: TestClient) -> None:
    _register(client, "ada@example.org")
    settings = get_settings()
    for _ in range(settings.login_attempts):
        assert _login(client, "ada@example.org", "wrong password").status_code == 401
    blocked = _login(client, "ada@example.org")  # even the right password
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["Retry-After"])
    assert 0 < retry_after <= settings.login_window_s
    assert blocked.json()["detail"]["retry_after"] == retry_after
    assert f"try again in {retry_after} seconds" in blocked.json()["detail"]["message"]


def _pair(email: str, address: str = "testclient") -> str:
    return ratelimit.keys_for(email, address)[0]


def test_retry_after_counts_from_the_decisive_failure(client: TestClient, session: Session) -> None:
    settings = get_settings()
    window = timedelta(seconds=settings.login_window_s)
    now = utcnow()
    # The oldest failure leaves the window in 30 s; the others later.
    for age in range(settings.login_attempts):
        at = now - window + timedelta(seconds=30 + 10 * age)
        session.add(LoginFailure(key=_pair("ada@example.org"), at=at))
    session.commit()
    blocked = _login(client, "ada@example.org")
    assert blocked.status_code == 429
    assert 28 <= int(blocked.headers["Retry-After"]) <= 30


def test_failures_outside_the_window_do_not_count(client: TestClient, session: Session) -> None:
    _register(client, "ada@example.org")
    settings = get_settings()
    old = utcnow() - timedelta(seconds=settings.login_window_s + 1)
    session.add_all(
        LoginFailure(key=_pair("ada@example.org"), at=old) for _ in range(settings.login_attempts)
    )
    session.commit()
    assert _login(client, "ada@example.org").status_code == 200


def test_success_clears_its_own_counters_only(client: TestClient) -> None:
    _register(client, "ada@example.org")
    attempts = get_settings().login_attempts
    elsewhere = TestClient(client.app, client=("192.0.2.7", 50000))
    for _ in range(attempts - 1):
        _login(client, "ada@example.org", "wrong password")
    assert _login(elsewhere, "ada@example.org").status_code == 200  # clears its own pair
    elsewhere.cookies.clear()
    assert _login(client, "ada@example.org", "wrong password").status_code == 401
    assert _login(client, "ada@example.org").status_code == 429  # this pair is spent
    assert _login(elsewhere, "ada@example.org").status_code == 200  # the account is not


# --- API tokens ----------------------------------------------------------------------------------


def test_token_is_shown_once_stored_hashed_and_works(client: TestClient, session: Session) -> None:
    created = _token(client, _signed_in(client))
    secret = created["token"]
    assert secret.startswith("gir_") and len(secret) >= 40
    assert created["prefix"] == secret[:12] and created["revoked"] is False
    row = session.get(ApiToken, created["id"])
    assert row is not None
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.token_hash, row.prefix, row.name)
    listed = client.get("/api/v1/tokens")
    assert secret not in listed.text
    assert [item["prefix"] for item in listed.json()] == [secret[:12]]
    assert "token" not in listed.json()[0]
    client.cookies.clear()
    me = client.get("/api/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["email"] == "ada@example.org"


def test_last_used_at_is_set_and_throttled(client: TestClient, session: Session) -> None:
    created = _token(client, _signed_in(client))
    client.cookies.clear()
    assert created["last_used_at"] is None
    client.get("/api/v1/me", headers=bearer(created["token"]))
    row = session.get(ApiToken, created["id"])
    assert row is not None and row.last_used_at is not None
    first = row.last_used_at
    assert abs((utcnow() - first).total_seconds()) < 60
    client.get("/api/v1/me", headers=bearer(created["token"]))
    session.refresh(row)
    assert row.last_used_at == first  # within a minute: no write
    row.last_used_at = first - timedelta(minutes=2)
    session.commit()
    client.get("/api/v1/me", headers=bearer(created["token"]))
    session.refresh(row)
    assert row.last_used_at is not None and row.last_used_at > first


def test_revoked_token_stops_working(client: TestClient) -> None:
    created = _token(client, _signed_in(client))
    # A bearer DELETE needs no CSRF token: there is no ambient credential to forge.
    client.cookies.clear()
    minted = client.post("/api/v1/tokens", json={"name": "x"}, headers=bearer(created["token"]))
    assert minted.status_code == 403  # a leaked token cannot mint a successor
    revoked = client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(created["token"]))
    assert revoked.status_code == 204
    after = client.get("/api/v1/me", headers=bearer(created["token"]))
    assert after.status_code == 401
    assert after.json()["detail"]["code"] == "unauthorized"
    assert client.get("/api/v1/me", headers=bearer("gir_not-a-token")).status_code == 401
    assert _login(client, "ada@example.org").status_code == 200
    assert [item["revoked"] for item in client.get("/api/v1/tokens").json()] == [True]


def test_other_users_token_is_not_found(client: TestClient, session: Session) -> None:
    ada_token = _token(client, _signed_in(client, "ada@example.org"))
    client.cookies.clear()
    bob_csrf = _signed_in(client, "bob@example.org")
    gone = client.delete(f"/api/v1/tokens/{ada_token['id']}", headers={"X-CSRF-Token": bob_csrf})
    missing = client.delete("/api/v1/tokens/999999", headers={"X-CSRF-Token": bob_csrf})
    assert gone.status_code == missing.status_code == 404  # someone else's reads as no such token
    assert gone.json()["detail"]["code"] == "not_found"
    assert client.get("/api/v1/tokens").json() == []
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=bearer(ada_token["token"])).status_code == 200


# --- CSRF ----------------------------------------------------------------------------------------


def test_cookie_post_needs_the_csrf_token(client: TestClient) -> None:
    csrf = _signed_in(client)
    missing = client.post("/api/v1/tokens", json={"name": "ci"})
    assert missing.status_code == 403
    assert missing.json()["detail"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    assert client.get("/api/v1/tokens").status_code == 200  # reads need no token


def test_logout_and_login_with_cookies_need_the_token(client: TestClient) -> None:
    _signed_in(client)
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert _login(client, "ada@example.org").status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # still signed in
    client.cookies.clear()
    forged = client.post(
        "/api/v1/auth/login",
        json={"email": "ada@example.org", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},  # login CSRF: no cookies, but a browser says so
    )
    assert forged.status_code == 403


def _probe_app(session: Session) -> FastAPI:
    from app.db import session_scope
    from app.main import create_app

    application = create_app()
    application.add_middleware(CsrfCookieMiddleware)
    application.dependency_overrides[session_scope] = lambda: session

    @application.get("/probe/page")
    def page(request: Request) -> dict[str, str]:
        return {"csrf": csrf_token_for(request), "again": csrf_token_for(request)}

    @application.post("/probe/form")
    def form(user: CurrentUser, note: Annotated[str, Form()]) -> dict[str, str]:
        return {"email": user.email, "note": note}

    @application.post("/probe/upload")
    def upload(user: CurrentUser, file: Annotated[UploadFile, File()]) -> dict[str, str]:
        return {"email": user.email, "file": file.filename or ""}

    return application


def test_pages_get_a_token_and_forms_may_send_it_as_a_field(session: Session) -> None:
    with TestClient(_probe_app(session)) as browser:
        page = browser.get("/probe/page")
        token = page.json()["csrf"]
        assert page.json()["again"] == token
        assert _cookie_attrs(page, CSRF_COOKIE)["value"] == token
        assert browser.get("/probe/page").json()["csrf"] == token  # reused, not re-minted
        assert "set-cookie" not in browser.get("/probe/page").headers
        # JSON bodies are not searched for the token: it goes in the header.
        assert _register(browser, "ada@example.org", csrf_token=token).status_code == 403
        body = {"email": "ada@example.org", "name": "Ada", "password": PASSWORD}
        headers = {"X-CSRF-Token": token}
        assert browser.post("/api/v1/auth/register", json=body, headers=headers).status_code == 201
        fresh = _login(browser, "ada@example.org", csrf=token).json()["csrf_token"]
        assert browser.post("/probe/form", data={"note": "hi"}).status_code == 403
        posted = browser.post("/probe/form", data={"note": "hi", "csrf_token": fresh})
        assert posted.json() == {"email": "ada@example.org", "note": "hi"}
        files = {"file": ("m.onnx", b"\x08\x07", "application/octet-stream")}
        assert browser.post("/probe/upload", files=files).status_code == 403
        uploaded = browser.post("/probe/upload", files=files, data={"csrf_token": fresh})
        assert uploaded.json() == {"email": "ada@example.org", "file": "m.onnx"}


# --- identity and the admin role -----------------------------------------------------------------


def test_identity_never_comes_from_the_body(client: TestClient, session: Session) -> None:
    victim = service.create_user(
        session=session, email="victim@example.org", name="V", password=PASSWORD
    )
    created = _register(client, "ada@example.org", is_admin=True, id=victim.id + 100)
    assert created.json()["is_admin"] is False and created.json()["id"] != victim.id + 100
    csrf = _login(client, "ada@example.org").json()["csrf_token"]
    token = client.post(
        "/api/v1/tokens",
        json={"name": "ci", "user_id": victim.id},
        headers={"X-CSRF-Token": csrf},
    )
    row = session.get(ApiToken, token.json()["id"])
    assert row is not None and row.user.email == "ada@example.org"
    assert service.list_tokens(session=session, user=victim) == []


def test_admin_service_functions(client: TestClient, session: Session) -> None:
    root = service.create_user(
        session=session, email="Root@Example.org", name="Root", password=PASSWORD, admin=True
    )
    assert root.is_admin and root.email == "root@example.org"
    service.create_user(session=session, email="ada@example.org", name="Ada", password=PASSWORD)
    assert service.promote(session=session, email="ADA@example.org").is_admin
    users = service.list_users(session=session)
    assert [(user.email, user.is_admin) for user in users] == [
        ("root@example.org", True),
        ("ada@example.org", True),
    ]
    with pytest.raises(NotFound):
        service.promote(session=session, email="nobody@example.org")
    with pytest.raises(Invalid):
        service.create_user(session=session, email="x@example.org", name="X", password="short")
    assert _login(client, "ada@example.org").json()["user"]["is_admin"] is True
