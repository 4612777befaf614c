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
from gir_core.metrics.matlab_resize import imresize

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
    var = _filter(grey * grey, window) - mu * mu
    return np.asarray((grey - mu) / (np.sqrt(np.abs(var)) + 1.0), dtype=np.float64)


def _filter(plane: NDArray[np.float64], window: NDArray[np.float64]) -> NDArray[np.float64]:
    """Correlate with edge replication (MATLAB's ``imfilter(..., 'replicate')``), in float64."""
    out = cv2.filter2D(plane, cv2.CV_64F, window, borderType=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float64)


def fit_aggd(
    samples: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Moment-matching AGGD fit of each row of ``samples`` (M×P): (shape, left scale, right scale).

    A row without negative or without positive values has an undefined fit: its scales are NaN
    and its shape is the table's first entry, 0.2 (what pyiqa's NaN-propagating argmin gives).
    """
    negative = np.minimum(samples, 0.0)
    sum_sq = np.einsum("ij,ij->i", samples, samples)
    left_sq = np.einsum("ij,ij->i", negative, negative)
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.sqrt(left_sq / np.count_nonzero(samples < 0, axis=1))
        right = np.sqrt((sum_sq - left_sq) / np.count_nonzero(samples > 0, axis=1))
        skew = left / right
        ratio = np.mean(np.abs(samples), axis=1) ** 2 / (sum_sq / samples.shape[1])
        ratio = ratio * (skew**3 + 1.0) * (skew + 1.0) / (skew**2 + 1.0) ** 2
    shape = _SHAPES[_nearest_shape(ratio)]
    to_scale = np.sqrt(np.exp(gammaln(1.0 / shape) - gammaln(3.0 / shape)))
    return shape, left * to_scale, right * to_scale


def _nearest_shape(ratio: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the table ratio closest to each value; ties and NaN go to the lower index."""
    finite = np.nan_to_num(ratio, nan=-np.inf)
    upper = np.clip(np.searchsorted(_RATIOS, finite), 1, len(_RATIOS) - 1)
    lower = upper - 1
    closer_up = np.abs(_RATIOS[upper] - finite) < np.abs(_RATIOS[lower] - finite)
    index = np.where(closer_up, upper, lower)
    return np.where(np.isnan(ratio), 0, index).astype(np.intp)


def patch_features(coefficients: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """The 18 NIQE features of each size×size patch of an MSCN map: shape (patches, 18)."""
    rows, cols = coefficients.shape[0] // size, coefficients.shape[1] // size
    patches = coefficients.reshape(rows, size, cols, size).swapaxes(1, 2).reshape(-1, size, size)
    count = patches.shape[0]
    products = [patches * np.roll(patches, shift, axis=(1, 2)) for shift in _SHIFTS]
    stacked = np.concatenate([patches, *products]).reshape(len(_SHIFTS) + 1, count, size * size)
    shape, left, right = fit_aggd(stacked.reshape(-1, size * size))
    shape, left, right = (v.reshape(len(_SHIFTS) + 1, count) for v in (shape, left, right))
    columns = [shape[0], (left[0] + right[0]) / 2.0]
    for k in range(1, len(_SHIFTS) + 1):
        mean = (right[k] - left[k]) * np.exp(gammaln(2.0 / shape[k]) - gammaln(1.0 / shape[k]))
        columns += [shape[k], mean, left[k], right[k]]
    return np.stack(columns, axis=1)


def image_features(grey: NDArray[np.float64], model: PristineModel) -> NDArray[np.float64]:
    """Patch features at both scales of a grey image (0..255): shape (patches, 36)."""
    rows, cols = grey.shape[0] // PATCH_SIZE, grey.shape[1] // PATCH_SIZE
    image = grey[: rows * PATCH_SIZE, : cols * PATCH_SIZE]
    full = patch_features(mscn(image, model.window), PATCH_SIZE)
    half = imresize(image / 255.0, 0.5, dtype=np.float32).astype(np.float64) * 255.0
    return np.concatenate([full, patch_features(mscn(half, model.window), PATCH_SIZE // 2)], 1)


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
    greys = luma_levels(batch)
    # One image at a time: the per-patch work is vectorised and memory stays per-image.
    scores = np.array([quality(image_features(g, model), model) for g in greys])
    return finish(scores, single)
