"""Benchmark: per-image time of each gir_core metric on 512×512 images, as ratios in one run.

Run: ``.venv/bin/python bench/metrics.py [--repeats 11] [--threads 2] [--baseline main]``.

Per metric it prints the median over repeats of the per-image time for one image and for a batch
of 8 (distinct noisy images), and, measured in the same run on the same arrays:

- ``base``: the same metric as implemented at git revision ``--baseline`` (default ``main``;
  its ``gir_core/metrics`` is extracted to a temporary package), and the speed-up base / ours;
- ``floor``: for PSNR, a plain float32 NumPy ``mean((a - b) ** 2)`` over the same arrays (the
  memory-bandwidth floor of the issue's target), and ours / floor;
- ``pyiqa``: when ``pyiqa`` is importable, its time and pyiqa / ours (> 1: we are faster).

No assertions: timings depend on the machine; only ratios from one run mean anything.
"""

from __future__ import annotations

import argparse
import os


def _threads() -> str:
    """``--threads`` read before NumPy loads its BLAS, which reads the thread count only once."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--threads", default="2")
    return str(early.parse_known_args()[0].threads)


for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _threads()

import importlib  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from skimage import data  # noqa: E402

from gir_core import metrics  # noqa: E402
from gir_core.imaging import to_float  # noqa: E402

PYIQA_NAMES = {
    "psnr": "psnr",
    "psnr_y": "psnry",
    "ssim": "ssim",
    "ssim_rgb": "ssimc",
    "niqe": "niqe",
}
BATCH = 8
BASELINE_PACKAGE = "_gir_metrics_baseline"
Images = NDArray[np.float32]


def _images() -> tuple[Images, Images]:
    """A batch of 8 noisy 512×512 astronauts (different noise) and the clean one ×8, 8-bit grid."""
    clean = np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]
    rng = np.random.default_rng(0)
    noisy = [
        np.clip(np.rint(clean + rng.normal(0.0, 15.0, clean.shape)), 0, 255).astype(np.uint8)
        for _ in range(BATCH)
    ]
    return to_float(np.stack(noisy)), to_float(np.stack([clean] * BATCH))


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call imports, caches, thread pools
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_baseline(revision: str) -> ModuleType | None:
    """``gir_core.metrics`` as it is at ``revision``, imported as a separate package.

    Extracted with ``git archive`` into a temporary folder, with its absolute imports of
    ``gir_core.metrics`` renamed; None (with a note) when git or the revision is unavailable.
    """
    root = Path(__file__).resolve().parents[1]
    try:
        tar = subprocess.run(
            ["git", "archive", revision, "gir_core/metrics"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"no baseline: cannot read gir_core/metrics at {revision!r} ({error})")
        return None
    folder = Path(tempfile.mkdtemp(prefix="gir-bench-"))
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(folder, filter="data")
    package = folder / "gir_core" / "metrics"
    for source in package.glob("*.py"):
        text = source.read_text().replace("gir_core.metrics", BASELINE_PACKAGE)
        source.write_text(text)
    package.rename(folder / BASELINE_PACKAGE)
    sys.path.insert(0, str(folder))
    return importlib.import_module(BASELINE_PACKAGE)


def _call(module: ModuleType, name: str, images: Images, refs: Images) -> Callable[[], object]:
    metric = module.get(name)
    if metric.full_reference:
        return lambda: metric(images, refs)
    return lambda: metric(images)


def _pyiqa(name: str, image: Images, ref: Images) -> Callable[[], object]:
    import pyiqa  # type: ignore[import-not-found]  # optional, only for the comparison
    import torch

    model = pyiqa.create_metric(PYIQA_NAMES[name], device="cpu")
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]
    y = torch.from_numpy(np.ascontiguousarray(ref.transpose(2, 0, 1)))[None]
    if metrics.get(name).full_reference:
        return lambda: model(x, y)
    return lambda: model(x)


def _floor(images: Images, refs: Images) -> Callable[[], object]:
    """The PSNR floor: plain float32 NumPy mean squared difference, per image."""
    return lambda: [np.mean((a - b) ** 2) for a, b in zip(images, refs, strict=True)]


def _singles(fn: Callable[..., object], images: Images, refs: Images) -> Callable[[], object]:
    """One call per image of the batch: the same data as one batched call, image by image."""
    return lambda: [fn(a, b) for a, b in zip(images, refs, strict=True)]


def _timings(
    name: str, module: ModuleType, images: Images, refs: Images, repeats: int
) -> dict[str, float]:
    """ms per image: ``1`` one image again and again (cache-warm, the issue's "1 image"),
    ``1x8`` each of the 8 images in its own call, ``/8`` the 8 images in one call."""
    metric = module.get(name)
    pair = (lambda a, b: metric(a, b)) if metric.full_reference else (lambda a, _: metric(a))
    return {
        "1": _median_seconds(lambda: pair(images[0], refs[0]), repeats) * 1e3,
        "1x8": _median_seconds(_singles(pair, images, refs), repeats) * 1e3 / BATCH,
        "/8": _median_seconds(lambda: pair(images, refs), repeats) * 1e3 / BATCH,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and OpenCV threads")
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    images, refs = _images()
    baseline = load_baseline(args.baseline)
    has_pyiqa = importlib.util.find_spec("pyiqa") is not None
    print(
        f"512×512 RGB, {args.threads} threads, median of {args.repeats} repeats, ms per image. "
        f"1: one image repeated; 1x{BATCH}: {BATCH} images one call each; "
        f"/{BATCH}: {BATCH} images in one call; base: {args.baseline}"
    )
    if not has_pyiqa:
        print("pyiqa is not installed: no pyiqa column")
    head = f"{'metric':<9}{'ours 1':>8}{'1x8':>7}{'/8':>7}"
    if baseline is not None:
        head += f"{'base 1':>8}{'1x8':>7}{'/8':>7}{'base/ours 1':>12}{'/8':>6}"
    print(head + (f"{'pyiqa 1':>9}{'pyiqa/ours':>11}" if has_pyiqa else ""))
    floors = []
    for name in metrics.NAMES:
        ours = _timings(name, metrics, images, refs, args.repeats)
        line = f"{name:<9}{ours['1']:>8.2f}{ours['1x8']:>7.2f}{ours['/8']:>7.2f}"
        if baseline is not None:
            base = _timings(name, baseline, images, refs, args.repeats)
            line += f"{base['1']:>8.2f}{base['1x8']:>7.2f}{base['/8']:>7.2f}"
            line += f"{base['1'] / ours['1']:>12.2f}{base['/8'] / ours['/8']:>6.2f}"
        if has_pyiqa:
            theirs = _median_seconds(_pyiqa(name, images[0], refs[0]), args.repeats) * 1e3
            line += f"{theirs:>9.2f}{theirs / ours['1']:>11.2f}"
        print(line)
        if name.startswith("psnr"):
            one = _median_seconds(_floor(images[:1], refs[:1]), args.repeats) * 1e3
            per = _median_seconds(_floor(images, refs), args.repeats) * 1e3 / BATCH
            floors.append(f"{name:<9}{one:>8.3f}{ours['1'] / one:>12.2f}{per:>8.3f}")
            floors[-1] += f"{ours['/8'] / per:>12.2f}"
    print("\nfloor: float32 NumPy mean((a - b) ** 2) over the same arrays, ms per image")
    print(f"{'metric':<9}{'floor 1':>8}{'ours/floor':>12}{'/8':>8}{'ours/floor':>12}")
    print("\n".join(floors))


if __name__ == "__main__":
    main()
