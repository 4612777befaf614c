"""Operator checks and moves of storage: what ``gir-admin storage check|init|migrate`` run.

``migrate`` copies every key of one store into another, skipping keys the target already holds
with the same SHA-256 (so a second run copies nothing and an interrupted run resumes where it
stopped) and verifying each copy's hash as the target records it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.storage import KeyMissing, Storage, StorageError, write_chunks
from app.storage.s3 import S3Storage, configure_bucket


def check_lines(storage: Storage) -> Iterator[str]:
    """Lines describing the store: where, writable, multipart hygiene and the local cache.

    Raises:
        StorageError: storage cannot be written (after the location line is printed).
    """
    yield f"storage: {storage.describe()}"
    storage.check()
    yield "storage: readable and writable"
    if isinstance(storage, S3Storage):
        rule = "set" if storage.has_lifecycle_rule() else "MISSING (run `gir-admin storage init`)"
        yield f"lifecycle rule aborting incomplete multipart uploads: {rule}"
        yield f"incomplete multipart uploads now: {len(storage.incomplete_uploads())}"
        state = storage.cache.state()
        yield (
            f"worker cache: {state.root} holds {state.files} files, "
            f"{state.size / 2**30:.2f} of {state.max_bytes / 2**30:.2f} GiB"
        )


def init(storage: Storage) -> str:
    """Make the store ready: the bucket and its lifecycle rule, or the folder."""
    if isinstance(storage, S3Storage):
        created = configure_bucket(storage)
        made = "created" if created else "exists"
        return f"bucket {storage.bucket} {made}; incomplete uploads are aborted after 1 day"
    storage.check()
    return f"{storage.describe()} is ready"


@dataclass
class Migration:
    """What one ``migrate`` run did."""

    copied: int = 0
    skipped: int = 0


def migrate(
    source: Storage, target: Storage, *, progress: Callable[[str, str], None] | None = None
) -> Migration:
    """Copy every key of ``source`` missing (or different) in ``target``, verified.

    ``progress(key, "copied"|"skipped")`` is called per key.

    Raises:
        StorageError: a key's copy does not hash to the source's SHA-256.
    """
    done = Migration()
    for key in source.keys():  # noqa: SIM118 - a Storage, not a dict
        digest = source.stored_sha256(key)
        if _target_sha256(target, key) == digest:
            done.skipped += 1
            outcome = "skipped"
        else:
            _copy(source, target, key, digest)
            done.copied += 1
            outcome = "copied"
        if progress is not None:
            progress(key, outcome)
    return done


def _target_sha256(target: Storage, key: str) -> str:
    try:
        return target.stored_sha256(key)
    except KeyMissing:
        return ""


def _copy(source: Storage, target: Storage, key: str, digest: str) -> None:
    write_chunks(target, key, source.iter_bytes(key))
    if target.stored_sha256(key) != digest:  # changed meanwhile, or damaged on the way
        raise StorageError(f"{key}: the copy's SHA-256 differs from the source's; run again")
