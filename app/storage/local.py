"""Storage in a folder: a local disk for one machine (the demo, a single-box deployment).

Writes go to a temporary file, are fsynced and renamed into place: a key either holds its
complete bytes or nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.storage.base import CHUNK, SYNTHESIS_CACHE, KeyMissing, StorageError, check_key
from app.urls import storage_folder
from gir_core.images import file_sha256


def local_folder(url: str) -> Path:
    """The folder of a ``file://…`` URL or a plain path.

    Raises:
        StorageError: a URL of another scheme.
    """
    try:
        return storage_folder(url)
    except ValueError as error:
        raise StorageError(str(error)) from None


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

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def describe(self) -> str:
        """The folder."""
        return f"folder {self.root.resolve()}"

    def writer(self, key: str) -> _LocalWriter:
        """Start writing ``key`` (atomic on commit)."""
        return _LocalWriter(self._path(key))

    def local_path(self, key: str) -> Path:
        """The file itself."""
        return self._path(key)

    def read_bytes(self, key: str) -> bytes:
        """The file's bytes."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyMissing(f"{key} is not in storage") from None

    def iter_bytes(self, key: str) -> Iterator[bytes]:
        """The file in chunks."""
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError:
            raise KeyMissing(f"{key} is not in storage") from None
        return _chunks(handle)

    def stored_sha256(self, key: str) -> str:
        """Hashed now: a folder records no hashes."""
        if not self.exists(key):
            raise KeyMissing(f"{key} is not in storage")
        return file_sha256(self._path(key))

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Files under the root (temporary ``.name.xxx`` files of open writers excluded)."""
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and key.startswith(prefix):
                yield key

    def delete(self, key: str) -> None:
        """Remove the file or folder."""
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def synthesis_dir(self) -> Path:
        """The shared cache folder itself: every worker of this machine writes into it."""
        return self._path(SYNTHESIS_CACHE)

    def check(self) -> None:
        """Write and remove a probe file."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".ready-{os.getpid()}"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            raise StorageError(f"storage at {self.root} is not writable: {error}") from None


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk
