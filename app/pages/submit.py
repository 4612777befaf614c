"""The upload page (``/submit``): the contract, the caller's quota, and the upload form.

The form's script streams the file to ``POST /api/v1/submissions`` (the API route, which checks
size, format and quota while streaming) with a progress bar, then opens the model page. The
size limit is checked in the browser first so nobody waits for an upload bound to fail.

Without JavaScript the form posts to ``POST /submit``, which accepts the same upload through the
same code (:func:`app.submissions.intake.accept_upload`). Its CSRF token travels in the
multipart body, which is only read while streaming, so it is checked there — the form sends it
and the name before the file, so a forged post is refused before a byte of it is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import service as auth
from app.auth.cookies import SESSION_COOKIE
from app.auth.csrf import CSRF_FIELD, CSRF_HEADER, check_token, refuse_cross_site
from app.deps import OptionalUser, SessionDep
from app.pages.account import sign_in_redirect
from app.pages.templating import render
from app.settings import get_settings
from app.submissions import intake, quota, service
from app.submissions.schemas import SubmissionCreate

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


def _form_check(request: Request) -> Callable[[dict[str, str]], SubmissionCreate]:
    """The metadata check of the form: the CSRF token (field or header), then the fields."""

    def check(fields: dict[str, str]) -> SubmissionCreate:
        check_token(request, fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))
        return service.parse_metadata({k: v for k, v in fields.items() if k != CSRF_FIELD})

    return check


@router.post("/submit", response_model=None)
async def submit_form(request: Request, session: SessionDep) -> Response:
    """The upload without JavaScript: the same checks as the API, then the model page."""
    refuse_cross_site(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    viewer = (
        await run_in_threadpool(auth.user_for_cookie, session=session, cookie=cookie)
        if cookie
        else None
    )
    if viewer is None:
        return sign_in_redirect(request)
    created = await intake.accept_upload(
        request,
        session=session,
        owner=viewer,
        check_fields=_form_check(request),
        extra_fields=frozenset({CSRF_FIELD}),
    )
    return RedirectResponse(f"/submissions/{created.id}", status_code=303)
