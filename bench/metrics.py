"""Benchmark: per-image time of each gir_core metric on 512×512 images, as ratios in one run.

Run: ``.venv/bin/python bench/metrics.py [--repeats 11] [--threads 2] [--baseline REV]``; on a
machine shared with other work add ``--clock cpu --threads 1`` (CPU time of the calling thread).

Per metric it prints the median over repeats of the per-image time: ``1`` one image scored again
and again (its data stays in cache: the issue's "1 image"), ``1x8`` eight distinct noisy images
scored one call each, ``/8`` the same eight in one batched call, and ``/8 ÷ 1x8`` (≤ 1: a batch
is no slower per image than single calls on the same data; against ``1`` a memory-bound metric
like PSNR cannot win, as a batch of 8 does not fit in the cache). Measured in the same run, on
the same arrays, the calls taking turns:

- ``base``: the same metric as implemented at git revision ``--baseline`` (default ``e272d13``,
  the code issue #16 timed; its ``gir_core/metrics`` is extracted to a temporary package), and
  the speed-up base / ours;
- ``floor``: for PSNR, a plain float32 NumPy ``mean((a - b) ** 2)`` over the same arrays (the
  memory-bandwidth floor of the issue's target), and ours / floor;
- ``pyiqa``: when ``pyiqa`` is importable, its time and pyiqa / ours (> 1: we are faster);
  otherwise ``pyiqa~``, an *estimate*: the issue's pyiqa time (#16, measured beside the
  revision ``e272d13``, the default baseline) scaled by base-here / base-in-the-issue, and
  pyiqa~ / ours.

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
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from skimage import data  # noqa: E402

from gir_core import metrics  # noqa: E402
from gir_core.images import to_float  # noqa: E402

PYIQA_NAMES = {
    "psnr": "psnr",
    "psnr_y": "psnry",
    "ssim": "ssim",
    "ssim_rgb": "ssimc",
    "niqe": "niqe",
}
BATCH = 8
ISSUE_REVISION = "e272d13"
"""The metrics as issue #16 timed them ("ours, 1 image"), beside pyiqa 0.1.16."""
ISSUE_MS = {  # (ours at ISSUE_REVISION, pyiqa), ms for one 512×512 image, issue #16's table
    "psnr": (2.9, 0.84),
    "psnr_y": (2.2, 1.4),
    "ssim": (9.6, 330.0),
    "ssim_rgb": (25.6, 990.0),
    "niqe": (17.5, 80.7),
}
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


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
WARM_CALLS = 2


