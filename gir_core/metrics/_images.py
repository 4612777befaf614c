"""Input checks and the luma conversion shared by every metric.

Metrics accept one H×W×3 image or a batch N×H×W×3 of float RGB in [0, 1] (the 1/255 grid of
:mod:`gir_core.imaging`). Internally everything is a batch, so one code path serves both and the
work is vectorised over images.

The luma is the Y of YIQ (0.299 R + 0.587 G + 0.114 B), evaluated in float32 in pyiqa's exact
operation order: pyiqa's ``psnry``, ``ssim`` and ``niqe`` all use it, and ``ssim``/``niqe`` round
``255·Y`` to integers, where a different evaluation order flips a few half-way ties (measured:
about one pixel in 3 000 on noisy photos, enough to move NIQE by 0.04).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ImageError, ParameterError

Batch = NDArray[np.float32]
Scores = NDArray[np.float64]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_LEVELS = np.float32(255.0)


def as_batch(image: object, *, what: str = "image", min_size: int = 1) -> tuple[Batch, bool]:
    """Return ``(batch, single)``: the input as float32 N×H×W×3 and whether it was one image.

    Raises :class:`ImageError` with the found shape, dtype or range, so a caller passing uint8 or
    greyscale data knows what to change.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{what} must be a NumPy array, got {type(image).__name__}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ImageError(
            f"{what} must be float RGB in [0, 1] (see gir_core.imaging.to_float), "
            f"got dtype {image.dtype}"
        )
    if image.ndim not in (3, 4) or image.shape[-1] != 3:
        raise ImageError(f"{what} must have shape H×W×3 or N×H×W×3 (RGB), got {image.shape}")
    height, width = image.shape[-3], image.shape[-2]
    if min(height, width) < min_size or image.size == 0:
        raise ImageError(
            f"{what} must be at least {min_size}×{min_size} pixels, got {width}×{height}"
        )
    lo, hi = float(image.min()), float(image.max())
    if lo < 0.0 or hi > 1.0 or not (np.isfinite(lo) and np.isfinite(hi)):
        raise ImageError(f"{what} values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")
    single = image.ndim == 3
    batch = image[np.newaxis] if single else image
    return np.asarray(batch, dtype=np.float32), single


def as_pair(
    image: object, reference: object, *, min_size: int = 1, crop_border: int = 0
) -> tuple[Batch, Batch, bool]:
    """Check a full-reference pair (both valid, same shape) and crop ``crop_border`` pixels.

    The crop is a view, so ``crop_border=0`` leaves the data, and the scores, exactly as before.
    """
    x, single = as_batch(image, what="image", min_size=min_size)
    y, _ = as_batch(reference, what="reference", min_size=min_size)
    if x.shape != y.shape:
        raise ImageError(
            f"image and reference must have the same shape, got {x.shape[1:]} and "
            f"{y.shape[1:]}" + ("" if x.shape[0] == y.shape[0] else f" (batch {len(x)}/{len(y)})")
        )
    return crop(x, crop_border, min_size), crop(y, crop_border, min_size), single


def crop(batch: Batch, border: int, min_size: int = 1) -> Batch:
    """Drop ``border`` pixels from each side of every image of an N×H×W×3 batch.

    The convention of basicsr's ``calculate_psnr``/``calculate_ssim`` (``crop_border``), which
    the authors of the paper score with.

    Raises:
        ParameterError: ``border`` is not a non-negative integer, or leaves fewer than
            ``min_size`` pixels on a side; the message gives the size and the largest crop.
    """
    if isinstance(border, bool) or not isinstance(border, int | np.integer):
        raise ParameterError(f"crop_border must be an integer, got {border!r}")
    if border < 0:
        raise ParameterError(f"crop_border must be 0 or more, got {border}")
    if border == 0:
        return batch
    height, width = batch.shape[1], batch.shape[2]
    if min(height, width) - 2 * border < min_size:
        largest = (min(height, width) - min_size) // 2
        raise ParameterError(
            f"crop_border={border} leaves {width - 2 * border}×{height - 2 * border} pixels of "
            f"a {width}×{height} image; the metric needs at least {min_size}×{min_size}, "
            f"so crop_border must be at most {largest}"
        )
    return batch[:, border : height - border, border : width - border]


def finish(scores: Scores, single: bool) -> Scores:
    """Shape ``()`` for one input image, ``(N,)`` for a batch."""
    return scores.reshape(()) if single else scores


def luma(batch: Batch) -> NDArray[np.float32]:
    """Y of YIQ in [0, 1], float32, N×H×W (pyiqa's ``to_y_channel`` with range 1)."""
    r, g, b = batch[..., 0], batch[..., 1], batch[..., 2]
    # Sequential float32 products and sums, no fused multiply-add: torch's CPU matmul order.
    return np.asarray((r * _LUMA[0] + g * _LUMA[1]) + b * _LUMA[2], dtype=np.float32)


def luma_levels(batch: Batch) -> NDArray[np.float64]:
    """Y rounded to 8-bit levels (0..255) as float64: the MATLAB-style grey image."""
    scaled = luma(batch) * _LEVELS
    return np.asarray(np.rint(scaled), dtype=np.float64)


def rgb_levels(batch: Batch) -> NDArray[np.float64]:
    """RGB scaled to 0..255 and rounded, as float64 (pyiqa's preprocessing for ``ssimc``)."""
    return np.asarray(np.rint(batch * _LEVELS), dtype=np.float64)
