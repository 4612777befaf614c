"""The synthesis cache in object storage: degraded inputs written once, read by every worker.

:mod:`gir_core.synthesis` works on a local folder. With a bucket, a worker first pulls the
inputs some worker already made into its local copy (verified downloads), synthesises only
what nobody made yet, then pushes those. Cache keys are content addresses of everything that
decides the bytes, and synthesis is deterministic, so two workers racing to push the same key
write the same bytes: whichever ``PutObject`` lands last changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from app.storage import SYNTHESIS_CACHE, put_file
from app.storage.s3 import S3Storage
from gir_core.synthesis import SynthesisRecord


def synthesis_key(cache_key: str) -> str:
    """The storage key of a degraded input: the same layout as the local cache folder."""
    return f"{SYNTHESIS_CACHE}/{cache_key[:2]}/{cache_key}.png"


@dataclass(frozen=True)
class Pulled:
    """What :func:`pull` found: the keys in the bucket and how many files it downloaded."""

    present: frozenset[str]
    downloaded: int


def pull(storage: S3Storage, records: Sequence[SynthesisRecord]) -> Pulled:
    """Download the inputs the bucket has and this machine lacks; mark the rest as used."""
    present = frozenset(storage.keys(f"{SYNTHESIS_CACHE}/"))
    downloaded = 0
    for record in records:
        key = synthesis_key(record.key)
        if record.path.is_file():
            os.utime(record.path)  # recently used: eviction takes other files first
        elif key in present:
            storage.fetch(key, record.path)
            downloaded += 1
    return Pulled(present, downloaded)


def push(storage: S3Storage, records: Sequence[SynthesisRecord], present: frozenset[str]) -> int:
    """Upload the inputs made here that the bucket lacks; how many. Then trim the cache."""
    pushed, seen = 0, set(present)
    for record in records:
        key = synthesis_key(record.key)
        if key not in seen and record.path.is_file():
            put_file(storage, key, record.path)
            seen.add(key)
            pushed += 1
    storage.cache.evict()
    return pushed
