"""The storage interface every backend implements, its errors and the helpers built on it.

Apart from the package's ``__init__`` (which picks a backend) so that the backends can import
these names without importing the module that imports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from gir_core.errors import GirError

SYNTHESIS_CACHE = "cache/synthesis"
"""Storage key of the degraded-input cache: content-addressed, shared by every worker (and
filled ahead of them by the demo)."""
CHUNK = 1 << 20
"""Bytes per read when streaming a key out (downloads, copies, hashing)."""

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class StorageError(GirError):
    """Storage is unavailable or a key is malformed."""


class StorageUnavailable(StorageError):  # noqa: N818 - reads as a state, like NotFound
    """Storage cannot be reached right now (network, server down): worth retrying later."""


class KeyMissing(StorageError):  # noqa: N818
    """The key holds no bytes."""


def check_key(key: str) -> str:
    """``key`` itself if it is a safe relative name (letters, digits, ``._-`` and ``/``)."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise StorageError(f"malformed storage key {key!r}")
    return key


class Writer(Protocol):
    """An open upload: feed chunks, then commit (durable) or abort (nothing left behind)."""

    size: int
    sha256: str

    def write(self, chunk: bytes) -> None:
        """Append bytes (hashing them on the way)."""
        ...

    def commit(self) -> None:
        """Make the bytes durable under the key."""
        ...

    def abort(self) -> None:
        """Drop everything written."""
        ...


class Storage(Protocol):
    """What the service needs from storage."""

    remote: bool
    """Whether keys live elsewhere (then the synthesis cache is pulled and pushed)."""

    def describe(self) -> str:
        """Where the keys are, for operators (never credentials)."""
        ...

    def writer(self, key: str) -> Writer:
        """Start writing ``key``."""
        ...

    def local_path(self, key: str) -> Path:
        """A local file with the key's bytes (the worker reads models and images from it)."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The key's bytes (small keys: logs, thumbnails); KeyMissing if none."""
        ...

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The key's bytes in chunks of at most :data:`CHUNK` (downloads); KeyMissing if none."""
        ...

    def stored_sha256(self, key: str) -> str:
        """Hex SHA-256 of the key's bytes as storage records it; KeyMissing if none."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the key holds bytes."""
        ...

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (a folder: ``"cache/"``), in no set order."""
        ...

    def delete(self, key: str) -> None:
        """Remove a key and any keys below it as a folder (missing keys are fine)."""
        ...

    def synthesis_dir(self) -> Path:
        """The local folder ``gir_core.synthesis`` reads and writes degraded inputs in."""
        ...

    def check(self) -> None:
        """Raise StorageError unless storage can be written now (readiness probe)."""
        ...


def write_chunks(storage: Storage, key: str, chunks: Iterable[bytes]) -> str:
    """Store ``chunks`` under ``key`` in one atomic write, aborted (nothing left behind, no
    multipart upload left open) however it fails; the SHA-256 of what was written."""
    writer = storage.writer(key)
    try:
        for chunk in chunks:
            writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return writer.sha256


def put_bytes(storage: Storage, key: str, data: bytes) -> None:
    """Store ``data`` under ``key`` in one atomic write (nothing is left behind on failure)."""
    write_chunks(storage, key, (data,))


def put_file(storage: Storage, key: str, path: Path) -> str:
    """Copy a local file into ``key`` (atomic on commit); its SHA-256."""
    with path.open("rb") as handle:
        return write_chunks(storage, key, iter(lambda: handle.read(CHUNK), b""))
