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

For speed (#16: NIQE ≥ 10× pyiqa) the patch maps are float32 (:mod:`~gir_core.metrics.aggd`,
< 4e-6 on the calibration images) and the image-sized temporaries live in per-thread scratch
arrays (:mod:`~gir_core.metrics._scratch`); max |ours − pyiqa| on the calibration set is 1e-5.

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

from gir_core.images import as_batch, check_range
from gir_core.metrics._inputs import Scores, crop, finish, luma_levels
from gir_core.metrics._scratch import scratch
from gir_core.metrics.aggd import patch_features
from gir_core.metrics.matlab_resize import contributions

PATCH_SIZE = 96
"""Patch side at full scale, the value of the NIQE paper and of the pristine model."""

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


def mscn(
    grey: NDArray[np.float64], window: NDArray[np.float64], *, buffers: str | None = None
) -> NDArray[np.float64]:
    """Mean-subtracted, contrast-normalised coefficients of an H×W image (0..255 scale).

    ``buffers``: compute in the scratch arrays of that name (:mod:`~gir_core.metrics._scratch`;
    the result is one of them, valid until the next call with that name) instead of new ones.
    """
    mu, spread, square = (_buffer(buffers, part, grey.shape) for part in ("mu", "sd", "sq"))
    _filter(grey, window, out=mu)
    _filter(np.multiply(grey, grey, out=square), window, out=spread)
    spread -= np.multiply(mu, mu, out=square)  # the local variance, then σ + 1, in place
    # OpenCV's square root: the same correctly rounded values as np.sqrt, in half the time.
    cv2.sqrt(np.abs(spread, out=spread), dst=spread)
    spread += 1.0
    return np.divide(np.subtract(grey, mu, out=mu), spread, out=mu)


def _buffer(name: str | None, part: str, shape: tuple[int, ...]) -> NDArray[np.float64]:
    if name is None:
        return np.empty(shape)
    return scratch(f"niqe.{name}.{part}", shape, np.float64)


def _filter(
    plane: NDArray[np.float64], window: NDArray[np.float64], out: NDArray[np.float64]
) -> None:
    """Correlate with edge replication (MATLAB's ``imfilter(..., 'replicate')``), in float64.

    Separably, with the window's rank-one factor: 14 taps a pixel instead of 49 (3-4× faster).
    The float32-rounded window is rank one to 1e-8 of its size (its second singular value is
    3e-9), so the local means move by < 3e-7 grey levels, while the factors keep the window's
    sum, 1 + 1.1e-8, to the last bits: flat areas keep the fixed-sign residue that decides
    their NaN fits (see the module's note).
    """
    total = float(window.sum())
    rows, cols = window.sum(axis=1) / np.sqrt(total), window.sum(axis=0) / np.sqrt(total)
    cv2.sepFilter2D(plane, cv2.CV_64F, cols, rows, dst=out, borderType=cv2.BORDER_REPLICATE)


def image_features(grey: NDArray[np.float64], model: PristineModel) -> NDArray[np.float64]:
    """Patch features at both scales of a grey image (0..255): shape (patches, 36)."""
    rows, cols = grey.shape[0] // PATCH_SIZE, grey.shape[1] // PATCH_SIZE
    image = grey[: rows * PATCH_SIZE, : cols * PATCH_SIZE]
    full = patch_features(mscn(image, model.window, buffers="full"), PATCH_SIZE)
    half = mscn(half_size(image, buffers="half"), model.window, buffers="half")
    return np.concatenate([full, patch_features(half, PATCH_SIZE // 2)], 1)


def half_size(grey: NDArray[np.float64], *, buffers: str | None = None) -> NDArray[np.float64]:
    """MATLAB's ``imresize(grey / 255, 0.5)`` in float32, back on the 0..255 scale (float64).

    For an even side, every output of the halving reads the same 8 mirrored neighbours
    (inputs 2k−3 … 2k+4 of output k) with the same weights: one separable float32 filter with
    symmetric borders (OpenCV's ``BORDER_REFLECT`` is MATLAB's mirror), kept at even positions.
    Equal to :func:`~gir_core.metrics.matlab_resize.imresize` up to float32 rounding order.
    ``buffers``: as for :func:`mscn`.
    """
    kernel = _half_kernel()
    wide = _buffer(buffers, "wide", grey.shape)
    scaled = _buffer32(buffers, "scaled", grey.shape)
    np.copyto(scaled, np.divide(grey, 255.0, out=wide), casting="same_kind")
    filtered = _buffer32(buffers, "filtered", grey.shape)
    cv2.sepFilter2D(
        scaled,
        cv2.CV_32F,
        kernel,
        kernel,
        dst=filtered,
        anchor=(3, 3),
        borderType=cv2.BORDER_REFLECT,
    )
    half = _buffer(buffers, "grey", (grey.shape[0] // 2, grey.shape[1] // 2))
    np.copyto(half, filtered[::2, ::2])
    half *= 255.0
    return half


def _buffer32(name: str | None, part: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
    if name is None:
        return np.empty(shape, np.float32)
    return scratch(f"niqe.{name}.{part}", shape, np.float32)


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
    whole, single = as_batch(image, min_size=PATCH_SIZE, defer_range=True)
    batch = crop(whole, crop_border, PATCH_SIZE)
    model = pristine_model()
    rows, cols = batch.shape[1] // PATCH_SIZE, batch.shape[2] // PATCH_SIZE
    scored = batch[:, : rows * PATCH_SIZE, : cols * PATCH_SIZE]  # whole patches only
    # One image at a time (the per-patch work is vectorised), in the same scratch arrays; each
    # image's range is checked just before it is read, so a batch leaves memory once.
    shape = scored.shape[1:3]
    grey = scratch("niqe.full.grey", shape, np.float64)
    work = (scratch("niqe.luma", shape, np.float32), scratch("niqe.luma.work", shape, np.float32))
    scores = []
    for index, pixels in enumerate(scored):
        check_range(whole[index])
        features = image_features(luma_levels(pixels, out=grey, work=work), model)
        scores.append(quality(features, model))
    return finish(np.array(scores, dtype=np.float64), single)
