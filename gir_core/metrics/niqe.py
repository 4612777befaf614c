"""NIQE: the no-reference Natural Image Quality Evaluator (Mittal, Soundararajan, Bovik 2013).

NIQE measures how far an image's local statistics lie from those of pristine natural images:
lower is better. The recipe (MATLAB's ``computequality.m``, as calibrated by pyiqa 0.1.16):

1. Grey image = Y of YIQ scaled to 0..255 and rounded; crop to whole 96×96 patches (top-left).
2. At two scales (full, then MATLAB-bicubic half size), compute MSCN coefficients
   ``(I − μ) / (σ + 1)`` with a 7×7 Gaussian (σ = 7/6) and edge-replicated borders.
3. Per patch (96×96, then 48×48): fit an asymmetric generalised Gaussian (AGGD) to the MSCN
   values and to their products with the 4 neighbours (right, down, two diagonals, circular
   within the patch) by moment matching against a table of shapes 0.2:0.001:10 — 18 features
   per scale, 36 per patch.
4. Fit a Gaussian to the patch features (NaN-ignoring mean; covariance over patches without
   NaN, as MATLAB's ``nancov``) and report the Mahalanobis-like distance to the pristine model
   ``sqrt(Δμᵀ · pinv((Σ_pristine + Σ_image)/2) · Δμ)``.

Two details decide the calibration and are kept on purpose:

- The Gaussian window is used with float32-rounded weights (sum 1 + 1.1e-8), as pyiqa does. In
  flat regions ``I − μ`` is then a tiny constant of fixed sign rather than ±1e-14 round-off, so a
  flat patch's AGGD fit is NaN (one side empty) exactly where pyiqa's is. With exact weights the
  scores of images with flat areas move by up to 0.23.
- The half-size image is computed in float32, as pyiqa's resize casts to float32 (1e-4 effect).
  It is MATLAB's bicubic halving (:mod:`~gir_core.metrics.matlab_resize`) as one OpenCV filter
  with its 8 weights, 3× faster than tap-by-tap accumulation; the other rounding order moves
  the half-size image by an ulp and the calibration images' NIQE by < 1e-5.

Patches with NaN features (flat areas) are skipped by the covariance and by each feature's mean.
A flat image has no usable patch and scores NaN. pyiqa fails on images with a single patch
(96–191 px on both sides); here its covariance is zero (MATLAB's ``nancov`` for one
observation), so the score is the distance under the pristine covariance alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from gir_core.metrics._images import Scores, as_batch, crop, finish, luma_levels
from gir_core.metrics.matlab_resize import contributions

PATCH_SIZE = 96
"""Patch side at full scale, the value of the NIQE paper and of the pristine model."""

_SHAPES = np.linspace(0.2, 10.0, 9801)  # MATLAB's 0.2:0.001:10
# Moment ratio E[|x|]² / E[x²] of a generalised Gaussian of each shape; strictly increasing.
_RATIOS = np.exp(2.0 * gammaln(2.0 / _SHAPES) - gammaln(1.0 / _SHAPES) - gammaln(3.0 / _SHAPES))
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
# torch.linalg.pinv's default cut-off (NumPy's own default, 1e-15, is looser).
_PINV_RTOL = 36 * float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class PristineModel:
    """The official NIQE model: mean (36,) and covariance (36×36) of pristine patch features."""

    mean: NDArray[np.float64]
    covariance: NDArray[np.float64]
    window: NDArray[np.float64]


@functools.cache
def pristine_model() -> PristineModel:
    """Load the shipped pristine parameters (see ``data/CREDIT.md``) once per process."""
    source = resources.files("gir_core.metrics").joinpath("data/niqe_pristine_params.npz")
    with source.open("rb") as handle, np.load(handle) as params:
        mean = np.asarray(params["mu_pris_param"], dtype=np.float64).reshape(-1)
        covariance = np.asarray(params["cov_pris_param"], dtype=np.float64)
        window = np.asarray(params["gaussian_window"], dtype=np.float32).astype(np.float64)
    return PristineModel(mean=mean, covariance=covariance, window=window)


def mscn(grey: NDArray[np.float64], window: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean-subtracted, contrast-normalised coefficients of an H×W image (0..255 scale)."""
    mu = _filter(grey, window)
    spread = _filter(grey * grey, window)
    spread -= mu * mu  # the local variance; then σ + 1 in place: no image-sized temporaries
    # OpenCV's square root: the same correctly rounded values as np.sqrt, in half the time.
    cv2.sqrt(np.abs(spread, out=spread), dst=spread)
    spread += 1.0
    return np.divide(np.subtract(grey, mu, out=mu), spread, out=mu)


