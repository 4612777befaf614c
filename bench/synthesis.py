"""Benchmark: test-set synthesis (first vs cached pass) and the cost of each degradation.

Run with ``.venv/bin/python bench/synthesis.py``. Prints:

1. degraded images per second for the demo set × the 50 representative tasks into a fresh cache,
   then for a second, fully cached pass, and their ratio (target: cached ≥ 20× faster);
2. the median time of each basic degradation (representative parameters) on a 512×512 image,
   with its ratio to a baseline measured in the same run (``quantize``, the step every
   degradation ends with).

Timings only; nothing is asserted. Takes well under two minutes on two cores.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gir_core.degradations import Degradation, ImageContext, all_degradations
from gir_core.demo import demo_images, write_demo_images
from gir_core.images import quantize
from gir_core.synthesis import synthesise
from gir_core.tasks import representative_tasks

DEMO_SIDE = 256
TIMING_SIDE = 512
REPEATS = 5
TARGET_RATIO = 20.0


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _median_seconds(action: Callable[[], object], repeats: int = REPEATS) -> float:
    action()  # warm-up: imports, kernel caches, first allocation
    return statistics.median(_timed(action) for _ in range(repeats))


def bench_synthesis(workers: int) -> None:
    """First pass into an empty cache, then the same call again (everything cached)."""
    tasks = representative_tasks()
    with tempfile.TemporaryDirectory(prefix="gir-bench-") as tmp:
        gt = write_demo_images(Path(tmp) / "gt", max_side=DEMO_SIDE)
        cache = Path(tmp) / "cache"
        total = len(gt) * len(tasks)

        def run() -> object:
            return synthesise(gt, tasks, seed=0, cache_dir=cache, workers=workers)

        first = _timed(run)
        cached = _timed(run)
    print(f"synthesis: {len(gt)} demo images ({DEMO_SIDE}×{DEMO_SIDE}) × {len(tasks)} tasks")
    print(f"  = {total} degraded inputs, {workers} worker process(es)")
    print(f"  first pass : {first:8.3f} s  {total / first:10.1f} images/s")
    print(f"  cached pass: {cached:8.3f} s  {total / cached:10.1f} images/s")
    verdict = "meets" if first / cached >= TARGET_RATIO else "MISSES"
    print(f"  ratio      : {first / cached:8.1f}×  ({verdict} the ≥{TARGET_RATIO:.0f}× target)")


def _apply_fresh(degradation: Degradation, image: NDArray[np.float32]) -> NDArray[np.float32]:
    """One application as synthesis does it for a new image: new generator, new context."""
    rng = np.random.default_rng(0)
    return degradation.apply(image, degradation.representative, rng, ImageContext())


def bench_degradations() -> None:
    """Median time per degradation on one 512×512 photo, fresh per-image context each run."""
    _, image = demo_images(TIMING_SIDE)[0]
    assert image.shape == (TIMING_SIDE, TIMING_SIDE, 3), image.shape
    baseline = _median_seconds(lambda: quantize(image))
    print(f"\nper degradation on a {TIMING_SIDE}×{TIMING_SIDE} image, median of {REPEATS} runs")
    print("(haze/snow include computing the depth map / snow mask: a fresh context per run)")
    print(f"  {'id':>2}  {'name':<13} {'parameters':<22} {'ms':>9} {'× quantize':>11}")
    print(f"  {'':>2}  {'quantize':<13} {'(baseline)':<22} {baseline * 1e3:9.2f} {1.0:11.1f}")
    for degradation in all_degradations():
        seconds = _median_seconds(partial(_apply_fresh, degradation, image))
        shown = ",".join(f"{k}={v}" for k, v in degradation.representative.items()) or "-"
        print(
            f"  {degradation.id:>2}  {degradation.name:<13} {shown:<22} "
            f"{seconds * 1e3:9.2f} {seconds / baseline:11.1f}"
        )


def main() -> int:
    """Run both benchmarks with as many workers as there are cores."""
    started = time.perf_counter()
    bench_synthesis(workers=os.cpu_count() or 1)
    bench_degradations()
    print(f"\ntotal benchmark time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
