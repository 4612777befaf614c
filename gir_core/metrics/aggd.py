"""NIQE's patch features: asymmetric generalised Gaussian (AGGD) fits by moment matching.

Per patch, five maps are fitted: the MSCN coefficients and their products with the 4
neighbours (right, down, two diagonals, circular within the patch). A fit needs five moments
of each map (sum of squares, of squares of the negatives, counts of negatives and positives,
sum of absolute values); the shape is the entry of MATLAB's table 0.2:0.001:10 whose moment
ratio is nearest. This is two thirds of NIQE's arithmetic, so each step is written for speed
(see :class:`_MomentSink` and :func:`_times_rolled`) and tested against its plain definition.

The maps are float32 (the coefficients rounded once, the products in float32): half the memory
traffic and twice the SIMD width of float64. Sums of squares accumulate in float32 (relative
error ~1e-6), plain sums in float64. A shape moves by one table step (0.001) only where a
moment ratio lies within that error of a midpoint: NIQE moves by < 4e-6 on the calibration
images (|ΔNIQE| ≤ 0.02 is the tolerance against pyiqa).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from gir_core.metrics._scratch import scratch

_SHAPES = np.linspace(0.2, 10.0, 9801)  # MATLAB's 0.2:0.001:10
# Moment ratio E[|x|]² / E[x²] of a generalised Gaussian of each shape; strictly increasing.
_RATIOS = np.exp(2.0 * gammaln(2.0 / _SHAPES) - gammaln(1.0 / _SHAPES) - gammaln(3.0 / _SHAPES))
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def fit_aggd(
    samples: NDArray[np.floating],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Moment-matching AGGD fit of each row of ``samples`` (M×P): (shape, left scale, right scale).

    A row without negative or without positive values has an undefined fit: its scales are NaN
    and its shape is the table's first entry, 0.2 (what pyiqa's NaN-propagating argmin gives).
    """
    return _fit(_moments(samples), samples.shape[1])


def _fit(
    moments: _Moments, length: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """:func:`fit_aggd` from the rows' moments (see :func:`_moments`) and their length."""
    sum_sq, left_sq, negatives, positives, sum_abs = moments
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.sqrt(left_sq / negatives)
        right = np.sqrt((sum_sq - left_sq) / positives)
        skew = left / right
        ratio = (sum_abs / length) ** 2 / (sum_sq / length)
        ratio = ratio * (skew**3 + 1.0) * (skew + 1.0) / (skew**2 + 1.0) ** 2
    shape = _SHAPES[_nearest_shape(ratio)]
    to_scale = np.sqrt(np.exp(gammaln(1.0 / shape) - gammaln(3.0 / shape)))
    return shape, left * to_scale, right * to_scale


_BLOCK_VALUES = 64 * 96 * 96
"""Values per pass of the moments: 64 full-size patches (2.4 MB of float32, a 512×512 image's 25
patches in one block). Each pass is one NumPy or OpenCV call, and a call costs a few microseconds
whatever its size: blocks of 4 patches, small enough for the L2 cache, spent more time in
those calls than the passes gained from the cache (the L3 cache holds the larger block)."""


_Moments = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.intp],
    NDArray[np.intp],
    NDArray[np.float64],
]