def _filter(plane: NDArray[np.float64], window: NDArray[np.float64]) -> NDArray[np.float64]:
    """Correlate with edge replication (MATLAB's ``imfilter(..., 'replicate')``), in float64.

    Separably, with the window's rank-one factor: 14 taps a pixel instead of 49 (3-4× faster).
    The float32-rounded window is rank one to 1e-8 of its size (its second singular value is
    3e-9), so the local means move by < 3e-7 grey levels, while the factors keep the window's
    sum, 1 + 1.1e-8, to the last bits: flat areas keep the fixed-sign residue that decides
    their NaN fits (see the module's note).
    """
    total = float(window.sum())
    rows, cols = window.sum(axis=1) / np.sqrt(total), window.sum(axis=0) / np.sqrt(total)
    out = cv2.sepFilter2D(plane, cv2.CV_64F, cols, rows, borderType=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float64)


def fit_aggd(
    samples: NDArray[np.float64],
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
"""Values per pass of the moments: 64 full-size patches (4.7 MB, a 512×512 image's 25 patches
in one block). Each pass is one NumPy or OpenCV call, and a call costs a few microseconds
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

    def __init__(self, count: int, length: int, block: int) -> None:
        self.length = length
        self.sum_sq, self.left_sq, self.sum_abs = np.empty(count), np.empty(count), np.empty(count)
        self.negatives, self.positives = np.empty(count, np.intp), np.empty(count, np.intp)
        self._negative = np.empty((min(block, count), length))
        self._signs = np.empty(self._negative.shape, dtype=bool)

    def add(self, rows: NDArray[np.float64], start: int, *, no_zero: bool = False) -> None:
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
        self.sum_abs[part] = total - 2.0 * cv2.reduce(negative, 1, cv2.REDUCE_SUM)[:, 0]
        self.negatives[part] = _count_true(np.less(rows, 0.0, out=signs))
        if no_zero or cv2.countNonZero(rows) == rows.size:
            self.positives[part] = self.length - self.negatives[part]
        else:
            self.positives[part] = _count_true(np.greater(rows, 0.0, out=signs))

    def moments(self) -> _Moments:
        return self.sum_sq, self.left_sq, self.negatives, self.positives, self.sum_abs


def _moments(samples: NDArray[np.float64]) -> _Moments:
    """Per row of ``samples`` (M×P): the moments of :class:`_MomentSink`, a block at a time."""
    count, length = samples.shape
    block = max(1, _BLOCK_VALUES // length)
    sink = _MomentSink(count, length, block)
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
    patches = coefficients.reshape(rows, size, cols, size).swapaxes(1, 2).reshape(-1, size, size)
    count, length = patches.shape[0], size * size
    block = max(1, _BLOCK_VALUES // length)
    maps = len(_SHIFTS) + 1
    sink = _MomentSink(maps * count, length, block)
    no_zero = _products_never_zero(patches)
    products = np.empty((min(block, count), size, size))
    for start in range(0, count, block):
        part = patches[start : start + block]
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


_NEVER_ZERO = 1e-150
"""Coefficients at least this large in magnitude have products that are never 0 in float64
(their magnitude is at least 1e-300, above the smallest normal number, 2.2e-308)."""


def _products_never_zero(patches: NDArray[np.float64]) -> bool:
    """Whether no coefficient and no product of two coefficients is 0 (the usual case)."""
    return bool(np.abs(patches).min() >= _NEVER_ZERO)


def _times_rolled(
    patches: NDArray[np.float64], shift: tuple[int, int], out: NDArray[np.float64]
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


def image_features(grey: NDArray[np.float64], model: PristineModel) -> NDArray[np.float64]:
    """Patch features at both scales of a grey image (0..255): shape (patches, 36)."""
    rows, cols = grey.shape[0] // PATCH_SIZE, grey.shape[1] // PATCH_SIZE
    image = grey[: rows * PATCH_SIZE, : cols * PATCH_SIZE]
    full = patch_features(mscn(image, model.window), PATCH_SIZE)
    half = patch_features(mscn(half_size(image), model.window), PATCH_SIZE // 2)
    return np.concatenate([full, half], 1)


def half_size(grey: NDArray[np.float64]) -> NDArray[np.float64]:
    """MATLAB's ``imresize(grey / 255, 0.5)`` in float32, back on the 0..255 scale (float64).

    For an even side, every output of the halving reads the same 8 mirrored neighbours
    (inputs 2k−3 … 2k+4 of output k) with the same weights: one separable float32 filter with
    symmetric borders (OpenCV's ``BORDER_REFLECT`` is MATLAB's mirror), kept at even positions.
    Equal to :func:`~gir_core.metrics.matlab_resize.imresize` up to float32 rounding order.
    """
    kernel = _half_kernel()
    scaled = np.asarray(grey / 255.0, dtype=np.float32)
    filtered = cv2.sepFilter2D(
        scaled, cv2.CV_32F, kernel, kernel, anchor=(3, 3), borderType=cv2.BORDER_REFLECT
    )
    return np.asarray(filtered[::2, ::2], dtype=np.float64) * 255.0


@functools.cache
def _half_kernel() -> NDArray[np.float32]:
    """The 8 weights of MATLAB's antialiased bicubic halving, as float32 (what pyiqa uses)."""
    weights, _ = contributions(2 * PATCH_SIZE, 0.5)
    if weights.shape[1] != 8 or not np.all(weights == weights[0]):
        raise AssertionError("MATLAB's halving of an even side has 8 equal taps per output")
    return np.asarray(weights[0], dtype=np.float32)


def quality(features: NDArray[np.float64], model: PristineModel) -> float:
    """NIQE distance between the image's patch-feature Gaussian and the pristine one."""
    complete = features[~np.isnan(features).any(axis=1)]
    if len(complete) == 0:
        return float("nan")
    mean = np.nanmean(features, axis=0)  # never all-NaN: a complete row exists
    centred = complete - complete.mean(axis=0)
    covariance = centred.T @ centred / max(len(complete) - 1, 1)
    diff = model.mean - mean
    inverse = np.linalg.pinv((model.covariance + covariance) / 2.0, rtol=_PINV_RTOL)
    return float(np.sqrt(max(float(diff @ inverse @ diff), 0.0)))


def niqe(image: NDArray[np.floating], *, crop_border: int = 0) -> Scores:
    """NIQE of one H×W×3 image or of each image of an N×H×W×3 batch (lower is better).

    Args:
        image: float RGB in [0, 1], at least 96×96 pixels; only whole 96×96 patches from the
            top-left corner are scored.
        crop_border: pixels dropped from each side first (basicsr's ``calculate_niqe``
            convention); at least 96×96 must remain.

    Returns:
        Shape ``()`` for one image, ``(N,)`` for a batch; NaN for an image without texture.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> noisy = rng.integers(0, 256, (96, 96, 3)).astype(np.float32) / 255
        >>> float(niqe(noisy)) > 20  # white noise is far from natural statistics
        True
    """
    batch, single = as_batch(image, min_size=PATCH_SIZE)
    batch = crop(batch, crop_border, PATCH_SIZE)
    model = pristine_model()
    rows, cols = batch.shape[1] // PATCH_SIZE, batch.shape[2] // PATCH_SIZE
    greys = luma_levels(batch[:, : rows * PATCH_SIZE, : cols * PATCH_SIZE])  # scored pixels only
    # One image at a time: the per-patch work is vectorised and memory stays per-image.
    scores = np.array([quality(image_features(g, model), model) for g in greys])
    return finish(scores, single)
