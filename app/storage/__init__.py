"""The storage layer: model files, GT images, logs and the synthesis cache, by key.

One small interface, two backends: :class:`~app.storage.local.LocalStorage` (a folder: a local
disk for one machine) and :class:`~app.storage.s3.S3Storage` (an S3-compatible bucket for many
machines, read by workers through a local content-addressed cache). Either way a key holds its
complete bytes or nothing. ``GIR_STORAGE_URL`` chooses: a folder path or ``file://…``, or
``s3://bucket/prefix``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from app.settings import get_settings
from app.storage.base import (
    CHUNK,
    SYNTHESIS_CACHE,
    KeyMissing,
    Storage,
    StorageError,
    StorageUnavailable,
    Writer,
    check_key,
    put_bytes,
    put_file,
    write_chunks,
)

__all__ = [
    "CHUNK",
    "SYNTHESIS_CACHE",
    "KeyMissing",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "Writer",
    "check_key",
    "get_storage",
    "open_storage",
    "put_bytes",
    "put_file",
    "write_chunks",
]


def open_storage(url: str, *, cache_dir: Path, cache_max_bytes: int) -> Storage:
    """The backend for ``url``: ``s3://bucket/prefix`` or a folder (``file://`` optional).

    Raises:
        StorageError: an S3 URL without a bucket, or another scheme.
    """
    if url.startswith("s3://"):
        from app.storage.cache import ObjectCache
        from app.storage.s3 import S3Storage, parse_s3_url

        bucket, prefix = parse_s3_url(url)
        return S3Storage(bucket, prefix, ObjectCache(cache_dir, cache_max_bytes))
    from app.storage.local import LocalStorage, local_folder

    return LocalStorage(local_folder(url))


@lru_cache(maxsize=4)
def _cached(url: str, cache_dir: Path, cache_max_bytes: int, pid: int) -> Storage:
    """One backend per configuration and process: an S3 client is costly to make, and a
    forked worker must not share its parent's connections (hence ``pid`` in the key)."""
    del pid
    return open_storage(url, cache_dir=cache_dir, cache_max_bytes=cache_max_bytes)


def get_storage() -> Storage:
    """Storage for the configured ``GIR_STORAGE_URL`` (or ``GIR_STORAGE_DIR``)."""
    settings = get_settings()
    return _cached(
        settings.storage_location, settings.cache_dir, settings.cache_max_bytes, os.getpid()
    )