class _MomentSink:
    """The AGGD moments of M rows, filled a block of rows at a time (see :meth:`add`).

    Per row: sum of squares, sum of squares of the negatives, counts of negatives and of
    positives, sum of absolute values. Each is one pass of the fastest kernel we found over a
    block that is still in cache: ``vecdot`` for the squares; OpenCV's threshold for the
    negative part x⁻ (the values themselves, so its squares are those of the definition) and
    its row sums, with Σ|x| = Σx − 2·Σx⁻ (|Σx| and −2·Σx⁻ are at most 2·Σ|x|, so the result
    is within a few ulps of Σ|x|); byte popcounts for the signs, the positives' count taken
    from the negatives' when the block has no zero. ``np.abs``/``sum``/``minimum`` and
    ``count_nonzero(axis=1)`` took 1.5–4 times as long.
    """

    def __init__(
        self, count: int, length: int, block: int, dtype: type[np.floating] = np.float64
    ) -> None:
        self.length = length
        self.sum_sq, self.left_sq, self.sum_abs = np.empty(count), np.empty(count), np.empty(count)
        self.negatives, self.positives = np.empty(count, np.intp), np.empty(count, np.intp)
        shape = (min(block, count), length)
        self._negative = scratch(f"aggd.negative.{length}", shape, dtype)
        self._signs = scratch(f"aggd.signs.{length}", shape, np.bool_)

    def add(self, rows: NDArray[np.floating], start: int, *, no_zero: bool = False) -> None:
        """Moments of ``rows`` (C-contiguous, B×length) into rows ``start…start+B-1``.

        ``no_zero``: the caller knows that no value is 0 (see :func:`_products_never_zero`),
        which spares a pass.
        """
        part = slice(start, start + len(rows))
        negative, signs = self._negative[: len(rows)], self._signs[: len(rows)]
        self.sum_sq[part] = np.vecdot(rows, rows)
        cv2.threshold(rows, 0.0, 0.0, cv2.THRESH_TOZERO_INV, dst=negative)  # min(x, 0)
        self.left_sq[part] = np.vecdot(negative, negative)
        total = cv2.reduce(rows, 1, cv2.REDUCE_SUM, dtype=cv2.CV_64F)[:, 0]
        negatives = cv2.reduce(negative, 1, cv2.REDUCE_SUM, dtype=cv2.CV_64F)[:, 0]
        self.sum_abs[part] = total - 2.0 * negatives
        self.negatives[part] = _count_true(np.less(rows, 0.0, out=signs))
        if no_zero or cv2.countNonZero(rows) == rows.size:
            self.positives[part] = self.length - self.negatives[part]
        else:
            self.positives[part] = _count_true(np.greater(rows, 0.0, out=signs))

    def moments(self) -> _Moments:
        return self.sum_sq, self.left_sq, self.negatives, self.positives, self.sum_abs


