"""The metrics' per-thread scratch arrays: reused within a thread, never shared across threads,
and never kept when large; NIQE in them is not disturbed by other sizes or threads."""

from __future__ import annotations

import threading

import numpy as np

from gir_core import metrics
from gir_core.metrics import _scratch
from gir_core.metrics._scratch import scratch


def test_a_name_gives_the_same_array_until_its_shape_or_dtype_changes() -> None:
    first = scratch("test.a", (3, 4), np.float64)
    assert scratch("test.a", (3, 4), np.float64) is first
    assert scratch("test.b", (3, 4), np.float64) is not first
    assert scratch("test.a", (4, 3), np.float64).shape == (4, 3)
    assert scratch("test.a", (4, 3), np.float32).dtype == np.float32


def test_threads_get_their_own_arrays() -> None:
    mine = scratch("test.thread", (8,), np.float64)
    theirs: list[np.ndarray] = []
    worker = threading.Thread(
        target=lambda: theirs.append(scratch("test.thread", (8,), np.float64))
    )
    worker.start()
    worker.join()
    assert theirs[0] is not mine and not np.shares_memory(theirs[0], mine)


def test_a_thread_keeps_at_most_the_limit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_scratch, "LIMIT_BYTES", 1000)
    monkeypatch.setattr(_scratch._local, "arrays", {})
    big = scratch("test.big", (200,), np.float64)  # 1600 bytes: over the limit on its own
    assert scratch("test.big", (200,), np.float64) is not big
    small = scratch("test.small", (100,), np.float64)  # 800 bytes
    assert scratch("test.small", (100,), np.float64) is small
    other = scratch("test.other", (50,), np.float64)  # 400 more would make 1200
    assert scratch("test.other", (50,), np.float64) is not other
    assert scratch("test.small", (100,), np.float64) is small


def test_niqe_in_scratch_arrays_is_unchanged_by_other_sizes_and_threads() -> None:
    rng = np.random.default_rng(5)
    large, small = (
        rng.integers(0, 256, (h, w, 3)).astype(np.float32) / 255 for h, w in ((200, 300), (96, 96))
    )
    images = [large, small, large]
    first = [float(metrics.niqe(image)) for image in images]
    again: list[float] = []
    worker = threading.Thread(target=lambda: again.extend(float(metrics.niqe(i)) for i in images))
    worker.start()
    worker.join()
    assert again == first
    assert first[0] == first[2]  # the 96×96 image in between did not disturb the larger one
