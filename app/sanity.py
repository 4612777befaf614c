"""Requests refused before routing: a NUL byte anywhere in the URL.

No path or query parameter of this service accepts one, PostgreSQL cannot store or compare a
text containing one (it answered 500 for ``?q=%00`` and ``/versions/%00``), and a path with one
is a classic way to confuse file-name checks. One check at the door covers every route.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def _has_nul(scope: Scope) -> bool:
    encoded = (scope.get("raw_path") or b"", scope.get("query_string") or b"")
    return "\x00" in scope["path"] or any(b"%00" in part or b"\x00" in part for part in encoded)


class RefuseNulMiddleware:
    """400 with the standard error body for a URL that carries a NUL byte (raw or ``%00``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            message = "the URL contains a NUL character (%00), which no parameter here accepts"
            body = {"detail": {"code": "bad_request", "message": message}}
            await JSONResponse(body, 400)(scope, receive, send)
            return
        await self.app(scope, receive, send)
