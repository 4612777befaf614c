"""The two auth cookies and their flags, written in one place so every response agrees.

``gir_session`` (HttpOnly) carries the signed session; ``gir_csrf`` (readable by page scripts,
which copy it into the ``X-CSRF-Token`` header) carries the double-submit CSRF token. Both are
SameSite=Lax — browsers leave them off cross-site POSTs — and Secure when the service is
published over HTTPS.
"""

from __future__ import annotations

from starlette.responses import Response

from app.auth.security import SESSION_MAX_AGE_S, new_csrf_token
from app.settings import get_settings

SESSION_COOKIE = "gir_session"
CSRF_COOKIE = "gir_csrf"


def _secure() -> bool:
    # Over plain HTTP (the embedded demo on 127.0.0.1) a Secure cookie would never come back.
    return get_settings().public_url.startswith("https")


def set_session_cookie(response: Response, value: str) -> None:
    """Attach a signed session value; the browser keeps it as long as the signature is valid."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(),
    )


def set_csrf_cookie(response: Response, token: str) -> None:
    """Attach the CSRF token; not HttpOnly on purpose (scripts must read it to echo it)."""
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=False,
        samesite="lax",
        secure=_secure(),
    )


def start_session(response: Response, session_value: str) -> str:
    """Set both cookies of a new sign-in and return the CSRF token.

    A fresh CSRF token at every sign-in, so a token planted before it is worthless after.
    """
    token = new_csrf_token()
    set_session_cookie(response, session_value)
    set_csrf_cookie(response, token)
    return token


def clear_auth_cookies(response: Response) -> None:
    """Expire both cookies (logout)."""
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", httponly=httponly, samesite="lax", secure=_secure())


def csrf_cookie_header(token: str) -> str:
    """The ``Set-Cookie`` value for ``token``, for code that has no Response to call it on."""
    carrier = Response()
    set_csrf_cookie(carrier, token)
    return carrier.headers["set-cookie"]
