"""A request id for every HTTP request, on each of its log lines and in its response, and one
access line per request.

The id is taken from an incoming ``X-Request-ID`` only when it has a strict, harmless shape (a
proxy in front that already assigned one keeps it); anything else is replaced by a random one, so
a client can neither inject text into the logs through it nor learn anything from it (it is
derived from nothing but randomness). The access line names the method, the path — never the
query string, which may carry anything — the status and the duration; no header, cookie or token
is ever logged.

Pure ASGI (not ``BaseHTTPMiddleware``) so uploads stream through untouched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id

HEADER = "X-Request-ID"
ID_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
"""8 to 64 letters, digits, dots, dashes and underscores (a UUID fits), starting alphanumeric."""
PATH_MAX = 300

access_log = logging.getLogger("app.access")


def choose_request_id(incoming: str | None) -> str:
    """``incoming`` when it has :data:`ID_SHAPE`, else a new random id (32 hex digits)."""
    if incoming is not None and ID_SHAPE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets :data:`app.logs.request_id` for the request, returns it in ``X-Request-ID`` and
    writes the access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = choose_request_id(Headers(scope=scope).get(HEADER))
        token = request_id.set(chosen)
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = chosen
            await send(message)

        error: str | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as raised:
            error = type(raised).__name__  # the traceback is logged by the server
            raise
        finally:
            fields = {
                "method": scope["method"],
                "path": scope["path"][:PATH_MAX],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            if error is not None:
                fields["error"] = error
            access_log.info("request", extra=fields)
            request_id.reset(token)
