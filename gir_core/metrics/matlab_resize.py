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

import functools
import math
from collections.abc import Callable
from types import EllipsisType

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
    weights, indices = _taps(length, scale, antialias=antialias)
    return weights.copy(), _mirror(indices, length)


@functools.lru_cache(maxsize=64)
def _taps(
    length: int, scale: float, *, antialias: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """:func:`contributions` before the mirroring: indices may lie outside [0, length).

    Cached (read-only arrays): NIQE asks for the same two axes image after image.
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
    kept, starts = weights[:, used], indices[:, used].astype(np.intp) - 1
    kept.flags.writeable = starts.flags.writeable = False
    return kept, starts


def _mirror(indices: NDArray[np.intp], length: int) -> NDArray[np.intp]:
    """Fold indices into [0, length) by symmetric reflection, repeating the edge pixel."""
    period = np.mod(indices, 2 * length)
    return np.where(period < length, period, 2 * length - 1 - period).astype(np.intp)


def _resize_axis(
    images: NDArray[np.floating], scale: float, axis: int, dtype: DTypeLike
) -> NDArray[np.floating]:
    """One axis: ``total += input[indices of tap] * weight``, tap after tap, in ``dtype``.

    Two shortcuts keep the same terms in the same order, so the same values, at a third of the
    time for NIQE's halving: when each tap's indices step evenly (an integer shrink factor), the
    input is mirrored once and split into its ``step`` phases (even and odd rows for a halving),
    so every tap reads a contiguous slice instead of gathering a fresh copy; and a tap whose
    weight is the same for every output multiplies by that one number, not a broadcast column.
    """
    weights, raw = _taps(images.shape[axis], scale)
    shape = [1] * images.ndim
    shape[axis] = weights.shape[0]
    out_shape = list(images.shape)
    out_shape[axis] = weights.shape[0]
    total = np.zeros(out_shape, dtype=dtype)  # 0 + first term is exact: order is unchanged
    sources = _tap_sources(images, raw, axis)
    product = np.empty(out_shape, dtype=dtype)
    for tap in range(weights.shape[1]):
        column = weights[:, tap].astype(dtype)
        weight = column[:1] if np.all(column == column[0]) else column.reshape(shape)
        total += np.multiply(sources(tap), weight, out=product)
    return total


def _tap_sources(
    images: NDArray[np.floating], raw: NDArray[np.intp], axis: int
) -> Callable[[int], NDArray[np.floating]]:
    """``sources(tap)``: the input values each output reads for that tap (a view if possible)."""
    length, count = images.shape[axis], raw.shape[0]
    steps = np.diff(raw, axis=0)
    if count < 2 or not np.all(steps == steps[0, 0]) or steps[0, 0] < 1:
        indices = _mirror(raw, length)
        return lambda tap: np.take(images, indices[:, tap], axis=axis)
    step, first = int(steps[0, 0]), int(raw.min())
    padded = _mirror_pad(images, first, int(raw.max()) + 1, axis)
    phases = [
        np.ascontiguousarray(padded[_along(axis, slice(phase, None, step))])
        for phase in range(step)
    ]

    def view(tap: int) -> NDArray[np.floating]:
        start = int(raw[0, tap]) - first
        return phases[start % step][_along(axis, slice(start // step, start // step + count))]

    return view


def _mirror_pad(
    images: NDArray[np.floating], start: int, stop: int, axis: int
) -> NDArray[np.floating]:
    """Positions ``start..stop-1`` of ``axis``, mirrored outside the image as :func:`_mirror`.

    The image's own part is sliced, only the mirrored margins are gathered (a gather along the
    last axis costs as much as the whole resize of that axis).
    """
    length = images.shape[axis]
    inner = slice(max(start, 0), min(stop, length))
    if inner.start >= inner.stop:
        return np.take(images, _mirror(np.arange(start, stop), length), axis)
    parts = [
        np.take(images, _mirror(np.arange(start, inner.start), length), axis),
        images[_along(axis, inner)],
        np.take(images, _mirror(np.arange(inner.stop, stop), length), axis),
    ]
    return np.concatenate(parts, axis=axis)


def _along(axis: int, part: slice) -> tuple[slice | EllipsisType, ...]:
    """Index selecting ``part`` of axis ``axis`` (counted from the front) of an array."""
    return (slice(None),) * axis + (part, Ellipsis)


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
