"""Account pages: register, sign in, sign out, API tokens and the caller's submissions.

Plain HTML forms (they work without JavaScript) posting to these routes, each carrying the
``csrf_token`` field; the routes call the same auth services as the JSON API. A refused form is
shown again with the sentence and the status of the API's answer (409, 422, 401, 429).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.auth import service as auth
from app.auth.cookies import clear_auth_cookies, start_session
from app.auth.csrf import CsrfProtected
from app.auth.models import User
from app.auth.router import LOGIN_GUARDS, REGISTER_GUARDS, require_session_user
from app.auth.schemas import TokenCreate, UserCreate
from app.auth.throttle import client_address
from app.deps import OptionalUser, RowId, SessionDep
from app.errors import Invalid, ServiceError, first_problem
from app.pages.templating import render
from app.submissions import quota
from app.submissions import service as submissions
from app.submissions.schemas import SubmissionFilters

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a local path only (no open redirect to another site).

    Example:
        >>> [safe_next(t) for t in ("/submit", "//evil.example", "https://x", None)]
        ['/submit', '/account', '/account', '/account']
    """
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/account"


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the sign-in page, and back here afterwards."""
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def _signed_in(user: User, target: str) -> RedirectResponse:
    response = RedirectResponse(safe_next(target), status_code=303)
    start_session(response, auth.session_cookie_for(user))
    return response


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, viewer: OptionalUser) -> HTMLResponse:
    """The registration form."""
    return render(request, "register.html", {"nav": "register", "form": {}}, viewer=viewer)


@router.post("/register", dependencies=REGISTER_GUARDS, response_model=None)
def register(
    request: Request, session: SessionDep, email: Field = "", name: Field = "", password: Field = ""
) -> Response:
    """Create the account and sign in; the form again with the reason if refused."""
    form = {"email": email, "name": name}
    try:
        body = UserCreate.model_validate({**form, "password": password})
    except ValidationError as error:
        return _refused(request, "register.html", form, Invalid(first_problem(error.errors())))
    try:
        user = auth.create_user(
            session=session, email=body.email, name=body.name, password=body.password
        )
    except ServiceError as error:
        return _refused(request, "register.html", form, error)
    return _signed_in(user, "/account")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, viewer: OptionalUser, next: str = "/account") -> HTMLResponse:
    """The sign-in form."""
    context = {"nav": "login", "form": {}, "next": safe_next(next)}
    return render(request, "login.html", context, viewer=viewer)


@router.post("/login", dependencies=LOGIN_GUARDS, response_model=None)
def login(
    request: Request,
    session: SessionDep,
    email: Field = "",
    password: Field = "",
    next: Field = "/account",
) -> Response:
    """Check the password and sign in; the form again (401/429) if refused."""
    client_ip = client_address(request)
    try:
        user = auth.login(session=session, email=email, password=password, client_ip=client_ip)
    except ServiceError as error:
        form = {"email": email}
        return _refused(request, "login.html", form, error, next=safe_next(next))
    return _signed_in(user, next)


@router.post("/logout", dependencies=[CsrfProtected])
def logout(session: SessionDep, viewer: OptionalUser) -> RedirectResponse:
    """End the session on the server and forget it in this browser."""
    if viewer is not None:
        auth.end_sessions(session=session, user=viewer)
    response = RedirectResponse("/", status_code=303)
    clear_auth_cookies(response)
    return response


def _refused(
    request: Request, template: str, form: dict[str, str], error: ServiceError, **extra: Any
) -> HTMLResponse:
    context = {"form": form, "error": error.message, **extra}
    response = render(request, template, context, viewer=None, status=error.status)
    if "retry_after" in error.extra:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def _account(
    request: Request, session: SessionDep, user: User, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    mine = submissions.list_submissions(
        session=session, viewer=user, filters=SubmissionFilters(owner="me", limit=100)
    )
    context = {
        "nav": "account",
        "tokens": auth.list_tokens(session=session, user=user),
        "mine": mine,
        "quota": quota.read_quota(session=session, owner=user),
        **extra,
    }
    return render(request, "account.html", context, viewer=user, status=status)


@router.get("/account", response_model=None)
def account_page(request: Request, session: SessionDep, viewer: OptionalUser) -> Response:
    """Tokens, quota and the caller's submissions (sign-in page for anonymous visitors)."""
    if viewer is None:
        return sign_in_redirect(request)
    return _account(request, session, viewer)


@router.post("/account/tokens", response_model=None)
def create_token(
    request: Request, session: SessionDep, viewer: OptionalUser, name: Field = ""
) -> Response:
    """Make a token and show it once on the account page."""
    if viewer is None:
        return sign_in_redirect(request)
    user = require_session_user(request, viewer)
    try:
        body = TokenCreate.model_validate({"name": name})
    except ValidationError as error:
        message = first_problem(error.errors())
        return _account(request, session, user, token_error=message, status=422)
    row, secret = auth.create_token(session=session, user=user, name=body.name)
    return _account(request, session, user, new_token=secret, new_token_name=row.name)


@router.post("/account/tokens/{token_id}/revoke", response_model=None)
def revoke_token(
    token_id: RowId, request: Request, session: SessionDep, viewer: OptionalUser
) -> Response:
    """Revoke one of the caller's tokens (404 page for anyone else's)."""
    if viewer is None:
        return sign_in_redirect(request)
    auth.revoke_token(session=session, user=viewer, token_id=token_id)
    return RedirectResponse("/account", status_code=303)
