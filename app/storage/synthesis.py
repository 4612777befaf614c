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

from app.storage import SYNTHESIS_CACHE, put_file
from app.storage.s3 import S3Storage
from gir_core.synthesis import SynthesisRecord


def synthesis_key(cache_key: str) -> str:
    """The storage key of a degraded input: the same layout as the local cache folder."""
    return f"{SYNTHESIS_CACHE}/{cache_key[:2]}/{cache_key}.png"


def pull(storage: S3Storage, missing: Sequence[SynthesisRecord]) -> int:
    """Download the missing inputs the bucket has (one listing, then verified downloads);
    how many. Given to :func:`gir_core.synthesis.synthesise` as its ``fetch``."""
    present = frozenset(storage.keys(f"{SYNTHESIS_CACHE}/"))
    downloaded = 0
    for record in missing:
        key = synthesis_key(record.key)
        if key in present:
            storage.fetch(key, record.path)
            downloaded += 1
    return downloaded


def push(storage: S3Storage, records: Sequence[SynthesisRecord]) -> int:
    """Upload the inputs this run made (``cached`` False: neither here nor in the bucket when
    it started); how many. The others are marked recently used, then the cache is trimmed."""
    pushed = 0
    for record in records:
        if not record.cached and record.path.is_file():
            put_file(storage, synthesis_key(record.key), record.path)
            pushed += 1
        elif record.path.is_file():
            os.utime(record.path)  # used by this run: eviction takes other files first
    storage.cache.evict()
    return pushed
