"""The cryptography of the auth area, free of HTTP and database code: password hashes, API token
secrets and signed session cookies.

Kept apart from the service so each primitive is one small function that can be read (and
reviewed) at once, and so the service reads as policy rather than as byte juggling.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.auth.hashgate import hashing
from app.settings import Settings, get_settings

SESSION_MAX_AGE_S = 14 * 24 * 3600
TOKEN_PREFIX = "gir_"
TOKEN_LIST_PREFIX_LEN = 12
_SESSION_SALT = "gir-session-v1"
_FINGERPRINT_SALT = b"gir-password-fingerprint-v1"


@lru_cache
def _hasher_for(environment: str) -> PasswordHasher:
    # argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, 64 MiB, p=4) everywhere people
    # log in. The test environment alone uses the cheapest argon2id parameters that still run
    # the same code path, because the suite hashes dozens of passwords on 2 cores; hashes carry
    # their parameters, so a test hash is never accepted as a production-strength one — a later
    # login with production settings re-hashes it (see ``needs_rehash``).
    if environment == "test":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def hasher() -> PasswordHasher:
    """The password hasher for the configured environment."""
    return _hasher_for(get_settings().environment)


def hash_password(password: str) -> str:
    """An argon2id hash (salt and parameters included in the string), inside the hash gate."""
    with hashing():
        return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; a malformed stored hash counts as a mismatch."""
    try:
        with hashing():
            return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (upgrade it on login)."""
    return hasher().check_needs_rehash(password_hash)


@lru_cache
def dummy_hash() -> str:
    """A hash to verify against when the e-mail is unknown, so both cases take as long."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class NewToken:
    """A freshly minted API token: ``secret`` is shown once; only ``digest`` is stored."""

    secret: str
    digest: str
    prefix: str


def new_csrf_token() -> str:
    """A random token for the ``gir_csrf`` cookie (the double-submit token of ``app.auth.csrf``)."""
    return secrets.token_urlsafe(32)


def new_api_token() -> NewToken:
    """A random bearer token (256 bits) with its SHA-256 and the prefix shown in lists."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return NewToken(secret, token_digest(secret), secret[:TOKEN_LIST_PREFIX_LEN])


def token_digest(secret: str) -> str:
    """SHA-256 hex of a token: tokens are high-entropy, so a fast hash is enough to store."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_fingerprint(password_hash: str, settings: Settings | None = None) -> str:
    """A keyed digest of the password hash, put in session cookies.

    A new password means a new salted hash, hence a new fingerprint, so every cookie issued before
    the change stops working without a sessions table. Keyed so the cookie (readable by its
    holder) reveals nothing about the stored hash.
    """
    key = (settings or get_settings()).secret_key.encode() + _FINGERPRINT_SALT
    return hmac.new(key, password_hash.encode(), hashlib.sha256).hexdigest()[:24]


def _serializer(settings: Settings | None = None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer((settings or get_settings()).secret_key, salt=_SESSION_SALT)


def sign_session(user_id: int, password_hash: str, generation: int = 0) -> str:
    """The session cookie value: user id, password fingerprint and the user's session generation
    (bumped at sign-out, so the cookie dies on the server too), signed and timestamped."""
    payload = {"u": user_id, "f": password_fingerprint(password_hash), "g": generation}
    return _serializer().dumps(payload)


@dataclass(frozen=True)
class SessionClaim:
    """What a valid cookie asserts; the service still checks fingerprint and generation."""

    user_id: int
    fingerprint: str
    generation: int = 0


def read_session(cookie: str, max_age_s: int = SESSION_MAX_AGE_S) -> SessionClaim | None:
    """The claim of a genuine, unexpired cookie, else None (tampered, expired, or garbage)."""
    try:
        payload = _serializer().loads(cookie, max_age=max_age_s)
    except BadSignature:  # SignatureExpired is a subclass
        return None
    if not isinstance(payload, dict):
        return None
    user_id, fingerprint = payload.get("u"), payload.get("f")
    generation = payload.get("g", 0)  # cookies from before generations existed: the first one
    if not isinstance(user_id, int) or not isinstance(generation, int):
        return None
    if not isinstance(fingerprint, str):
        return None
    return SessionClaim(user_id, fingerprint, generation)


def same_secret(a: str, b: str) -> bool:
    """Constant-time string comparison (CSRF tokens, fingerprints)."""
    return hmac.compare_digest(a.encode(), b.encode())
