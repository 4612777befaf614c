"""The storage layer: model files, GT images, logs and the synthesis cache, by key.

One small interface so an S3-compatible backend can be added beside :class:`LocalStorage`
(a folder: a local disk for one machine, a shared volume for many). Writes go to a temporary
file, are fsynced and renamed into place: a key either holds its complete bytes or nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from gir_core.errors import GirError

SYNTHESIS_CACHE = "cache/synthesis"
"""Storage key of the degraded-input cache: content-addressed, shared by every worker (and
filled ahead of them by the demo)."""

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class StorageError(GirError):
    """Storage is unavailable or a key is malformed."""


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

    def writer(self, key: str) -> Writer:
        """Start writing ``key``."""
        ...

    def local_path(self, key: str) -> Path:
        """A local file with the key's bytes (the worker reads models and images from it)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether the key holds bytes."""
        ...

    def delete(self, key: str) -> None:
        """Remove a key (missing keys are fine)."""
        ...

    def check(self) -> None:
        """Raise StorageError unless storage can be written now (readiness probe)."""
        ...


class _LocalWriter:
    def __init__(self, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        self._file: BinaryIO = os.fdopen(handle, "wb")
        self._tmp = Path(name)
        self._target = target
        self._hash = hashlib.sha256()
        self.size = 0
        self.sha256 = ""

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._target)
        self.sha256 = self._hash.hexdigest()

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._tmp.unlink(missing_ok=True)


class LocalStorage:
    """Keys are relative paths under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise StorageError(f"malformed storage key {key!r}")
        return self.root / key

    def writer(self, key: str) -> _LocalWriter:
        """Start writing ``key`` (atomic on commit)."""
        return _LocalWriter(self._path(key))

    def local_path(self, key: str) -> Path:
        """The file itself."""
        return self._path(key)

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file or folder."""
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def check(self) -> None:
        """Write and remove a probe file."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".ready-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            raise StorageError(f"storage at {self.root} is not writable: {error}") from None


def put_bytes(storage: Storage, key: str, data: bytes) -> None:
    """Store ``data`` under ``key`` in one atomic write (nothing is left behind on failure)."""
    writer = storage.writer(key)
    try:
        writer.write(data)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def get_storage() -> LocalStorage:
    """Storage for the configured ``GIR_STORAGE_DIR``."""
    from app.settings import get_settings

    return LocalStorage(get_settings().storage_dir)
