"""Error pages: a browser that asked for a page gets HTML with the same status and sentence.

API paths and clients that do not accept HTML keep the JSON body of :mod:`app.errors`.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Request
from starlette.responses import Response

from app.auth import service as auth_service
from app.auth.models import User
from app.db import new_session
from app.pages.templating import render

NON_PAGES = ("/api/", "/static/", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json")


def wants_page(request: Request) -> bool:
    """A page route (not the API), asked for by something that reads HTML."""
    path = request.url.path
    accepts = request.headers.get("accept", "")
    return not path.startswith(NON_PAGES) and "text/html" in accepts


def _viewer(request: Request) -> User | None:
    """Who is signed in, for the navigation of the error page (never an error itself)."""
    cookie = request.cookies.get(auth_service.SESSION_COOKIE)
    if not cookie:
        return None
    try:
        with new_session() as session:
            return auth_service.user_for_cookie(session=session, cookie=cookie)
    except Exception:  # the page must still render when the database is what failed
        return None


def page_error(request: Request, status: int, message: str) -> Response | None:
    """The error page, or None so the caller answers in JSON."""
    if not wants_page(request):
        return None
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    context = {"status": status, "title": title, "message": message, "next": request.url.path}
    return render(request, "error.html", context, viewer=_viewer(request), status=status)
