"""How much AR, ER and mean PSNR would move with another draw of test images (bootstrap)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gir_core.errors import ParameterError
from gir_core.generality.lines import TaskLine, few, per_task
from gir_core.generality.summary import summarize


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval around it."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class BootstrapCI:
    """Bootstrap confidence intervals (over test images) of AR, ER and mean PSNR."""

    level: float
    n_boot: int
    n_images: int
    ar: Interval
    mean_psnr: Interval
    er: Interval


def bootstrap_ci(
    lines: Sequence[TaskLine],
    per_image_psnr: Mapping[str, ArrayLike],
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int | np.random.Generator = 0,
) -> BootstrapCI:
    """Percentile bootstrap intervals of AR, ER and mean PSNR, resampling test images.

    Each replicate draws image indices with replacement (the same for every task: all tasks degrade
    the same images) and recomputes the task means, then AR, ER and mean PSNR: how much the scores
    would move with another draw of as many test images.

    Args:
        lines: One line per task.
        per_image_psnr: Task id -> PSNR per test image, the same images in the same order.
        level: Confidence level in (0, 1).
        n_boot: Number of bootstrap replicates (>= 1).
        seed: Seed or numpy Generator; the same seed gives the same intervals.

    Raises:
        ParameterError: As :func:`summarize`, unequal image counts, or a bad level / n_boot.

    Example:
        >>> ci = bootstrap_ci([TaskLine("1", 30.0, 32.0)], {"1": [29.0, 31.0, 33.0]}, n_boot=200)
        >>> ci.ar.estimate, ci.mean_psnr.estimate, ci.mean_psnr.low <= 31.0 <= ci.mean_psnr.high
        (1.0, 31.0, True)
    """
    _check_bootstrap_args(level, n_boot)
    matrix = _image_matrix(lines, per_image_psnr)
    task_means = _resampled_task_means(matrix, n_boot, np.random.default_rng(seed))
    acc = np.array([line.acceptance for line in lines])
    exc = np.array([line.excellence for line in lines])
    ar_boot = np.count_nonzero(task_means > acc, axis=1) / len(lines)
    er_boot = np.count_nonzero(task_means > exc, axis=1) / len(lines)
    psnr_boot = task_means.mean(axis=1)
    ids = [line.task_id for line in lines]
    point = summarize(lines, dict(zip(ids, matrix.mean(axis=1).tolist(), strict=True)))
    return BootstrapCI(
        level=level,
        n_boot=n_boot,
        n_images=matrix.shape[1],
        ar=_interval(point.ar, ar_boot, level),
        mean_psnr=_interval(point.mean_psnr, psnr_boot, level),
        er=_interval(point.er, er_boot, level),
    )


def _check_bootstrap_args(level: float, n_boot: int) -> None:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0.0 < level < 1.0:
        raise ParameterError(f"level must be a number in (0, 1), got {level!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ParameterError(f"n_boot must be an integer >= 1, got {n_boot!r}")


def _image_matrix(
    lines: Sequence[TaskLine], per_image_psnr: Mapping[str, ArrayLike]
) -> NDArray[np.float64]:
    """Tasks x images PSNR matrix in line order, refusing ragged, empty or non-finite rows."""
    per_task(lines, dict.fromkeys(per_image_psnr, 0.0), "per-image PSNR")
    try:
        rows = [np.asarray(per_image_psnr[line.task_id], dtype=np.float64) for line in lines]
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"per-image PSNR values must be numbers ({exc})") from None
    first = rows[0]
    for line, row in zip(lines, rows, strict=True):
        if row.ndim != 1 or row.size == 0 or row.shape != first.shape:
            raise ParameterError(
                "per-image PSNR must be non-empty 1-D, one length for every task: task "
                f"{lines[0].task_id} has shape {first.shape}, task {line.task_id} {row.shape}"
            )
    matrix = np.stack(rows)
    bad = [
        line.task_id for line, row in zip(lines, matrix, strict=True) if not np.isfinite(row).all()
    ]
    if bad:
        raise ParameterError(f"per-image PSNR is not finite for {few(bad)}")
    return matrix


def _resampled_task_means(
    matrix: NDArray[np.float64], n_boot: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Replicates x tasks mean PSNR, each replicate over image indices drawn with replacement."""
    n_images = matrix.shape[1]
    draws = rng.integers(0, n_images, size=(n_boot, n_images))
    # How often each image was drawn per replicate: the resampled means are then one product.
    offsets = (np.arange(n_boot) * n_images)[:, None]
    counts = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_images)
    weights = counts.reshape(n_boot, n_images).astype(np.float64) / n_images
    means: NDArray[np.float64] = weights @ matrix.T
    return means


def _interval(estimate: float, samples: NDArray[np.float64], level: float) -> Interval:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail])
    return Interval(estimate, float(low), float(high))
