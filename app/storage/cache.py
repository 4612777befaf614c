"""A worker machine's local copy of remote objects: content-addressed, verified, size-bounded.

Files are named by the SHA-256 storage records for them (``objects/<ab>/<sha256>``), so a key
rewritten with other bytes is simply another entry and a stale copy can never be served. A
download lands in a temporary file, is hashed on the way and renamed into place only if the hash
matches: readers see complete verified files or nothing. Several worker processes on one
machine share the folder: an ``flock`` per entry makes the second one wait for the first's
download instead of repeating it, and one lock serialises eviction. Eviction is LRU by
modification time (a hit touches the file) over the whole folder — the pulled synthesis inputs
under ``synthesis/`` count too — down to ``max_bytes``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.storage.base import StorageError

Fetch = Callable[[BinaryIO], None]
"""Writes an object's bytes into the open file it is given."""


@dataclass(frozen=True)
class CacheState:
    """What ``gir-admin storage check`` prints about the cache."""

    root: Path
    files: int
    size: int
    max_bytes: int


class ObjectCache:
    """Verified local copies of remote objects under ``root``, at most ``max_bytes`` in all."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        """Where the object with this hash lives (whether it is there or not)."""
        return self.root / "objects" / sha256[:2] / sha256

    def get(self, sha256: str, fetch: Fetch) -> Path:
        """The local copy of the object hashing to ``sha256``, downloaded with ``fetch`` if
        missing; a hit marks it recently used.

        Raises:
            StorageError: the downloaded bytes do not hash to ``sha256``.
        """
        target = self.path(sha256)
        if self._hit(target):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with _locked(target.with_name(f".{sha256}.lock")):
            if self._hit(target):  # another process fetched it while this one waited
                return target
            self.place(target, fetch, sha256)
        self.evict(keep=target)
        return target

    def place(self, target: Path, fetch: Fetch, sha256: str) -> None:
        """Download into a temporary file beside ``target``; rename it there if it verifies."""
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        tmp = Path(name)
        try:
            with os.fdopen(handle, "wb") as sink:
                hashing = _HashingFile(sink)
                fetch(hashing)  # type: ignore[arg-type]  # a duck-typed BinaryIO (write only)
            if hashing.hexdigest() != sha256:
                raise StorageError(
                    f"a download did not match its recorded SHA-256 ({sha256[:12]}…): refused"
                )
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def evict(self, *, keep: Path | None = None) -> int:
        """Remove least-recently-used files until the folder fits ``max_bytes``; how many."""
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(self.root / ".evict.lock"):
            entries = sorted(_entries(self.root), key=lambda entry: entry[1])
            total = sum(size for _, _, size in entries)
            removed = 0
            for path, _, size in entries:
                if total <= self.max_bytes:
                    break
                if path == keep:
                    continue
                path.unlink(missing_ok=True)
                total -= size
                removed += 1
            return removed

    def state(self) -> CacheState:
        """Files and bytes held now."""
        entries = list(_entries(self.root)) if self.root.is_dir() else []
        return CacheState(
            self.root, len(entries), sum(size for *_, size in entries), self.max_bytes
        )

    @staticmethod
    def _hit(target: Path) -> bool:
        try:
            os.utime(target)
        except FileNotFoundError:
            return False
        return True


class _HashingFile:
    """A write-only file wrapper that hashes what passes through it."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink, self._hash = sink, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        return self._sink.write(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing), released on exit or death."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _entries(root: Path) -> Iterator[tuple[Path, float, int]]:
    """Every cached file (path, last use, size); lock and temporary files (``.name``) aside."""
    for folder, _, names in os.walk(root):
        for name in names:
            if name.startswith("."):
                continue
            path = Path(folder) / name
            try:
                stat = path.stat()
            except FileNotFoundError:  # evicted by another process meanwhile
                continue
            yield path, stat.st_mtime, stat.st_size
