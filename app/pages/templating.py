"""Jinja2 rendering for the pages: one environment, the filters numbers need, security headers.

Templates and static files live in ``frontend/`` (no CDN, no remote fonts: the service must work
offline). Autoescaping is on for every template, so model names, descriptions and owners are
always text; the Content-Security-Policy forbids inline scripts and styles as a second line of
defence — page scripts read their data from ``data-`` attributes instead.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.auth.csrf import csrf_token_for
from app.auth.models import User
from app.submissions.status import FINISHED, RESCORABLE, Status

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
TEMPLATES = FRONTEND / "templates"
STATIC = FRONTEND / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@cache
def _static_version(name: str) -> str:
    """A content hash for cache busting: a changed file gets a new URL (read once)."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """``/static/<name>?v=<hash>`` so browsers may cache static files for a long time.

    Example:
        >>> static_url("app.css").startswith("/static/app.css?v=")
        True
    """
    return f"/static/{name}?v={_static_version(name)}"


def number(value: float | int | None, digits: int = 2) -> str:
    """A value for a table cell: fixed digits, an en dash for missing or non-finite values.

    Example:
        >>> number(0.5), number(None), number(float("nan")), number(27.123, 1)
        ('0.50', '–', '–', '27.1')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}"


def signed(value: float | None, digits: int = 2) -> str:
    """A difference with its sign (``+0.41``), or an en dash.

    Example:
        >>> signed(0.414), signed(-1.0, 1), signed(None)
        ('+0.41', '-1.0', '–')
    """
    return "–" if value is None else f"{value:+.{digits}f}"


def count(value: int | None) -> str:
    """An integer with thin thousands separators (parameters), or an en dash.

    Example:
        >>> count(1234567).replace("\\u202f", " "), count(None)
        ('1 234 567', '–')
    """
    return "–" if value is None else f"{value:,}".replace(",", "\u202f")


def size(value: int) -> str:
    """A file size in the unit that shows it best (binary units, as the upload limit).

    Example:
        >>> size(800), size(20_480), size(5 * 2**20 + 1)
        ('800 B', '20.0 KiB', '5.0 MiB')
    """
    if value < 1024:
        return f"{value} B"
    if value < 2**20:
        return f"{value / 1024:.1f} KiB"
    return f"{value / 2**20:.1f} MiB" if value < 2**30 else f"{value / 2**30:.2f} GiB"


def date(value: datetime | None) -> str:
    """A UTC date and time to the minute, as people read it on a leaderboard.

    Example:
        >>> date(datetime(2026, 11, 27, 9, 5, 3, tzinfo=UTC))
        '2026-11-27 09:05'
    """
    if value is None:
        return "–"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M")


def duration(seconds: float | None) -> str:
    """A span of time for people: ``42 s``, ``3 min 20 s``, ``2 h 05 min``.

    Example:
        >>> duration(42.4), duration(200), duration(300), duration(7500), duration(None)
        ('42 s', '3 min 20 s', '5 min', '2 h 05 min', '–')
    """
    if seconds is None or not math.isfinite(seconds):
        return "–"
    total = round(max(seconds, 0.0))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        minutes, seconds = divmod(total, 60)
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def query(base: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2`` from ``base`` updated by ``changes``; None and defaults are left out.

    Example:
        >>> query({"sort": "ar", "q": None}, offset=50)
        '?sort=ar&offset=50'
    """
    merged = {**base, **changes}
    pairs = {
        key: ("true" if value is True else "false" if value is False else value)
        for key, value in merged.items()
        if value is not None and value != ""
    }
    return "?" + urlencode(pairs) if pairs else ""


@cache
def templates() -> Jinja2Templates:
    """The environment, built once: filters and globals every template may use."""
    found = Jinja2Templates(directory=str(TEMPLATES))
    env = found.env
    env.filters.update(
        number=number, signed=signed, count=count, date=date, duration=duration, size=size
    )
    env.globals.update(
        static_url=static_url, qs=query, Status=Status, FINISHED=FINISHED, RESCORABLE=RESCORABLE
    )
    env.trim_blocks, env.lstrip_blocks = True, True
    return found


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    viewer: User | None,
    status: int = 200,
) -> HTMLResponse:
    """Render a page with the viewer and this browser's CSRF token, and the security headers.

    Pages are per-viewer (navigation, owner-only parts), so shared caches must not keep them.
    """
    page = {"viewer": viewer, "csrf_token": csrf_token_for(request), **context}
    response = templates().TemplateResponse(request, name, page, status_code=status)
    response.headers.update(HEADERS)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
