"""Full-reference metrics: PSNR and SSIM, calibrated against pyiqa 0.1.16.

Conventions (each checked against pyiqa's values in ``tests/data/metric_reference``):

- ``psnr``: all three RGB channels, data range 1, no border crop, and pyiqa's ``eps = 1e-8``
  added to the MSE. The eps caps identical images at exactly 80 dB instead of +inf, which keeps
  means over test sets finite; it moves a 40 dB score by only 4e-4 dB.
- ``psnr_y``: the same on the Y of YIQ (0.299 R + 0.587 G + 0.114 B), unrounded. pyiqa's
  ``psnry`` uses this luma, *not* the 16–235 YCbCr of MATLAB's ``rgb2ycbcr``: the YCbCr variant
  misses pyiqa's values by up to 1.3 dB.
- ``ssim``: Y of YIQ scaled to 0..255 and rounded to integers, 11×11 Gaussian window σ = 1.5,
  'valid' filtering (no padding, the map is (H−10)×(W−10)), no downsampling, C1 = (0.01·255)²,
  C2 = (0.03·255)², and the contrast-structure term clipped at 0 before the product, so SSIM
  lies in [0, 1]. Without the rounding the values drift by 1e-3.
- ``ssim_rgb``: the same per RGB channel (levels 0..255), averaged over channels.

Every metric takes ``crop_border`` (keyword, default 0): that many pixels are dropped from each
side of both images first, as basicsr's ``calculate_psnr``/``calculate_ssim`` do (the paper's
authors score with ``crop_border: 4``). With 0 the values are pyiqa's, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import cv2
import numpy as np
from numpy.typing import NDArray

from gir_core.metrics._inputs import (
    LEVELS,
    LUMA,
    Image,
    Scores,
    checked_pairs,
    finish,
    luma_levels,
)
from gir_core.metrics._scratch import scratch

PSNR_EPS = 1e-8
"""Added to the MSE, as pyiqa does: identical images score ``10·log10(1/1e-8) = 80`` dB."""

PSNR_MAX = 80.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = (0.01 * 255.0) ** 2
SSIM_C2 = (0.03 * 255.0) ** 2


def _gaussian_1d(size: int, sigma: float) -> NDArray[np.float64]:
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    weights = np.exp(-(offsets**2) / (2.0 * sigma * sigma))
    return np.asarray(weights / weights.sum(), dtype=np.float64)


SSIM_KERNEL = _gaussian_1d(SSIM_WINDOW, SSIM_SIGMA)


def _mean_square(diff: NDArray[np.float32]) -> float:
    """Mean of ``diff**2`` over a float32 H×W(×3) array, at memory speed and float64 accuracy.

    Why not ``np.mean(diff.astype(np.float64) ** 2)``: the casts and temporaries made PSNR ten
    times slower than reading the images. Each row's sum of squares is one float32 dot product
    (``vecdot``, 3× faster than ``einsum``; at most a few thousand terms, relative error ~1e-6,
    i.e. a few 1e-6 dB against float64; tests allow 1e-5 dB), and the row sums are added in
    float64. Images are scored one at a time so the temporary stays in cache.
    """
    rows = diff.reshape(diff.shape[0], -1)
    return float(np.vecdot(rows, rows).sum(dtype=np.float64)) / diff.size


def _differences(
    pairs: Iterator[tuple[NDArray[np.float32], NDArray[np.float32]]], luma: bool = False
) -> Iterator[NDArray[np.float32]]:
    """``a - b`` of each pair (``(a - b) @ LUMA`` with ``luma``), in one scratch array.

    Y is linear, so Y(a) - Y(b) = Y(a - b): one weighted sum of channels of the difference. A
    fresh 3 MB difference per 512×512 image was page-faulted in on every call.
    """
    for a, b in pairs:
        diff = np.subtract(a, b, out=scratch("psnr.diff", a.shape, np.float32))
        if luma:  # OpenCV's 3-to-1 channel transform: 1.7× faster than matmul, ±1 ulp
            diff = cv2.transform(diff, _LUMA_ROW, dst=scratch("psnr.y", a.shape[:2], np.float32))
        yield diff


_LUMA_ROW = LUMA.reshape(1, 3)


def _psnr_from_mse(mse: NDArray[np.float64]) -> Scores:
    return np.asarray(10.0 * np.log10(1.0 / (mse + PSNR_EPS)), dtype=np.float64)


def psnr(
    image: NDArray[np.floating], reference: NDArray[np.floating], *, crop_border: int = 0
) -> Scores:
    """PSNR in dB over all RGB channels (data range 1), pyiqa's ``psnr``.

    Args:
        image: H×W×3 or N×H×W×3 float RGB in [0, 1].
        reference: same shape as ``image``.
        crop_border: pixels dropped from each side of both images before the metric.

    Returns:
        Shape ``()`` for one image pair, ``(N,)`` for a batch. Identical images give 80 dB.

    Raises:
        ParameterError: ``crop_border`` is negative or leaves no pixels.

    Example:
        >>> a = np.full((8, 8, 3), 0.5, np.float32)
        >>> round(float(psnr(a, a + np.float32(0.1))), 3)  # 10·log10(1 / 0.1²)
        20.0
    """
    pairs, single = checked_pairs(image, reference, crop_border=crop_border)
    mse = np.array([_mean_square(diff) for diff in _differences(pairs)])
    return finish(_psnr_from_mse(mse), single)


def psnr_y(
    image: NDArray[np.floating], reference: NDArray[np.floating], *, crop_border: int = 0
) -> Scores:
    """PSNR in dB on the Y (luma) channel of YIQ, data range 1, pyiqa's ``psnry``.

    Example:
        >>> a = np.full((8, 8, 3), 0.5, np.float32)
        >>> round(float(psnr_y(a, a + np.float32(0.1))), 3)  # grey: Y moves by the same 0.1
        20.0
    """
    pairs, single = checked_pairs(image, reference, crop_border=crop_border)
    mse = np.array([_mean_square(diff) for diff in _differences(pairs, luma=True)])
    return finish(_psnr_from_mse(mse), single)


def _valid_blur(plane: NDArray[np.float64], out: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gaussian-weighted local means of an H×W plane into ``out`` (H×W), 'valid' region only.

    OpenCV's separable filter is ~7x faster than SciPy's here; the border mode is irrelevant
    because the border is cropped away. Returns the valid (H−10)×(W−10) view of ``out``.
    """
    half = SSIM_WINDOW // 2
    kernel = SSIM_KERNEL
    cv2.sepFilter2D(plane, cv2.CV_64F, kernel, kernel, dst=out, borderType=cv2.BORDER_CONSTANT)
    return out[half:-half, half:-half]


