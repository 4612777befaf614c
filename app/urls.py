"""The URL settings' checks: each accepts only the schemes GIR Bench runs on, so a typo in
``GIR_DATABASE_URL`` (or the broker, storage or public URL) stops the process at start with a
sentence naming the variable, rather than surfacing later deep inside SQLAlchemy, kombu or boto3.

The values stay plain ``str`` (code compares prefixes and hands them to those libraries as they
are). Messages never repeat the value: a database or broker URL may hold a password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
BROKER_SCHEMES = ("redis", "rediss", "filesystem", "memory")
PUBLIC_SCHEMES = ("http", "https")


def _scheme(value: str) -> str:
    # Case-sensitive on purpose: the code compares lower-case prefixes (``startswith("s3://")``).
    return value.partition("://")[0] if "://" in value else ""


def check_database_url(value: str) -> str:
    """SQLite (the embedded setup) or PostgreSQL through psycopg 3, the driver installed."""
    scheme = _scheme(value)
    if scheme == "postgresql" or scheme.startswith("postgresql+"):
        if scheme != "postgresql+psycopg":
            raise ValueError(
                "GIR_DATABASE_URL: PostgreSQL is reached through psycopg 3, write "
                "postgresql+psycopg://user:password@host:5432/database"
            )
    elif scheme not in DATABASE_DRIVERS:
        raise ValueError(
            "GIR_DATABASE_URL must start with sqlite:/// (a file) or postgresql+psycopg:// "
            f"(got the scheme {scheme or 'none'!r})"
        )
    parts = urlsplit(value)
    # A Unix socket is named in the query (postgresql+psycopg:///db?host=/run/postgresql).
    socket = any(item.startswith("host=") for item in parts.query.split("&"))
    if scheme.startswith("postgresql") and not (parts.hostname or socket):
        raise ValueError(
            "GIR_DATABASE_URL names no PostgreSQL host (postgresql+psycopg://…@host/db, or "
            "?host=/path/to/socket for a Unix socket)"
        )
    return value


def check_broker_url(value: str) -> str:
    """Redis in production, the filesystem broker embedded, memory in tests."""
    scheme = _scheme(value)
    if scheme not in BROKER_SCHEMES:
        raise ValueError(
            "GIR_BROKER_URL must start with redis://, rediss://, filesystem:// or memory:// "
            f"(got the scheme {scheme or 'none'!r})"
        )
    if scheme in ("redis", "rediss") and not urlsplit(value).hostname:
        raise ValueError("GIR_BROKER_URL names no Redis host (redis://host:6379/0)")
    return value


def storage_folder(url: str) -> Path:
    """The folder of a ``file://…`` storage URL or a plain path.

    Raises:
        ValueError: a URL of another scheme than ``file`` (``s3://`` is not a folder).
    """
    if url.startswith("file://"):
        return Path(url.removeprefix("file://"))
    if "://" in url:
        raise ValueError(
            f"storage URL with the scheme {_scheme(url)!r}: use a folder path, file:///path or "
            "s3://bucket/prefix"
        )
    return Path(url)


def check_storage_url(value: str) -> str:
    """Empty (``GIR_STORAGE_DIR`` then), ``s3://bucket/prefix``, ``file:///path`` or a path."""
    if not value or value.startswith(("s3://", "file://")) or "://" not in value:
        return value
    raise ValueError(
        "GIR_STORAGE_URL must be s3://bucket/prefix, file:///path or a folder path "
        f"(got the scheme {_scheme(value)!r})"
    )


def check_public_url(value: str) -> str:
    """The address users reach the service at: it goes into links, badges and cookie flags."""
    parts = urlsplit(value)
    if parts.scheme not in PUBLIC_SCHEMES or not parts.hostname:
        raise ValueError(
            "GIR_PUBLIC_URL must be an http:// or https:// address with a host "
            "(e.g. https://bench.example.org)"
        )
    return value


DatabaseUrl = Annotated[str, AfterValidator(check_database_url)]
BrokerUrl = Annotated[str, AfterValidator(check_broker_url)]
StorageUrl = Annotated[str, AfterValidator(check_storage_url)]
PublicUrl = Annotated[str, AfterValidator(check_public_url)]
