"""Request and response bodies of the auth area (pydantic v2).

Unknown fields in a request body are ignored: identity (a ``user_id``, an ``is_admin``) is
never read from a body, so sending one changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.db import PRINTABLE

PASSWORD_MIN = 10
PASSWORD_MAX = 256  # argon2 takes any length; the cap only bounds the work one request can ask


class UserCreate(BaseModel):
    """Registration form."""

    email: str = Field(
        min_length=3, max_length=254, pattern=PRINTABLE, examples=["ada@example.org"]
    )
    name: str = Field(min_length=1, max_length=80, pattern=PRINTABLE, examples=["Ada Lovelace"])
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class LoginCreate(BaseModel):
    """Sign-in form. No length rules: a wrong password must fail like any other (401)."""

    email: str = Field(max_length=254, pattern=PRINTABLE)
    password: str = Field(max_length=PASSWORD_MAX)


class PasswordUpdate(BaseModel):
    """Change one's own password (signs out every other session)."""

    current_password: str = Field(max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class UserRead(BaseModel):
    """A user as the API shows it (never the password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    is_admin: bool


class SessionRead(BaseModel):
    """The answer to a sign-in: who, and the CSRF token to echo in ``X-CSRF-Token``."""

    user: UserRead
    csrf_token: str


class TokenCreate(BaseModel):
    """A new API token's label (e.g. the CI system using it)."""

    name: str = Field(min_length=1, max_length=80, pattern=PRINTABLE, examples=["github-actions"])


class TokenRead(BaseModel):
    """An API token in a list: identified by its prefix; the secret is never shown again."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


class TokenCreated(TokenRead):
    """The one response that carries the token itself."""

    token: str = Field(description="Shown once: store it now (e.g. as a CI secret).")
