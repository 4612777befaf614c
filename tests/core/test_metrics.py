"""Tests for gir_core.metrics: calibration against pyiqa, closed forms, conventions, registry."""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from gir_core import metrics
from gir_core.errors import ImageError, ParameterError
from gir_core.images import to_float
from gir_core.metrics._inputs import luma_levels
from gir_core.metrics.aggd import fit_aggd
from gir_core.metrics.matlab_resize import contributions, imresize

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "metric_reference"
PSNR_TOL, SSIM_TOL, NIQE_TOL = 1e-3, 1e-4, 0.02
C1, C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2


def _rows() -> list[dict[str, str]]:
    with (REFERENCE_DIR / "pyiqa_values.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()
PAIRS = [row for row in ROWS if row["dist"]]


@functools.cache
def _load(name: str) -> NDArray[np.float32]:
    with Image.open(REFERENCE_DIR / name) as image:
        return to_float(np.asarray(image.convert("RGB")))


def _levels(u8: NDArray[np.integer]) -> NDArray[np.float32]:
    return to_float(np.asarray(u8, dtype=np.uint8))


def _grey(level: int, size: int = 32) -> NDArray[np.float32]:
    return _levels(np.full((size, size, 3), level))


def _texture(seed: int, size: int = 64, high: int = 128) -> NDArray[np.float32]:
    return _levels(np.random.default_rng(seed).integers(0, high, (size, size, 3)))


# --- calibration against pyiqa 0.1.16 -------------------------------------------------------


@pytest.mark.parametrize("row", PAIRS, ids=[row["dist"] for row in PAIRS])
def test_full_reference_metrics_match_pyiqa(row: dict[str, str]) -> None:
    image, reference = _load(row["dist"]), _load(row["ref"])
    assert float(metrics.psnr(image, reference)) == pytest.approx(float(row["psnr"]), abs=PSNR_TOL)
    assert float(metrics.psnr_y(image, reference)) == pytest.approx(
        float(row["psnry"]), abs=PSNR_TOL
    )
    assert float(metrics.ssim(image, reference)) == pytest.approx(float(row["ssim"]), abs=SSIM_TOL)
    assert float(metrics.ssim_rgb(image, reference)) == pytest.approx(
        float(row["ssimc"]), abs=SSIM_TOL
    )


@pytest.mark.parametrize("row", ROWS, ids=[row["dist"] or row["ref"] for row in ROWS])
def test_niqe_matches_pyiqa(row: dict[str, str]) -> None:
    image = _load(row["dist"] or row["ref"])
    assert float(metrics.niqe(image)) == pytest.approx(float(row["niqe"]), abs=NIQE_TOL)


def test_calibration_set_has_odd_sizes_and_all_rows() -> None:
    # The fixture exists to catch off-by-one crops; make sure it still contains such sizes.
    shapes = {_load(row["ref"]).shape[:2] for row in ROWS}
    assert (257, 333) in shapes and len(PAIRS) == 18 and len(ROWS) == 24


def test_batch_gives_the_per_image_values() -> None:
    names = ["astronaut_noise20.png", "astronaut_blur7.png", "astronaut_jpeg30.png"]
    batch = np.stack([_load(name) for name in names])
    refs = np.stack([_load("astronaut_ref.png")] * 3)
    for name in ("psnr", "psnr_y", "ssim", "ssim_rgb"):
        fn = metrics.get(name)
        singles = [float(fn(image, ref)) for image, ref in zip(batch, refs, strict=True)]
        assert fn(batch, refs).shape == (3,)
        np.testing.assert_allclose(fn(batch, refs), singles, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        metrics.niqe(batch), [float(metrics.niqe(image)) for image in batch], rtol=0, atol=1e-12
    )
    assert metrics.psnr(batch[0], refs[0]).shape == ()


# --- PSNR ------------------------------------------------------------------------------------


def test_identical_images_give_pyiqa_capped_psnr_and_unit_ssim() -> None:
    image = _texture(0)
    # pyiqa adds eps = 1e-8 to the MSE: identical images score 10·log10(1e8) = 80 dB, not inf.
    assert float(metrics.psnr(image, image)) == pytest.approx(80.0, abs=1e-9)
    assert float(metrics.psnr_y(image, image)) == pytest.approx(80.0, abs=1e-9)
    assert metrics.PSNR_MAX == 80.0
    assert float(metrics.ssim(image, image)) == pytest.approx(1.0, abs=1e-12)
    assert float(metrics.ssim_rgb(image, image)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("offset", [1, 10, 60])
def test_psnr_of_a_constant_offset_is_closed_form(offset: int) -> None:
    base = np.random.default_rng(1).integers(0, 190, (40, 48, 3))
    d = offset / 255
    expected = 10 * math.log10(1 / (d * d + metrics.PSNR_EPS))
    got = float(metrics.psnr(_levels(base + offset), _levels(base)))
    assert got == pytest.approx(expected, abs=1e-4)
    assert got == pytest.approx(10 * math.log10(1 / d**2), abs=1e-3 if offset > 1 else 0.02)


def test_psnr_y_weights_channels_by_luma() -> None:
    base = np.random.default_rng(2).integers(0, 200, (32, 32, 3))
    shifted = base.copy()
    shifted[..., 2] += 51  # blue only: Y moves by 0.114 · 0.2
    expected = 10 * math.log10(1 / ((0.114 * 0.2) ** 2 + metrics.PSNR_EPS))
    assert float(metrics.psnr_y(_levels(shifted), _levels(base))) == pytest.approx(
        expected, abs=1e-3
    )
    # RGB PSNR sees a third of the full 0.2 error instead.
    expected_rgb = 10 * math.log10(1 / (0.2**2 / 3 + metrics.PSNR_EPS))
    assert float(metrics.psnr(_levels(shifted), _levels(base))) == pytest.approx(
        expected_rgb, abs=1e-4
    )


def test_psnr_and_ssim_are_symmetric() -> None:
    a, b = _texture(3), _texture(4)
    for name in ("psnr", "psnr_y", "ssim", "ssim_rgb"):
        fn = metrics.get(name)
        assert float(fn(a, b)) == float(fn(b, a)), name


# --- SSIM conventions ------------------------------------------------------------------------


def test_ssim_of_flat_images_is_the_luminance_term_on_rounded_levels() -> None:
    # Constant everywhere only without padding: a zero-padded ('same') filter would darken the
    # local means near the border and change the value.
    got = float(metrics.ssim(_grey(100), _grey(110)))
    assert got == pytest.approx((2 * 100 * 110 + C1) / (100**2 + 110**2 + C1), abs=1e-12)


def test_ssim_clips_negative_structure_to_zero() -> None:
    checker = np.indices((32, 32)).sum(axis=0) % 2 * 2 - 1
    a = _levels(np.repeat((128 + 64 * checker)[..., None], 3, axis=2))
    b = _levels(np.repeat((128 - 64 * checker)[..., None], 3, axis=2))
    # Perfectly anti-correlated: the contrast-structure term is negative, pyiqa clips it to 0.
    assert float(metrics.ssim(a, b)) == 0.0
    assert float(metrics.ssim_rgb(a, b)) == 0.0


def test_ssim_needs_one_full_window() -> None:
    # 'valid' filtering: a 12×12 image has exactly 2×2 window positions, a 10×10 one none.
    small = float(metrics.ssim(_texture(7, size=12), _texture(8, size=12)))
    assert 0.0 <= small < 1.0
    with pytest.raises(ImageError, match="at least 11×11"):
        metrics.ssim(_texture(7, size=10), _texture(8, size=10))


def test_ssim_rgb_equals_ssim_on_grey_images() -> None:
    grey_a = np.repeat(_texture(9)[..., :1], 3, axis=2)
    grey_b = np.repeat(_texture(10)[..., :1], 3, axis=2)
    assert float(metrics.ssim_rgb(grey_a, grey_b)) == pytest.approx(
        float(metrics.ssim(grey_a, grey_b)), abs=1e-12
    )


def test_luma_rounding_breaks_ties_like_pyiqa_float32() -> None:
    # 299R + 587G + 114B ends in 500: the exact luma is k + 0.5. pyiqa's float32 evaluation
    # decides each tie; these values were read from torch. Neither exact half-even nor half-up
    # rounding, nor a float64 luma (rounded in float64 or cast to float32 first), gets all four.
    pixels = _levels(np.array([[[0, 8, 86], [0, 0, 250], [3, 11, 89], [7, 21, 220]]]))
    assert luma_levels(pixels[np.newaxis])[0, 0].tolist() == [15.0, 28.0, 17.0, 39.0]


# --- NIQE ------------------------------------------------------------------------------------


def test_niqe_scores_only_whole_top_left_patches() -> None:
    image = _load("chelsea_ref.png")[:150, :250]  # one row of two patches, plus leftovers
    changed = image.copy()
    changed[96:, :] = 0.0
    changed[:, 192:] = 1.0
    assert float(metrics.niqe(changed)) == float(metrics.niqe(image))
    changed[50, 50] = 1.0 - changed[50, 50]
    assert float(metrics.niqe(changed)) != float(metrics.niqe(image))


def test_niqe_of_a_flat_image_is_nan_and_of_a_single_patch_is_finite() -> None:
    assert math.isnan(float(metrics.niqe(_grey(128, size=192))))
    single = float(metrics.niqe(_load("coffee_ref.png")[:120, :150]))
    assert math.isfinite(single) and single > 0


def test_niqe_rises_with_noise() -> None:
    clean = _load("china_ref.png")
    noise = np.random.default_rng(11).normal(0, 25 / 255, clean.shape)
    noisy = to_float(np.rint(np.clip(clean + noise, 0, 1) * 255).astype(np.uint8))
    assert float(metrics.niqe(noisy)) > float(metrics.niqe(clean)) + 3


def test_niqe_rejects_images_smaller_than_a_patch() -> None:
    with pytest.raises(ImageError, match="at least 96×96"):
        metrics.niqe(_texture(12, size=95))


def test_aggd_fit_recovers_a_gaussian_and_flags_one_sided_data() -> None:
    samples = np.random.default_rng(13).normal(0.0, 2.0, (1, 200_000))
    shape, left, right = fit_aggd(samples)
    # A Gaussian is the generalised Gaussian of shape 2 with scale σ·√2.
    assert shape[0] == pytest.approx(2.0, abs=0.03)
    assert left[0] == pytest.approx(2 * math.sqrt(2), rel=0.02)
    assert right[0] == pytest.approx(2 * math.sqrt(2), rel=0.02)
    shape, left, right = fit_aggd(np.full((1, 10), 1e-9))
    assert shape[0] == 0.2 and math.isnan(left[0]) and right[0] > 0


# --- MATLAB imresize -------------------------------------------------------------------------


def test_imresize_follows_matlab_at_a_non_integer_scale() -> None:
    # MATLAB's rule worked by hand for 0:3 at scale 0.75: output 1 sits at u = 1.1667 (1-based),
    # taps j = -1..3 at distances 2.17..-1.83, kernel 0.75·cubic(0.75·d), j = -1, 0 mirrored
    # onto values 1, 0. Cubic weights (exact dyadics) for data values 1, 0, 0, 1, 2:
    taps = np.array([-0.0439453125, 0.0908203125, 0.9638671875, 0.3896484375, -0.0732421875])
    first = float(taps @ [1, 0, 0, 1, 2] / taps.sum())
    np.testing.assert_allclose(
        imresize(np.arange(4.0)[np.newaxis], 0.75)[0], [first, 1.5, 3 - first], atol=1e-12
    )
    # Separable: the 4×4 image 4i + j becomes 4·r_i + r_j.
    r = np.array([first, 1.5, 3 - first])
    got = imresize(np.arange(16.0).reshape(4, 4), 0.75)
    np.testing.assert_allclose(got, 4 * r[:, np.newaxis] + r, atol=1e-12)


def test_imresize_half_scale_weights_and_shape() -> None:
    weights, indices = contributions(9, 0.5)
    # Output length rounds up; each output mixes 8 inputs with the stretched cubic kernel.
    assert weights.shape == (5, 8)
    interior = np.array([-0.0234375, -0.0703125, 0.2265625, 0.8671875]) / 2
    np.testing.assert_allclose(weights[2], np.concatenate([interior, interior[::-1]]))
    assert indices[0].tolist() == [2, 1, 0, 0, 1, 2, 3, 4]  # mirrored with the edge repeated
    assert imresize(np.zeros((3, 9, 9)), 0.5).shape == (3, 5, 5)


def test_imresize_keeps_constants_and_ramps() -> None:
    flat = imresize(np.full((20, 30), 7.25), 0.5)
    np.testing.assert_allclose(flat, 7.25, rtol=0, atol=1e-12)
    ramp = np.tile(np.arange(40, dtype=np.float64), (8, 1))
    half = imresize(ramp, 0.5, dtype=np.float32)
    # Cubic convolution reproduces linear functions away from the mirrored borders.
    np.testing.assert_allclose(half[:, 3:-3], np.tile(np.arange(3, 17) * 2 + 0.5, (4, 1)), 1e-6)
    with pytest.raises(ParameterError):
        imresize(ramp, 0.0)


# --- registry and input checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "full_reference", "higher_is_better", "value_range"),
    [
        ("psnr", True, True, (0.0, 80.0)),
        ("psnr_y", True, True, (0.0, 80.0)),
        ("ssim", True, True, (0.0, 1.0)),
        ("ssim_rgb", True, True, (0.0, 1.0)),
        ("niqe", False, False, (0.0, math.inf)),
    ],
)
def test_registry_metadata(
    name: str, full_reference: bool, higher_is_better: bool, value_range: tuple[float, float]
) -> None:
    metric = metrics.get(name)
    assert (metric.full_reference, metric.higher_is_better) == (full_reference, higher_is_better)
    assert metric.value_range == value_range
    image = _load("rocket_jpeg30.png")
    score = float(metric(image, _load("rocket_ref.png")) if full_reference else metric(image))
    assert value_range[0] <= score <= value_range[1]


def test_registry_names_and_did_you_mean() -> None:
    assert metrics.NAMES == ("psnr", "psnr_y", "ssim", "ssim_rgb", "niqe")
    with pytest.raises(ParameterError, match="did you mean 'psnr_y'"):
        metrics.get("psnry")


def test_metric_call_checks_the_reference_argument() -> None:
    image = _texture(14, size=100)
    with pytest.raises(ParameterError, match="full-reference"):
        metrics.get("ssim")(image)
    with pytest.raises(ParameterError, match="no-reference"):
        metrics.get("niqe")(image, image)


@pytest.mark.parametrize(
    ("image", "reference", "message"),
    [
        (np.zeros((16, 16, 3), np.uint8), np.zeros((16, 16, 3), np.uint8), "dtype uint8"),
        (np.zeros((16, 16), np.float32), np.zeros((16, 16), np.float32), "H×W×3"),
        (np.zeros((16, 16, 3), np.float32), np.zeros((16, 17, 3), np.float32), "same shape"),
        (np.full((16, 16, 3), 1.5, np.float32), np.zeros((16, 16, 3), np.float32), r"\[0, 1\]"),
        (np.zeros((16, 16, 3), np.float32), [[0.0]], "NumPy array"),
    ],
)
def test_bad_inputs_raise_image_error(image: object, reference: object, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        metrics.psnr(image, reference)  # type: ignore[arg-type]
