"""Benchmark: per-image time of each gir_core metric on 512×512 images, against pyiqa if present.

Run: ``.venv/bin/python bench/metrics.py [--repeats 5]``. Prints the median over repeats of the
per-image time for one image and for a batch of 8, and, when ``pyiqa`` is importable, pyiqa's
time on the same images in the same run with the ratio pyiqa / ours (> 1: we are faster).
pyiqa is not a dependency; install it in a scratch environment to get the comparison.
No assertions: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from skimage import data

from gir_core import metrics
from gir_core.imaging import to_float

PYIQA_NAMES = {
    "psnr": "psnr",
    "psnr_y": "psnry",
    "ssim": "ssim",
    "ssim_rgb": "ssimc",
    "niqe": "niqe",
}
BATCH = 8


def _images() -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """The 512×512 astronaut and a noisy copy, both on the 8-bit grid."""
    clean = np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]
    noise = np.random.default_rng(0).normal(0.0, 15.0, clean.shape)
    noisy = np.clip(np.rint(clean + noise), 0, 255).astype(np.uint8)
    return to_float(noisy), to_float(clean)


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call imports, caches, thread pools
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ours(name: str, image: NDArray[np.float32], ref: NDArray[np.float32]) -> Callable[[], object]:
    metric = metrics.get(name)
    if metric.full_reference:
        return lambda: metric(image, ref)
    return lambda: metric(image)


def _pyiqa(name: str, image: NDArray[np.float32], ref: NDArray[np.float32]) -> Callable[[], object]:
    import pyiqa  # type: ignore[import-not-found]  # optional, only for the comparison
    import torch

    model = pyiqa.create_metric(PYIQA_NAMES[name], device="cpu")
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    y = torch.from_numpy(np.ascontiguousarray(ref.transpose(2, 0, 1)))[None]
    if metrics.get(name).full_reference:
        return lambda: model(x, y)
    return lambda: model(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    image, ref = _images()
    batch, batch_ref = np.stack([image] * BATCH), np.stack([ref] * BATCH)
    has_pyiqa = importlib.util.find_spec("pyiqa") is not None
    print(f"512×512 RGB, median of {repeats} repeats, per image, ms")
    if not has_pyiqa:
        print("pyiqa is not installed: timing gir_core only (no ratio)")
    header = f"{'metric':<10}{'ours 1 img':>12}{f'ours /{BATCH}':>12}"
    print(header + (f"{'pyiqa':>12}{'pyiqa/ours':>12}" if has_pyiqa else ""))
    for name in metrics.NAMES:
        one = _median_seconds(_ours(name, image, ref), repeats) * 1e3
        per = _median_seconds(_ours(name, batch, batch_ref), repeats) * 1e3 / BATCH
        line = f"{name:<10}{one:>12.2f}{per:>12.2f}"
        if has_pyiqa:
            theirs = _median_seconds(_pyiqa(name, image, ref), repeats) * 1e3
            line += f"{theirs:>12.2f}{theirs / one:>12.2f}"
        print(line)


if __name__ == "__main__":
    main()
