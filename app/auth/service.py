"""Accounts, sessions and API tokens (placeholder until the auth area lands)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.auth.models import User

SESSION_COOKIE = "gir_session"


def user_for_token(*, session: Session, token: str) -> User | None:
    """The owner of an active API token."""
    raise NotImplementedError


def user_for_cookie(*, session: Session, cookie: str) -> User | None:
    """The user of a valid signed session cookie."""
    raise NotImplementedError