def _interleaved_ms(
    calls: dict[str, Callable[[], object]], repeats: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Median time (ms) of each call, the calls taking turns within every repeat.

    Taking turns spreads any change in the machine's load over all of them alike, so their
    ratios stay fair on a busy machine (the load average is printed with the table). Each turn
    first makes ``WARM_CALLS`` untimed calls: the memory a previous call (of another kind) freed
    and gave back to the system would otherwise be faulted in again on this call's clock, and
    after another kind's sweep over a batch one call was not enough (measured: PSNR of one
    image right after the floor's batch took 0.59 ms after one warm call, 0.30 ms after two,
    as in steady state; the floor itself 0.40 and 0.38).
    """
    times: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(repeats):
        for key, call in calls.items():
            for _ in range(WARM_CALLS):
                call()
            start = clock()
            call()
            times[key].append(clock() - start)
    return {key: statistics.median(values) * 1e3 for key, values in times.items()}


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


def _calls(
    name: str, modules: dict[str, ModuleType], images: Images, refs: Images
) -> dict[str, Callable[[], object]]:
    """Per module: ``1`` one image again and again (cache-warm, the issue's "1 image"),
    ``1x8`` each of the 8 images in its own call, ``/8`` the 8 images in one call; for PSNR
    also the floor over one image and over the 8."""
    calls: dict[str, Callable[[], object]] = {}
    for label, module in modules.items():
        pair = _scorer(module.get(name))
        calls[f"{label} 1"] = partial(pair, images[0], refs[0])
        calls[f"{label} 1x8"] = partial(_each, pair, images, refs)
        calls[f"{label} /8"] = partial(pair, images, refs)
    if name.startswith("psnr"):
        calls["floor 1"] = _floor(images[:1], refs[:1])
        calls["floor /8"] = _floor(images, refs)
    return calls


def _scorer(metric: Any) -> Callable[[Images, Images], object]:
    """``metric(image, reference)``, or ``metric(image)`` for a no-reference metric."""
    if metric.full_reference:
        return lambda image, reference: metric(image, reference)
    return lambda image, _: metric(image)


def _each(fn: Callable[..., object], images: Images, refs: Images) -> object:
    return [fn(a, b) for a, b in zip(images, refs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and OpenCV threads")
    parser.add_argument(
        "--baseline",
        default=ISSUE_REVISION,
        help="git revision to compare with (default: the one issue #16 timed, which also scales "
        "the issue's pyiqa times into the pyiqa~ estimate)",
    )
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="wall",
        help="wall: elapsed time; cpu: CPU time of the calling thread, which other processes "
        "cannot inflate by taking the cores away (needs --threads 1: other threads' work is "
        "not counted)",
    )
    args = parser.parse_args()
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu counts the calling thread only: use it with --threads 1")
    cv2.setNumThreads(args.threads)
    images, refs = _images()
    modules = {"ours": metrics}
    baseline = load_baseline(args.baseline)
    if baseline is not None:
        modules["base"] = baseline
    has_pyiqa = importlib.util.find_spec("pyiqa") is not None
    print(
        f"512×512 RGB, {args.threads} threads, {args.clock} clock, median of {args.repeats} "
        "repeats, ms per image. "
        f"1: one image repeated; 1x{BATCH}: {BATCH} images one call each; "
        f"/{BATCH}: {BATCH} images in one call; base: {args.baseline}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    estimate = not has_pyiqa and baseline is not None and args.baseline == ISSUE_REVISION
    if estimate:
        print(
            "pyiqa is not installed: pyiqa~ is an ESTIMATE, the issue's pyiqa time × "
            f"(base 1 here / base in the issue), base = {ISSUE_REVISION}"
        )
    elif not has_pyiqa:
        print("pyiqa is not installed: no pyiqa column")
    head = f"{'metric':<9}{'ours 1':>8}{'1x8':>7}{'/8':>7}{'/8 ÷ 1x8':>9}"
    if baseline is not None:
        head += f"{'base 1':>8}{'1x8':>7}{'/8':>7}{'base/ours 1':>12}{'/8':>6}"
    if has_pyiqa:
        head += f"{'pyiqa 1':>9}{'pyiqa/ours':>11}"
    elif estimate:
        head += f"{'pyiqa~ 1':>9}{'pyiqa~/ours':>12}"
    print(head)
    floors = []
    for name in metrics.NAMES:
        calls = _calls(name, modules, images, refs)
        if has_pyiqa:
            calls["pyiqa 1"] = _pyiqa(name, images[0], refs[0])
        ms = _interleaved_ms(calls, args.repeats, CLOCKS[args.clock])
        for key in ms:
            ms[key] /= BATCH if key.endswith("8") else 1
        if estimate:
            issue_ours, issue_pyiqa = ISSUE_MS[name]
            ms["pyiqa~ 1"] = issue_pyiqa * ms["base 1"] / issue_ours
        print(_line(name, ms))
        if "floor 1" in ms:
            floors.append(
                f"{name:<9}{ms['floor 1']:>8.3f}{ms['ours 1'] / ms['floor 1']:>12.2f}"
                f"{ms['floor /8']:>8.3f}{ms['ours /8'] / ms['floor /8']:>12.2f}"
            )
    print("\nfloor: float32 NumPy mean((a - b) ** 2) over the same arrays, ms per image")
    print(f"{'metric':<9}{'floor 1':>8}{'ours/floor':>12}{'/8':>8}{'ours/floor':>12}")
    print("\n".join(floors))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def _line(name: str, ms: dict[str, float]) -> str:
    line = f"{name:<9}{ms['ours 1']:>8.2f}{ms['ours 1x8']:>7.2f}{ms['ours /8']:>7.2f}"
    line += f"{ms['ours /8'] / ms['ours 1x8']:>9.2f}"
    if "base 1" in ms:
        line += f"{ms['base 1']:>8.2f}{ms['base 1x8']:>7.2f}{ms['base /8']:>7.2f}"
        line += f"{ms['base 1'] / ms['ours 1']:>12.2f}{ms['base /8'] / ms['ours /8']:>6.2f}"
    if "pyiqa 1" in ms:
        line += f"{ms['pyiqa 1']:>9.2f}{ms['pyiqa 1'] / ms['ours 1']:>11.2f}"
    if "pyiqa~ 1" in ms:
        line += f"{ms['pyiqa~ 1']:>9.2f}{ms['pyiqa~ 1'] / ms['ours 1']:>12.2f}"
    return line


if __name__ == "__main__":
    main()
