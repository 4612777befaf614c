"""FastAPI dependencies as ``Annotated`` aliases: the session, a row id, the caller.

The caller's identity comes only from a bearer API token or the signed session cookie — never
from the request body. Resolving the caller also enforces CSRF protection (``app.auth.csrf``), so
every route that knows its caller refuses forged cookie-authenticated writes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.csrf import CsrfProtected, bearer_token
from app.auth.models import User
from app.db import DB_INT_MAX, session_scope
from app.errors import Unauthorized

SessionDep = Annotated[Session, Depends(session_scope)]
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="A row id (1 to 2³¹−1).")]
"""A path id: out-of-range ids are a 422 here rather than a database error (500)."""


def optional_user(
    request: Request, session: SessionDep, _csrf: Annotated[None, CsrfProtected]
) -> User | None:
    """The authenticated caller, or None for anonymous requests (after the CSRF check)."""
    token = bearer_token(request)
    if token is not None:
        user = auth_service.user_for_token(session=session, token=token)
        if user is None:
            raise Unauthorized("the API token is invalid or revoked")
        return user
    cookie = request.cookies.get(auth_service.SESSION_COOKIE)
    if cookie:
        return auth_service.user_for_cookie(session=session, cookie=cookie)
    return None


OptionalUser = Annotated[User | None, Depends(optional_user)]


def require_user(user: OptionalUser) -> User:
    """The caller, or 401 for anonymous requests."""
    if user is None:
        raise Unauthorized("sign in or send an API token (Authorization: Bearer …)")
    return user


CurrentUser = Annotated[User, Depends(require_user)]
