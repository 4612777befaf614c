"""CSRF protection: a double-submit token for every state-changing request a browser could forge.

The rule, enforced by :func:`verify_csrf` (every route that resolves the caller through
``app.deps.optional_user`` gets it, and other routes add ``dependencies=[CsrfProtected]``):

* GET/HEAD/OPTIONS are never checked — they must not change anything.
* A request with ``Authorization: Bearer …`` is exempt: browsers never attach that header on
  their own, so there is nothing ambient to abuse.
* A browser request marked ``Sec-Fetch-Site: cross-site`` is refused outright; this also stops
  login CSRF, which the token alone cannot (a cross-site POST carries no SameSite=Lax cookie).
* A request carrying neither ``gir_session`` nor ``gir_csrf`` has no ambient credential to
  forge — a script calling the JSON API, or a first visit — and passes.
* Sign-in and registration are stricter (:func:`verify_sign_in_csrf`): a forged one would plant
  the attacker's session in the victim's browser (login CSRF), and it needs no cookie to work.
  They require the token unless the body is JSON (``application/json``), which a page on
  another site can send only after a CORS preflight this service never approves; the sign-in
  and registration forms carry the token like every other form.
* Otherwise the token sent in the ``X-CSRF-Token`` header or the ``csrf_token`` form field must
  equal the ``gir_csrf`` cookie. A cross-site attacker can make the browser send the cookie, but
  cannot read it to echo it.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Depends, Request
from starlette.datastructures import FormData, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.cookies import CSRF_COOKIE, SESSION_COOKIE, csrf_cookie_header
from app.auth.security import new_csrf_token, same_secret
from app.errors import Forbidden

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STATE_KEY = "gir_csrf_new"
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")


class CsrfFailed(Forbidden):
    """403 with its own code, so a page script can tell it from a permission error."""

    code = "csrf_failed"


def csrf_token_for(request: Request) -> str:
    """The token a page embeds in its forms (``<input name="csrf_token">``) for this browser.

    Reuses the browser's ``gir_csrf`` cookie; otherwise mints one, remembered on the request so
    repeated calls agree, and :class:`CsrfCookieMiddleware` sets the cookie on the response (a
    page that does not run under the middleware calls ``cookies.set_csrf_cookie`` itself).
    """
    existing = request.cookies.get(CSRF_COOKIE, "")
    if _TOKEN_SHAPE.fullmatch(existing):
        return existing
    state: dict[str, Any] = request.scope.setdefault("state", {})
    if _STATE_KEY not in state:
        state[_STATE_KEY] = new_csrf_token()
    return str(state[_STATE_KEY])


def bearer_token(request: Request) -> str | None:
    """The API token of an ``Authorization: Bearer …`` header ("" if the header names no token),
    or None when the request carries no bearer header. The only parser of that header: the CSRF
    exemption and the caller's identity (``app.deps``) must agree on what counts as a bearer."""
    scheme, space, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not space:
        return None
    return token.strip()


def has_bearer(request: Request) -> bool:
    """Whether the caller authenticates with an API token rather than the cookie."""
    return bearer_token(request) is not None


def refuse_cross_site(request: Request) -> None:
    """403 for a browser request marked ``Sec-Fetch-Site: cross-site``."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfFailed("cross-site requests cannot change anything here")


def check_token(request: Request, sent: str | None) -> None:
    """403 unless ``sent`` equals this browser's ``gir_csrf`` cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not sent or not same_secret(cookie, sent):
        raise CsrfFailed(
            f"missing or wrong CSRF token: send the {CSRF_COOKIE} cookie's value in the "
            f"{CSRF_HEADER} header or the {CSRF_FIELD} form field (or use an API token)"
        )


async def verify_csrf(request: Request) -> None:
    """Refuse a forgeable state-changing request (the rule is in the module docstring)."""
    if request.method not in UNSAFE_METHODS or has_bearer(request):
        return
    refuse_cross_site(request)
    if CSRF_COOKIE not in request.cookies and SESSION_COOKIE not in request.cookies:
        return
    check_token(request, request.headers.get(CSRF_HEADER) or await _form_token(request))


async def _form_token(request: Request) -> str | None:
    kind = request.headers.get("content-type", "")
    form: FormData | None = None
    if kind.startswith("application/x-www-form-urlencoded"):
        form = await request.form()  # small by nature; Starlette caches it for the route
    elif kind.startswith("multipart/form-data"):
        # Only a form FastAPI has already parsed (the route declares Form/File fields): parsing
        # here would swallow the body of a route that streams its upload itself. Such routes
        # take the token in the header.
        form = getattr(request, "_form", None)
    if form is None:
        return None
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def _is_json(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


async def verify_sign_in_csrf(request: Request) -> None:
    """Refuse login CSRF: the token is required on sign-in and registration even without
    cookies and without ``Sec-Fetch-Site``, except for JSON bodies (see the module docstring)."""
    if _is_json(request) or has_bearer(request):  # neither can come from another site's form
        await verify_csrf(request)
        return
    refuse_cross_site(request)
    check_token(request, request.headers.get(CSRF_HEADER) or await _form_token(request))


CsrfProtected = Depends(verify_csrf)
SignInCsrf = Depends(verify_sign_in_csrf)


class CsrfCookieMiddleware:
    """Sets the ``gir_csrf`` cookie when :func:`csrf_token_for` minted a token for the request.

    Pure ASGI (not ``BaseHTTPMiddleware``) so uploads stream through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            token = state.get(_STATE_KEY)
            if message["type"] == "http.response.start" and token:
                MutableHeaders(scope=message).append("set-cookie", csrf_cookie_header(token))
            await send(message)

        await self.app(scope, receive, send_with_cookie)
