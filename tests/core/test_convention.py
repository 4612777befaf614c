"""The metric convention: canonical text, sentences, and PSNR/SSIM as the authors measure them."""

from __future__ import annotations

import numpy as np
import pytest

from gir_core.convention import AUTHORS, DEFAULT, LEGACY, MetricConvention
from gir_core.errors import ParameterError
from gir_core.images import to_float
from gir_core.metrics import psnr, psnr_y, ssim


def _basicsr_psnr(output: np.ndarray, truth_u8: np.ndarray, crop: int) -> float:
    """basicsr ``calculate_psnr`` written out: round the output to uint8, crop, MSE on 0..255.

    Plus pyiqa's eps of 1e-8 on the [0, 1] MSE, which our metric adds on purpose.
    """
    out_u8 = np.round(np.clip(output, 0.0, 1.0) * 255.0).astype(np.uint8)
    a = out_u8.astype(np.float64)
    b = truth_u8.astype(np.float64)
    if crop:
        a, b = a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]
    mse = float(np.mean((a - b) ** 2)) / 255.0**2
    return 10.0 * np.log10(1.0 / (mse + 1e-8))


def test_text_round_trips_and_reads_loosely() -> None:
    assert AUTHORS.text == "rgb,crop=4,8bit" and DEFAULT == AUTHORS
    assert LEGACY.text == "rgb,crop=0,8bit"
    for convention in (AUTHORS, LEGACY, MetricConvention("y", 2, False)):
        assert MetricConvention.parse(convention.text) == convention
    assert MetricConvention.parse(" RGB , crop=4 , 8BIT ") == AUTHORS
    assert str(MetricConvention("y", 0, False)) == "y,crop=0,float"


@pytest.mark.parametrize(
    ("convention", "sentence"),
    [
        (AUTHORS, "PSNR: RGB, 8-bit, 4-px border cropped"),
        (LEGACY, "PSNR: RGB, 8-bit, no border crop"),
        (MetricConvention("y", 2, False), "PSNR: Y, unrounded outputs, 2-px border cropped"),
    ],
)
def test_sentences(convention: MetricConvention, sentence: str) -> None:
    assert convention.describe() == sentence


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("rgb,crop=4", "is not a metric convention"),
        ("lab,crop=4,8bit", "e.g. 'rgb,crop=4,8bit'"),
        ("rgb,crop=-1,8bit", "is not a metric convention"),
        ("rgb,crop=99,8bit", r"0\.\.64"),
        ("", ""),
    ],
)
def test_bad_text_is_a_sentence(text: str, fragment: str) -> None:
    with pytest.raises(ParameterError, match=fragment):
        MetricConvention.parse(text)


def test_bad_fields_are_refused() -> None:
    with pytest.raises(ParameterError, match="'rgb' or 'y'"):
        MetricConvention("lab", 4, True)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"0\.\.64"):
        MetricConvention("rgb", True, True)


@pytest.mark.parametrize(("height", "width"), [(31, 45), (27, 33), (65, 49)])
def test_authors_psnr_equals_basicsr_on_odd_sizes(height: int, width: int) -> None:
    rng = np.random.default_rng(height * width)
    truth_u8 = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    # float32 levels (1/255 in float32) move the value by ~1e-8 dB, hence 1e-6.
    # A float output off the 8-bit grid and a little outside [0, 1]: rounding and clipping count.
    output = (truth_u8 / 255.0 + rng.normal(0, 0.03, truth_u8.shape)).astype(np.float32)
    truth = to_float(truth_u8)
    got, _ = AUTHORS.measure(output, truth)
    assert got == pytest.approx(_basicsr_psnr(output, truth_u8, 4), abs=1e-6)
    assert LEGACY.measure(output, truth)[0] == pytest.approx(
        _basicsr_psnr(output, truth_u8, 0), abs=1e-6
    )
    assert abs(got - LEGACY.measure(output, truth)[0]) > 1e-6  # the crop changes the number


def test_measure_uses_the_channels_crop_and_rounding() -> None:
    rng = np.random.default_rng(3)
    truth = to_float(rng.integers(0, 256, (40, 37, 3), dtype=np.uint8))
    output = np.clip(truth + rng.normal(0, 0.02, truth.shape), 0, 1).astype(np.float32)
    y_float = MetricConvention("y", 3, False)
    value, structure = y_float.measure(output, truth)
    assert value == pytest.approx(float(psnr_y(output, truth, crop_border=3)), abs=1e-12)
    assert structure == pytest.approx(float(ssim(output, truth, crop_border=3)), abs=1e-12)
    rounded = MetricConvention("rgb", 3, True).measure(output, truth)[0]
    assert rounded != pytest.approx(float(psnr(output, truth, crop_border=3)), abs=1e-6)
