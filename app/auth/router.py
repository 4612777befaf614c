"""HTTP routes of the auth area (thin: parse, call the service, set cookies, return).

Sign-in answers with the user and a CSRF token and sets two cookies (see ``app.auth.cookies``);
scripts and CI use ``Authorization: Bearer gir_…`` tokens instead and need neither.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from app.auth import service
from app.auth.cookies import (
    SESSION_COOKIE,
    clear_auth_cookies,
    set_session_cookie,
    start_session,
)
from app.auth.csrf import CsrfProtected, SignInCsrf, has_bearer
from app.auth.models import ApiToken, User
from app.auth.schemas import (
    LoginCreate,
    PasswordUpdate,
    SessionRead,
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
)
from app.auth.throttle import client_address, limited
from app.deps import CurrentUser, OptionalUser, RowId, SessionDep
from app.errors import Forbidden

router = APIRouter(tags=["auth"])

# Error answers, documented for /docs; every body is {"detail": {"code", "message"}}.
_ANON: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in, or bad token"}}
_CSRF: dict[int | str, dict[str, Any]] = {403: {"description": "CSRF token missing or wrong"}}
_BUSY: dict[int | str, dict[str, Any]] = {
    503: {"description": "Too many passwords being checked at once; see Retry-After"}
}
_REGISTER = (
    _CSRF
    | _BUSY
    | {
        409: {"description": "The e-mail address is taken"},
        429: {"description": "Too many registrations from this address or overall"},
    }
)
_LOGIN = (
    _CSRF
    | _BUSY
    | {
        401: {"description": "Wrong e-mail address or password (one message for both)"},
        429: {"description": "Too many attempts or failed sign-ins; see Retry-After"},
    }
)
REGISTER_GUARDS = [SignInCsrf, Depends(limited("register"))]
"""Login CSRF first (a forged request must not spend the victim's address budget), then the
request-rate limit, before any hashing."""
LOGIN_GUARDS = [SignInCsrf, Depends(limited("login"))]

_TOKEN_ID = _ANON | _CSRF | {404: {"description": "No such token of yours"}}


def _signed_in(response: Response, user: User) -> SessionRead:
    token = start_session(response, service.session_cookie_for(user))
    return SessionRead(user=UserRead.model_validate(user), csrf_token=token)


def require_session_user(request: Request, user: CurrentUser) -> User:
    """The caller, signed in with the cookie: a leaked API token must not mint new ones."""
    if has_bearer(request):
        raise Forbidden("create API tokens from a signed-in session, not with another token")
    return user


SessionUser = Annotated[User, Depends(require_session_user)]


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    dependencies=REGISTER_GUARDS,
    responses=_REGISTER,
    summary="Create an account",
)
def register(body: UserCreate, session: SessionDep) -> UserRead:
    """Create an account; 409 if the e-mail address is taken."""
    user = service.create_user(
        session=session, email=body.email, name=body.name, password=body.password
    )
    return UserRead.model_validate(user)


@router.post(
    "/auth/login",
    dependencies=LOGIN_GUARDS,
    responses=_LOGIN,
    summary="Sign in (session cookie)",
)
def login(
    body: LoginCreate, request: Request, response: Response, session: SessionDep
) -> SessionRead:
    """Check the password and set the session cookie; 401 if wrong, 429 when rate-limited."""
    user = service.login(
        session=session,
        email=body.email,
        password=body.password,
        client_ip=client_address(request),
    )
    return _signed_in(response, user)


@router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[CsrfProtected],
    responses=_CSRF,
    summary="Sign out (ends the session on the server, clears the cookies)",
)
def logout(request: Request, response: Response, user: OptionalUser, session: SessionDep) -> None:
    """End the caller's sessions on the server (a copied cookie dies too) and clear the
    cookies; API tokens are unaffected (revoke those one by one)."""
    if user is not None and not has_bearer(request):
        service.end_sessions(session=session, user=user)
    clear_auth_cookies(response)


@router.get("/me", responses=_ANON, summary="The caller's account")
def me(user: CurrentUser) -> UserRead:
    """Who the cookie or token belongs to."""
    return UserRead.model_validate(user)


@router.put(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_ANON
    | {
        403: {"description": "CSRF failure, or the current password is wrong"},
        429: {"description": "Too many wrong current passwords; see Retry-After"},
    },
    summary="Change the password (ends every other session)",
)
def change_password(
    body: PasswordUpdate,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
) -> None:
    """Set a new password; sessions elsewhere end, and a signed-in browser gets a new cookie."""
    service.change_password(
        session=session,
        user=user,
        current_password=body.current_password,
        new_password=body.new_password,
        client_ip=client_address(request),
    )
    if SESSION_COOKIE in request.cookies:
        set_session_cookie(response, service.session_cookie_for(user))


def _token_read(row: ApiToken) -> TokenRead:
    return TokenRead.model_validate(row)


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    responses=_ANON | {403: {"description": "CSRF failure, or called with an API token"}},
    summary="Create an API token",
)
def create_token(body: TokenCreate, user: SessionUser, session: SessionDep) -> TokenCreated:
    """A new bearer token for CI; the response is the only time the token is shown."""
    row, secret = service.create_token(session=session, user=user, name=body.name)
    return TokenCreated(**_token_read(row).model_dump(), token=secret)


@router.get("/tokens", responses=_ANON, summary="List the caller's API tokens")
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenRead]:
    """Name, prefix and use times of each token — never the token itself."""
    return [_token_read(row) for row in service.list_tokens(session=session, user=user)]


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_TOKEN_ID,
    summary="Revoke an API token",
)
def revoke_token(token_id: RowId, user: CurrentUser, session: SessionDep) -> None:
    """Revoke one of the caller's tokens; it stops working at once. Others' tokens are 404."""
    service.revoke_token(session=session, user=user, token_id=token_id)
