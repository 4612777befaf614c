"""Accounts, sign-in, sessions and API tokens.

Every function takes keyword-only ``(*, session, ...)`` and owns its commit, so the routers, the
pages and ``gir-admin`` share one implementation. Secrets never leave this module in clear
except a new API token, returned once to its creator.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth import ratelimit
from app.auth.cookies import SESSION_COOKIE
from app.auth.models import ApiToken, User
from app.auth.schemas import PASSWORD_MAX, PASSWORD_MIN
from app.auth.security import (
    TOKEN_PREFIX,
    dummy_hash,
    hash_password,
    needs_rehash,
    new_api_token,
    password_fingerprint,
    read_session,
    same_secret,
    sign_session,
    token_digest,
    verify_password,
)
from app.db import CONTROL_CHARS, utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized

__all__ = [
    "SESSION_COOKIE",
    "change_password",
    "create_token",
    "create_user",
    "end_sessions",
    "list_tokens",
    "list_users",
    "login",
    "promote",
    "revoke_token",
    "session_cookie_for",
    "user_for_cookie",
    "user_for_token",
]

log = logging.getLogger(__name__)

BAD_LOGIN = "the e-mail address or the password is wrong"
LAST_USED_RESOLUTION = timedelta(minutes=1)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")


def normalize_email(email: str) -> str:
    """The stored form of an address: trimmed and lower-case, so one person is one account."""
    return email.strip().lower()


def _check_account(email: str, name: str, password: str) -> None:
    if len(email) > 254 or not _EMAIL.fullmatch(email) or _CONTROL.search(email):
        raise Invalid(f"{email!r} is not an e-mail address")
    if not name or len(name) > 80:
        raise Invalid("the name must have 1 to 80 characters")
    if _CONTROL.search(name):
        raise Invalid("the name must not contain control characters")
    _check_password(password, email)


def _check_password(password: str, email: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(f"the password must have {PASSWORD_MIN} to {PASSWORD_MAX} characters")
    if password.strip().lower() == email:
        raise Invalid("the password must not be the e-mail address")


def create_user(
    *, session: Session, email: str, name: str, password: str, admin: bool = False
) -> User:
    """Create an account (registration, ``gir-admin users create``); 409 if the address is taken."""
    email, name = normalize_email(email), name.strip()
    _check_account(email, name, password)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"an account with {email} already exists; sign in instead")
    user = User(email=email, name=name, password_hash=hash_password(password), is_admin=admin)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:  # a parallel registration won the unique index
        session.rollback()
        raise Conflict(f"an account with {email} already exists; sign in instead") from None
    log.info("user %s created (admin=%s)", user.id, admin)
    return user


def promote(*, session: Session, email: str) -> User:
    """Make an existing account an administrator (idempotent)."""
    address = normalize_email(email)
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        raise NotFound(f"no account with {address}")
    user.is_admin = True
    session.commit()
    return user


def list_users(*, session: Session) -> list[User]:
    """Every account, oldest first."""
    return list(session.scalars(select(User).order_by(User.id)))


def login(*, session: Session, email: str, password: str, client_ip: str | None) -> User:
    """Check a sign-in; 401 with one message for any wrong pair, 429 once rate-limited.

    Unknown addresses are verified against a dummy hash and recorded as failures like the
    others, so neither the answer, its timing nor the limiter tells which accounts exist.
    """
    address = normalize_email(email)
    if _CONTROL.search(address):  # cannot be anyone's address, nor stored as a counter key
        raise Invalid("the e-mail address contains control characters")
    keys = ratelimit.keys_for(address, client_ip)
    ratelimit.ensure_allowed(session=session, keys=keys)
    user = session.scalar(select(User).where(User.email == address))
    if user is None:
        verify_password(dummy_hash(), password)
    if user is None or not verify_password(user.password_hash, password):
        ratelimit.record_failure(session=session, keys=keys)
        log.info("failed sign-in from %s", client_ip)
        raise Unauthorized(BAD_LOGIN)
    ratelimit.forget(session=session, keys=keys)
    if needs_rehash(user.password_hash):
        # Hashing parameters changed since this hash was made: upgrade it while the password
        # is at hand. (Its fingerprint changes, so the user's other sessions end once.)
        user.password_hash = hash_password(password)
    session.commit()
    return user


def change_password(
    *,
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    client_ip: str | None = None,
) -> User:
    """Set a new password after checking the current one; every existing session ends.

    Wrong current passwords count against the account's sign-in limits, so a stolen session
    cannot be used to guess the password.
    """
    keys = ratelimit.keys_for(user.email, client_ip)
    ratelimit.ensure_allowed(session=session, keys=keys)
    if not verify_password(user.password_hash, current_password):
        ratelimit.record_failure(session=session, keys=keys)
        raise Forbidden("the current password is wrong")
    _check_password(new_password, user.email)
    user.password_hash = hash_password(new_password)
    session.commit()
    return user


def session_cookie_for(user: User) -> str:
    """A signed session cookie value for ``user`` (valid until expiry, a password change or a
    sign-out)."""
    return sign_session(user.id, user.password_hash, user.session_generation)


def user_for_cookie(*, session: Session, cookie: str) -> User | None:
    """The user of a valid signed session cookie; None if forged, expired or outdated."""
    claim = read_session(cookie)
    if claim is None:
        return None
    user = session.get(User, claim.user_id)
    if user is None or claim.generation != user.session_generation:
        return None
    if not same_secret(password_fingerprint(user.password_hash), claim.fingerprint):
        return None
    return user


def end_sessions(*, session: Session, user: User) -> None:
    """Sign ``user`` out on the server: every session cookie issued so far stops working.

    One counter per user rather than a sessions table: signing out ends the user's sessions in
    every browser, which is also what someone who fears a copied cookie wants.
    """
    bump = User.session_generation + 1  # in SQL, so parallel sign-outs add up
    session.execute(update(User).where(User.id == user.id).values(session_generation=bump))
    session.commit()


def create_token(*, session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token for ``user``: the row (hash and prefix) and the secret, shown once."""
    label = name.strip()
    if not label:
        raise Invalid("the token name must not be blank")
    minted = new_api_token()
    row = ApiToken(user_id=user.id, name=label, prefix=minted.prefix, token_hash=minted.digest)
    session.add(row)
    session.commit()
    return row, minted.secret


def list_tokens(*, session: Session, user: User) -> list[ApiToken]:
    """The caller's tokens, newest first, revoked ones included (marked)."""
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(session.scalars(query))


def revoke_token(*, session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of the caller's tokens (idempotent); another user's token is a 404."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"you have no API token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


def user_for_token(*, session: Session, token: str) -> User | None:
    """The owner of an active API token, recording its use.

    ``last_used_at`` is written at most once a minute per token, so a CI job polling the API
    does not turn every read into a write.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.commit()
    return row.user
