"""Tests for the ``crop_border`` keyword of gir_core.metrics (basicsr's convention), and for the
fast paths of #16 against their plain definitions.

Each cropped value is compared with an independent computation written here in plain NumPy from
the 8-bit integers (float64 throughout, SSIM windows by explicit sliding sums), on random images
of odd sizes, so an off-by-one crop, a crop of one image only, or a crop after filtering fails.
"""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from scipy.special import gammaln

from gir_core import metrics
from gir_core.errors import ImageError, ParameterError
from gir_core.images import to_float
from gir_core.metrics.aggd import _moments, fit_aggd, patch_features
from gir_core.metrics.matlab_resize import imresize
from gir_core.metrics.niqe import half_size

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "metric_reference"
SIZES = [(37, 51), (64, 45), (29, 29)]
CROPS = [0, 1, 4, 7]


def _pair(seed: int, height: int, width: int) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    noise = rng.integers(-40, 41, (height, width, 3))
    image = np.clip(reference.astype(np.int64) + noise, 0, 255).astype(np.uint8)
    return image, reference


def _cropped(u8: NDArray[np.uint8], border: int) -> NDArray[np.float64]:
    height, width = u8.shape[:2]
    return u8[border : height - border, border : width - border].astype(np.float64)


def _plain_psnr(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """PSNR (data range 1, pyiqa's eps) of two arrays on the 0..255 scale."""
    mse = float(np.mean(((a - b) / 255.0) ** 2))
    return 10.0 * math.log10(1.0 / (mse + 1e-8))


def _plain_luma(rgb: NDArray[np.float64]) -> NDArray[np.float64]:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _plain_ssim_plane(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Mean SSIM map: 11×11 Gaussian σ = 1.5, 'valid' windows, C-S term clipped at 0."""
    offsets = np.arange(11) - 5.0
    g = np.exp(-(offsets**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()

    def local_mean(plane: NDArray[np.float64]) -> NDArray[np.float64]:
        views = np.lib.stride_tricks.sliding_window_view(plane, (11, 11))
        return np.asarray(np.einsum("ijkl,kl->ij", views, window), dtype=np.float64)

    mu_a, mu_b = local_mean(a), local_mean(b)
    var_a = local_mean(a * a) - mu_a**2
    var_b = local_mean(b * b) - mu_b**2
    cov = local_mean(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    structure = np.maximum((2 * cov + c2) / (var_a + var_b + c2), 0.0)
    return float(np.mean(luminance * structure))


@pytest.mark.parametrize("border", CROPS)
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_cropped_metrics_equal_a_plain_numpy_computation(
    height: int, width: int, border: int
) -> None:
    image_u8, ref_u8 = _pair(height * width + border, height, width)
    image, ref = to_float(image_u8), to_float(ref_u8)
    a, b = _cropped(image_u8, border), _cropped(ref_u8, border)
    assert float(metrics.psnr(image, ref, crop_border=border)) == pytest.approx(
        _plain_psnr(a, b), abs=1e-5
    )
    assert float(metrics.psnr_y(image, ref, crop_border=border)) == pytest.approx(
        _plain_psnr(_plain_luma(a), _plain_luma(b)), abs=1e-4
    )
    # SSIM rounds 255·Y to integers; a float64 luma can break a rare exact .5 tie the other way
    # than the float32 one the metric uses (see _images), which moves the mean by < 1e-5.
    expected_ssim = _plain_ssim_plane(np.rint(_plain_luma(a)), np.rint(_plain_luma(b)))
    assert float(metrics.ssim(image, ref, crop_border=border)) == pytest.approx(
        expected_ssim, abs=2e-5
    )
    expected_rgb = np.mean([_plain_ssim_plane(a[..., c], b[..., c]) for c in range(3)])
    assert float(metrics.ssim_rgb(image, ref, crop_border=border)) == pytest.approx(
        float(expected_rgb), abs=1e-9
    )


def test_a_crop_changes_the_value_and_the_batch_matches_the_singles() -> None:
    pairs = [_pair(seed, 41, 53) for seed in range(3)]
    images = np.stack([to_float(image) for image, _ in pairs])
    refs = np.stack([to_float(ref) for _, ref in pairs])
    # Damage only a 3-pixel frame: a crop of 3 must see identical images, a crop of 2 must not.
    damaged = 1.0 - refs
    damaged[:, 3:-3, 3:-3] = refs[:, 3:-3, 3:-3]
    for name in ("psnr", "psnr_y", "ssim", "ssim_rgb"):
        metric = metrics.get(name)
        batched = metric(images, refs, crop_border=5)
        singles = [float(metric(i, r, crop_border=5)) for i, r in zip(images, refs, strict=True)]
        np.testing.assert_allclose(batched, singles, rtol=0, atol=1e-12)
        best = metrics.PSNR_MAX if name.startswith("psnr") else 1.0
        np.testing.assert_allclose(metric(damaged, refs, crop_border=3), best, atol=1e-9)
        assert np.all(metric(damaged, refs, crop_border=2) < best - 1e-5)


@functools.cache
def _load(name: str) -> NDArray[np.float32]:
    with Image.open(REFERENCE_DIR / name) as image:
        return to_float(np.asarray(image.convert("RGB")))


def test_crop_zero_is_the_calibrated_value_bit_for_bit() -> None:
    with (REFERENCE_DIR / "pyiqa_values.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["dist"]]
    tolerances = {"psnr": 1e-3, "psnry": 1e-3, "ssim": 1e-4, "ssimc": 1e-4}
    functions = {"psnr": "psnr", "psnry": "psnr_y", "ssim": "ssim", "ssimc": "ssim_rgb"}
    for row in rows:
        image, ref = _load(row["dist"]), _load(row["ref"])
        for column, name in functions.items():
            metric = metrics.get(name)
            zero = float(metric(image, ref, crop_border=0))
            assert zero == float(metric(image, ref))
            assert zero == pytest.approx(float(row[column]), abs=tolerances[column])


@pytest.mark.parametrize(
    ("name", "border", "size", "message"),
    [
        ("psnr", -1, 20, "crop_border must be 0 or more, got -1"),
        ("psnr", 10, 20, r"crop_border=10 leaves 0×0 pixels of a 20×20 image.*at most 9"),
        ("psnr_y", 12, 20, r"leaves -4×-4 pixels"),
        ("ssim", 5, 20, r"leaves 10×10 pixels.*at least 11×11.*at most 4"),
        ("ssim_rgb", 5, 20, r"at least 11×11"),
        ("psnr", 1.5, 20, "crop_border must be an integer, got 1.5"),
    ],
)
def test_bad_crops_are_parameter_errors(name: str, border: int, size: int, message: str) -> None:
    image = to_float(_pair(0, size, size)[0])
    with pytest.raises(ParameterError, match=message):
        metrics.get(name)(image, image, crop_border=border)


def test_niqe_takes_the_crop_too() -> None:
    image = _load("chelsea_ref.png")
    assert float(metrics.niqe(image, crop_border=4)) == float(metrics.niqe(image[4:-4, 4:-4]))
    with pytest.raises(ParameterError, match="at least 96×96"):
        metrics.niqe(image[:100, :100], crop_border=3)
    # An image too small before any crop stays an image error, as before.
    with pytest.raises(ImageError, match="at least 11×11"):
        metrics.ssim(image[:10, :10], image[:10, :10], crop_border=0)


@pytest.mark.parametrize("length", [9216, 2304, 13, 8])
def test_niqe_moments_equal_their_definitions(length: int) -> None:
    # The AGGD moments come from vecdot, x - |x| and byte popcounts in row blocks; compare
    # with the plain definitions, with exact zeros (black areas) and rows of one sign.
    rng = np.random.default_rng(length)
    samples = rng.normal(0.0, 1.0, (19, length))
    samples[rng.random(samples.shape) < 0.1] = 0.0
    samples[3] = np.abs(samples[3])
    samples[4] = -np.abs(samples[4])
    sum_sq, left_sq, negatives, positives, sum_abs = _moments(samples)
    np.testing.assert_allclose(sum_sq, (samples**2).sum(axis=1), rtol=1e-13)
    np.testing.assert_allclose(left_sq, (np.minimum(samples, 0) ** 2).sum(axis=1), rtol=1e-13)
    np.testing.assert_array_equal(negatives, (samples < 0).sum(axis=1))
    np.testing.assert_array_equal(positives, (samples > 0).sum(axis=1))
    np.testing.assert_allclose(sum_abs, np.abs(samples).sum(axis=1), rtol=1e-13)
    assert negatives[3] == 0 and positives[4] == 0 and left_sq[3] == 0.0
    # NIQE's patches are float32: squares summed in float32, plain sums in float64.
    single = samples.astype(np.float32)
    sum_sq, left_sq, negatives, positives, sum_abs = _moments(single)
    np.testing.assert_allclose(sum_sq, (samples**2).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(left_sq, (np.minimum(samples, 0) ** 2).sum(axis=1), rtol=1e-5)
    np.testing.assert_array_equal(negatives, (samples < 0).sum(axis=1))
    np.testing.assert_array_equal(positives, (samples > 0).sum(axis=1))
    np.testing.assert_allclose(sum_abs, np.abs(samples).sum(axis=1), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-3, 1.001, "next-above-1"])
def test_the_one_pass_range_check_rejects_what_the_min_max_check_did(
    dtype: type[np.floating], bad: float | str
) -> None:
    # The check reads the float bits as unsigned integers; every value outside [0, 1] (and NaN)
    # must still be refused with the found range, whatever the float width.
    image = to_float(_pair(1, 17, 19)[0]).astype(dtype)
    value = np.nextafter(dtype(1), dtype(2)) if bad == "next-above-1" else dtype(bad)
    image[8, 9, 1] = value
    with pytest.raises(ImageError, match=r"values must lie in \[0, 1\]"):
        metrics.psnr(image, image)


def test_the_range_check_keeps_negative_zero_and_foreign_byte_order() -> None:
    image = to_float(_pair(2, 17, 19)[0])
    image[3] = 0.0
    signed = image.copy()
    signed[3] = -0.0  # -0.0 == 0: valid, though its bits read as a huge integer
    assert float(metrics.psnr(signed, image)) == metrics.PSNR_MAX
    swapped = image.astype(">f4")  # big-endian bits must not be read as native ones
    assert float(metrics.ssim(swapped, image)) == 1.0
    swapped[5, 5, 2] = 2.0
    with pytest.raises(ImageError, match=r"got \[0, 2\]"):
        metrics.psnr(swapped, image)


@pytest.mark.parametrize("name", ["psnr", "psnr_y", "ssim", "ssim_rgb"])
def test_a_bad_value_in_a_later_image_or_in_the_cropped_border_is_refused(name: str) -> None:
    # PSNR checks each image just before reading it (a batch is read from memory once): the
    # check must still cover every image of a batch, border included.
    batch = np.stack([to_float(_pair(seed, 23, 29)[0]) for seed in range(3)])
    refs = batch.copy()
    batch[2, 0, 0, 0] = np.nan
    with pytest.raises(ImageError, match=r"image values must lie in \[0, 1\]"):
        metrics.get(name)(batch, refs, crop_border=2)
    batch[2, 0, 0, 0] = 0.5
    refs[1, -1, -1, 2] = -0.25
    with pytest.raises(ImageError, match=r"reference values must lie in \[0, 1\], got \[-0.25"):
        metrics.get(name)(batch, refs, crop_border=2)


@pytest.mark.parametrize("zeros", [False, True])
@pytest.mark.parametrize("size", [96, 48])
def test_niqe_patch_features_equal_the_rolled_products_definition(size: int, zeros: bool) -> None:
    # The features come from float32 patches, one flat product per shift plus the wrapped row
    # and column, and skip the positives' count when no value can be 0; compare with np.roll
    # on each float32 patch, on maps with and without exact zeros (black areas).
    rng = np.random.default_rng(size)
    coefficients = rng.normal(0.0, 1.0, (2 * size, 3 * size)).astype(np.float32)
    if zeros:
        coefficients[rng.random(coefficients.shape) < 0.05] = 0.0
    patches = [
        coefficients[r : r + size, c : c + size]
        for r in range(0, 2 * size, size)
        for c in range(0, 3 * size, size)
    ]
    maps = [np.stack([p.ravel() for p in patches])]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        maps.append(np.stack([(p * np.roll(p, shift, axis=(0, 1))).ravel() for p in patches]))
    fits = [fit_aggd(m) for m in maps]
    shape, left, right = fits[0]
    expected = [shape, (left + right) / 2]
    for shape, left, right in fits[1:]:
        mean = (right - left) * np.exp(gammaln(2 / shape) - gammaln(1 / shape))
        expected += [shape, mean, left, right]
    features = patch_features(coefficients.astype(np.float64), size)
    np.testing.assert_array_equal(features, np.stack(expected, axis=1))


@pytest.mark.parametrize("side", [96, 192, 290])
def test_niqe_half_size_is_matlabs_halving(side: int) -> None:
    # One OpenCV filter with MATLAB's 8 halving weights instead of the tap-by-tap resize: the
    # same image up to float32 rounding order (an ulp of 255 is 1.5e-5), mirrored edges too.
    rng = np.random.default_rng(side)
    grey = np.rint(rng.uniform(0, 255, (side, side + 2 * 96)))
    expected = imresize(grey / 255.0, 0.5, dtype=np.float32).astype(np.float64) * 255.0
    np.testing.assert_allclose(half_size(grey), expected, rtol=0, atol=1e-4)