def _ssim_plane(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    """Mean of the SSIM map of one H×W plane pair.

    The terms are combined in place (same operations in the same order, so the same values),
    in per-thread scratch arrays (:mod:`~gir_core.metrics._scratch`): fresh plane-sized
    temporaries cost an allocation, a page fault per 4 kB and a cache miss each, call after call.
    """
    full, valid = x.shape, (x.shape[0] - SSIM_WINDOW + 1, x.shape[1] - SSIM_WINDOW + 1)
    # Four plane buffers and two valid-size ones, each reused as soon as its term is used up:
    # a smaller working set stays in cache (one buffer per term was 10% slower).
    first, second, third, square = (scratch(f"ssim.{k}", full, np.float64) for k in range(4))
    mu_xx, mu_yy = (scratch(f"ssim.{k}", valid, np.float64) for k in ("xx", "yy"))
    mu_x, mu_y = _valid_blur(x, first), _valid_blur(y, second)
    np.multiply(mu_x, mu_x, out=mu_xx)
    np.multiply(mu_y, mu_y, out=mu_yy)
    mu_xy = np.multiply(mu_x, mu_y, out=mu_x)
    var_x = _valid_blur(np.multiply(x, x, out=square), third)
    var_x -= mu_xx
    var_y = _valid_blur(np.multiply(y, y, out=square), second)  # mu_y is used up
    var_x += np.subtract(var_y, mu_yy, out=var_y)  # var_x + var_y
    cov_xy = _valid_blur(np.multiply(x, y, out=square), second)
    cov_xy -= mu_xy
    cov_xy *= 2.0
    cov_xy += SSIM_C2
    var_x += SSIM_C2
    contrast_structure = np.maximum(np.divide(cov_xy, var_x, out=cov_xy), 0.0, out=cov_xy)
    mu_xy *= 2.0
    mu_xy += SSIM_C1
    mu_xx += mu_yy
    mu_xx += SSIM_C1
    luminance = np.divide(mu_xy, mu_xx, out=mu_xy)
    return float(np.mean(np.multiply(luminance, contrast_structure, out=luminance)))


def _ssim_planes(
    pairs: Iterator[tuple[Image, Image]], planes: Callable[[Image, str], NDArray[np.float64]]
) -> Scores:
    """Mean SSIM over the planes of each (image, reference) pair.

    ``planes(image, name)`` turns one H×W×3 image into its P×H×W planes on the 0..255 scale
    (in scratch arrays named after ``name``). Image by image and plane by plane, so the
    temporary maps stay in cache (a batch's would not: batches were slower per image than
    single images); the planes have equal sizes, so the mean of plane means is the mean over
    the whole map.
    """
    return np.array(
        [
            np.mean(
                [_ssim_plane(p, q) for p, q in zip(planes(a, "x"), planes(b, "y"), strict=True)]
            )
            for a, b in pairs
        ],
        dtype=np.float64,
    )


def _luma_plane(image: Image, name: str) -> NDArray[np.float64]:
    shape = image.shape[:2]
    plane = scratch(f"ssim.{name}.luma", (1, *shape), np.float64)
    work = tuple(scratch(f"ssim.{name}.luma{k}", shape, np.float32) for k in range(2))
    luma_levels(image, out=plane[0], work=(work[0], work[1]))
    return plane


def _rgb_planes(image: Image, name: str) -> NDArray[np.float64]:
    """RGB scaled to 0..255 and rounded (pyiqa's preprocessing for ``ssimc``), as three float64
    planes, channel first, in scratch arrays."""
    levels = scratch(f"ssim.{name}.levels", image.shape, np.float32)
    np.rint(np.multiply(image, LEVELS, out=levels), out=levels)
    planes = scratch(f"ssim.{name}.rgb", (3, *image.shape[:2]), np.float64)
    np.copyto(planes, levels.transpose(2, 0, 1))
    return planes


def ssim(
    image: NDArray[np.floating], reference: NDArray[np.floating], *, crop_border: int = 0
) -> Scores:
    """SSIM on the rounded Y channel, 11×11 Gaussian σ = 1.5, no downsampling: pyiqa's ``ssim``.

    Args:
        image: H×W×3 or N×H×W×3 float RGB in [0, 1], at least 11×11 pixels.
        reference: same shape as ``image``.
        crop_border: pixels dropped from each side first; at least 11×11 must remain.

    Returns:
        Values in [0, 1]; shape ``()`` for one image pair, ``(N,)`` for a batch.

    Example:
        >>> a = np.full((16, 16, 3), 0.5, np.float32)
        >>> float(ssim(a, a))
        1.0
    """
    pairs, single = checked_pairs(image, reference, min_size=SSIM_WINDOW, crop_border=crop_border)
    return finish(_ssim_planes(pairs, _luma_plane), single)


def ssim_rgb(
    image: NDArray[np.floating], reference: NDArray[np.floating], *, crop_border: int = 0
) -> Scores:
    """SSIM per RGB channel (levels 0..255), averaged over channels: pyiqa's ``ssimc``.

    Example:
        >>> a = np.full((16, 16, 3), 0.5, np.float32)
        >>> float(ssim_rgb(a, a))
        1.0
    """
    pairs, single = checked_pairs(image, reference, min_size=SSIM_WINDOW, crop_border=crop_border)
    return finish(_ssim_planes(pairs, _rgb_planes), single)
