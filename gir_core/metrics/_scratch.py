"""Per-thread scratch arrays for the metrics' image-sized temporaries, reused call after call.

Why: one 512×512 NIQE or SSIM call makes some twenty image-sized temporaries. Freed, their
memory goes back to the system (glibc trims the heap), and the next call pays one page fault per
4 kB page to get it again: 1 800 faults per NIQE call and 5 800 per SSIM call, 4–13 ms of
system time per call on a busy 2-core machine, as much as the arithmetic. Kept per thread and
per name, the pages are faulted in once.

A scratch array is uninitialised (``np.empty``) and is the same memory on the next request for
its name in this thread: results handed to callers are never scratch. A thread keeps at most
:data:`LIMIT_BYTES` in all (the five metrics of 512×512 images keep 62 MB); arrays that would not
fit are allocated afresh each time, as before, so large images cost what they did.
"""

from __future__ import annotations

import threading
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

_T = TypeVar("_T", bound=np.generic)

LIMIT_BYTES = 128 << 20
"""Most memory one thread keeps between calls."""

_local = threading.local()


def scratch(name: str, shape: tuple[int, ...], dtype: type[_T]) -> NDArray[_T]:
    """An uninitialised array of ``shape`` and ``dtype``, kept under ``name`` for this thread.

    One array per name (the last shape asked for), so two buffers alive at once need two names.
    """
    kept: dict[str, NDArray[_T]] | None = getattr(_local, "arrays", None)
    if kept is None:
        kept = _local.arrays = {}
    array = kept.get(name)
    if array is not None and array.shape == shape and array.dtype == np.dtype(dtype):
        return array
    if array is not None:
        del kept[name]
    array = np.empty(shape, dtype=dtype)
    if sum(a.nbytes for a in kept.values()) + array.nbytes <= LIMIT_BYTES:
        kept[name] = array
    return array