def _moments(samples: NDArray[np.floating]) -> _Moments:
    """Per row of ``samples`` (M×P): the moments of :class:`_MomentSink`, a block at a time.

    float32 samples are summed as float32 (squares) and float64 (plain sums); others as float64.
    """
    count, length = samples.shape
    block = max(1, _BLOCK_VALUES // length)
    dtype = np.float32 if samples.dtype == np.float32 else np.float64
    samples = np.asarray(samples, dtype=dtype)
    sink = _MomentSink(count, length, block, dtype)
    for start in range(0, count, block):
        sink.add(np.ascontiguousarray(samples[start : start + block]), start)
    return sink.moments()


def _count_true(mask: NDArray[np.bool_]) -> NDArray[np.intp]:
    """True values per row of a C-contiguous 2-D mask: popcounts of its bytes 8 at a time.

    A NumPy bool is the byte 0 or 1, so the set bits of each 8-byte word count its True values;
    ``count_nonzero(axis=1)`` takes a slow generic path (4× slower).
    """
    if mask.shape[1] % 8:
        return np.asarray(np.count_nonzero(mask, axis=1), dtype=np.intp)
    words = mask.view(np.uint64)
    return np.asarray(np.bitwise_count(words).sum(axis=1, dtype=np.intp), dtype=np.intp)


def _nearest_shape(ratio: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the table ratio closest to each value; ties and NaN go to the lower index."""
    finite = np.nan_to_num(ratio, nan=-np.inf)
    upper = np.clip(np.searchsorted(_RATIOS, finite), 1, len(_RATIOS) - 1)
    lower = upper - 1
    closer_up = np.abs(_RATIOS[upper] - finite) < np.abs(_RATIOS[lower] - finite)
    index = np.where(closer_up, upper, lower)
    return np.where(np.isnan(ratio), 0, index).astype(np.intp)


def patch_features(coefficients: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """The 18 NIQE features of each size×size patch of an MSCN map: shape (patches, 18).

    Up to 64 patches at a time, their 5 maps (the coefficients and the 4 neighbour products) one
    after the other through one buffer that stays in cache: writing all 5 maps to memory and
    reading them back cost a third of NIQE's time.
    """
    rows, cols = coefficients.shape[0] // size, coefficients.shape[1] // size
    count, length = rows * cols, size * size
    patches = scratch(f"aggd.patches.{size}", (count, size, size), np.float32)
    tiles = coefficients[: rows * size, : cols * size].reshape(rows, size, cols, size)
    np.copyto(patches.reshape(rows, cols, size, size), tiles.swapaxes(1, 2), casting="same_kind")
    block = max(1, _BLOCK_VALUES // length)
    maps = len(_SHIFTS) + 1
    sink = _MomentSink(maps * count, length, block, np.float32)
    products = scratch(f"aggd.products.{size}", (min(block, count), size, size), np.float32)
    for start in range(0, count, block):
        part = patches[start : start + block]
        no_zero = _products_never_zero(part, products[: len(part)])
        sink.add(part.reshape(len(part), length), start, no_zero=no_zero)
        for k, shift in enumerate(_SHIFTS, start=1):
            product = products[: len(part)]
            _times_rolled(part, shift, out=product)
            sink.add(product.reshape(len(part), length), k * count + start, no_zero=no_zero)
    shape, left, right = (v.reshape(maps, count) for v in _fit(sink.moments(), length))
    columns = [shape[0], (left[0] + right[0]) / 2.0]
    for k in range(1, maps):
        mean = (right[k] - left[k]) * np.exp(gammaln(2.0 / shape[k]) - gammaln(1.0 / shape[k]))
        columns += [shape[k], mean, left[k], right[k]]
    return np.stack(columns, axis=1)


_NEVER_ZERO = 1e-18
"""Coefficients at least this large in magnitude have products that are never 0 in float32
(their magnitude is at least 1e-36, above the smallest normal number, 1.2e-38)."""


def _products_never_zero(patches: NDArray[np.float32], work: NDArray[np.float32]) -> bool:
    """Whether no coefficient and no product of two coefficients is 0 (the usual case).

    ``work``: a buffer of the patches' shape, overwritten.
    """
    return bool(np.abs(patches, out=work).min() >= _NEVER_ZERO)


def _times_rolled(
    patches: NDArray[np.float32], shift: tuple[int, int], out: NDArray[np.float32]
) -> None:
    """``out = patches * np.roll(patches, shift, axis=(1, 2))`` without the rolled copy.

    Each of the B patches (B×S×S, C-contiguous) read as one row of S² values, the neighbour at
    ``shift`` is the value ``shift[0]·S + shift[1]`` places earlier, except in the rows and the
    column that the shift wraps round: one long contiguous product for the bulk, then those
    few values again from the wrapped blocks (a product per block of the 2-D roll took four
    times as long: short strided rows). The same multiplications, so the same values.
    """
    count, size = patches.shape[0], patches.shape[1]
    offset = shift[0] * size + shift[1]
    if not 0 < offset < size * size:
        raise ValueError(f"shift {shift} of a {size}×{size} patch")
    flat, target = patches.reshape(count, -1), out.reshape(count, -1)
    np.multiply(flat[:, offset:], flat[:, :-offset], out=target[:, offset:])
    for rows_to, rows_from in _roll_blocks(shift[0], size):
        for cols_to, cols_from in _roll_blocks(shift[1], size):
            if _unwrapped(rows_to, rows_from, shift[0]) and _unwrapped(
                cols_to, cols_from, shift[1]
            ):
                continue  # the bulk, done above
            np.multiply(
                patches[:, rows_to, cols_to],
                patches[:, rows_from, cols_from],
                out=out[:, rows_to, cols_to],
            )


def _unwrapped(target: slice, source: slice, shift: int) -> bool:
    """Whether a block of :func:`_roll_blocks` reads ``shift`` places back without wrapping."""
    return (target.start or 0) - (source.start or 0) == shift


def _roll_blocks(shift: int, length: int) -> list[tuple[slice, slice]]:
    """(target, source) slices: ``np.roll(data, shift)[target] == data[source]``."""
    step = shift % length
    if step == 0:
        return [(slice(None), slice(None))]
    return [
        (slice(step, None), slice(None, length - step)),
        (slice(None, step), slice(length - step, None)),
    ]
