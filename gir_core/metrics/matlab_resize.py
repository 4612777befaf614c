"""MATLAB's ``imresize`` with the bicubic kernel (a = −0.5) and antialiasing, in NumPy.

NIQE's second scale is ``imresize(im, 0.5)``; OpenCV's and PIL's bicubic resizers use other
kernels, centres or boundary rules, so they shift NIQE by more than its tolerance. MATLAB's rule,
one axis at a time:

- output length ``ceil(n·scale)``; output pixel k (1-based) sits at input coordinate
  ``u = k/scale + (1 − 1/scale)/2``;
- when shrinking, the kernel is stretched by ``1/scale`` (``scale·cubic(scale·d)``): the
  antialiasing low-pass; its support grows from 4 to ``4/scale`` taps;
- each output's weights are normalised to sum to 1;
- outside the image the input is mirrored *with* the edge pixel repeated (``…b a | a b c…``).

The taps are accumulated one at a time, left to right, in the working dtype. pyiqa runs this
resize in float32 (its caster always converts); ``dtype=np.float32`` reproduces its values to
the last bit on the calibration images, float64 is MATLAB's own precision.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike, NDArray

from gir_core.errors import ParameterError

_SUPPORT = 4.0  # width of the bicubic kernel, in input pixels, before stretching


def cubic(distance: NDArray[np.float64]) -> NDArray[np.float64]:
    """Keys' cubic convolution kernel with a = −0.5 (MATLAB's ``bicubic``)."""
    d = np.abs(distance)
    d2, d3 = d * d, d * d * d
    inner = (1.5 * d3 - 2.5 * d2 + 1.0) * (d <= 1.0)
    outer = (-0.5 * d3 + 2.5 * d2 - 4.0 * d + 2.0) * ((d > 1.0) & (d <= 2.0))
    return np.asarray(inner + outer, dtype=np.float64)


def contributions(
    length: int, scale: float, *, antialias: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Weights and 0-based mirrored input indices, each of shape (out_length, taps).

    Taps whose weight is zero for every output (MATLAB trims these) are dropped.
    """
    out_length = math.ceil(length * scale)
    stretch = scale if (antialias and scale < 1.0) else 1.0
    width = _SUPPORT / stretch
    centres = np.arange(1, out_length + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(centres - width / 2.0)
    taps = math.ceil(width) + 2
    indices = left[:, np.newaxis] + np.arange(taps, dtype=np.float64)
    weights = stretch * cubic((centres[:, np.newaxis] - indices) * stretch)
    weights /= weights.sum(axis=1, keepdims=True)
    used = np.any(weights != 0.0, axis=0)
    return weights[:, used], _mirror(indices[:, used].astype(np.intp) - 1, length)


def _mirror(indices: NDArray[np.intp], length: int) -> NDArray[np.intp]:
    """Fold indices into [0, length) by symmetric reflection, repeating the edge pixel."""
    period = np.mod(indices, 2 * length)
    return np.where(period < length, period, 2 * length - 1 - period).astype(np.intp)


def _resize_axis(
    images: NDArray[np.floating], scale: float, axis: int, dtype: DTypeLike
) -> NDArray[np.floating]:
    weights, indices = contributions(images.shape[axis], scale)
    shape = [1] * images.ndim
    shape[axis] = weights.shape[0]
    out_shape = list(images.shape)
    out_shape[axis] = weights.shape[0]
    total = np.zeros(out_shape, dtype=dtype)  # 0 + first term is exact: order is unchanged
    for tap in range(weights.shape[1]):
        weight = weights[:, tap].astype(dtype).reshape(shape)
        total += np.take(images, indices[:, tap], axis=axis) * weight
    return total


def imresize(
    images: NDArray[np.floating], scale: float, *, dtype: DTypeLike = np.float64
) -> NDArray[np.floating]:
    """Resize the last two axes (H, W) like MATLAB's ``imresize(x, scale)`` (bicubic, antialias).

    Rows are resized first, then columns, as MATLAB does for equal scales. No rounding or
    clipping: the output of a float input stays float, like MATLAB's for ``double`` images.

    Args:
        images: array of shape (..., H, W); leading axes are resized independently.
        scale: positive factor (0.5 halves each side, rounding the size up).
        dtype: working and output precision.

    Example:
        >>> x = np.arange(16, dtype=np.float64).reshape(4, 4)
        >>> np.round(imresize(x, 0.75), 4)[0].tolist()  # first row, as MATLAB's imresize
        [0.7506, 2.1004, 3.4503]
    """
    if not (math.isfinite(scale) and scale > 0.0):
        raise ParameterError(f"scale must be a positive finite number, got {scale!r}")
    if images.ndim < 2:
        raise ParameterError(f"images must have at least 2 axes (H, W), got shape {images.shape}")
    work = np.dtype(dtype)
    if not np.issubdtype(work, np.floating):
        raise ParameterError(f"dtype must be a float type, got {work}")
    rows = _resize_axis(np.asarray(images, dtype=work), scale, images.ndim - 2, work)
    return _resize_axis(rows, scale, images.ndim - 1, work)
