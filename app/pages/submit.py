"""The upload page (``/submit``): the contract, the caller's quota, and the upload form.

The form's script streams the file to ``POST /api/v1/submissions`` (the API route, which checks
size, format and quota while streaming) with a progress bar, then opens the model page. The
size limit is checked in the browser first so nobody waits for an upload bound to fail.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import OptionalUser, SessionDep
from app.pages.templating import render
from app.settings import get_settings
from app.submissions import quota

router = APIRouter(include_in_schema=False)


@router.get("/submit", response_class=HTMLResponse)
def submit_page(request: Request, session: SessionDep, viewer: OptionalUser) -> HTMLResponse:
    """The form for signed-in users; for visitors, the contract and a way to sign in."""
    context = {
        "nav": "submit",
        "quota": quota.read_quota(session=session, owner=viewer) if viewer is not None else None,
        "max_bytes": get_settings().max_upload_mb << 20,
        "max_mb": get_settings().max_upload_mb,
    }
    return render(request, "submit.html", context, viewer=viewer)
