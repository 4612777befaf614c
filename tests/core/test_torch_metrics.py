"""The torch metrics (the GPU worker's path) give the NumPy metrics' values, here on the CPU.

The same comparison runs on a GPU in ``tests/gpu/test_gpu.py``; on the CPU it proves the
conventions (luma order, rounding, valid filtering, eps) were carried over, so a GPU difference
could only come from the device's arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gir_core import metrics
from gir_core.errors import ImageError, ParameterError
from gir_core.images import quantize
from gir_core.metrics import torch_metrics


def _pair(seed: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 256, (height, width, 3), dtype=np.uint8).astype(np.float32) / 255
    noisy = np.clip(clean + rng.normal(0, 0.08, clean.shape), 0, 1)
    return quantize(noisy), clean


def _nchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


@pytest.mark.parametrize(("height", "width", "seed"), [(37, 53, 0), (64, 64, 1), (101, 29, 2)])
def test_torch_metrics_equal_the_numpy_metrics(height: int, width: int, seed: int) -> None:
    image, reference = _pair(seed, height, width)
    x, y = _nchw(image), _nchw(reference)
    for name, tolerance in (("psnr", 1e-4), ("psnr_y", 1e-4), ("ssim", 1e-6), ("ssim_rgb", 1e-6)):
        ours = float(getattr(torch_metrics, name)(x, y)[0])
        reference_value = float(getattr(metrics, name)(image, reference))
        assert abs(ours - reference_value) <= tolerance, (name, ours, reference_value)


def test_a_batch_gives_one_value_per_image_in_order() -> None:
    pairs = [_pair(seed, 40, 48) for seed in range(4)]
    x = torch.cat([_nchw(a) for a, _ in pairs])
    y = torch.cat([_nchw(b) for _, b in pairs])
    values = torch_metrics.psnr(x, y).tolist()
    expected = [float(metrics.psnr(a, b)) for a, b in pairs]
    assert values == pytest.approx(expected, abs=1e-6)
    assert len(set(values)) == 4


def test_crop_border_removes_the_border_from_both_images() -> None:
    image, reference = _pair(3, 30, 34)
    image[:4] = 1.0  # a ruined border band: cropping it must raise the PSNR
    x, y = _nchw(image), _nchw(reference)
    inner = float(metrics.psnr(image[4:-4, 4:-4], reference[4:-4, 4:-4]))
    assert float(torch_metrics.psnr(x, y, crop_border=4)[0]) == pytest.approx(inner, abs=1e-6)
    assert float(torch_metrics.psnr(x, y)[0]) < inner - 1.0


def test_quantize_matches_the_host_rule_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    raw = rng.uniform(-0.2, 1.2, (1, 3, 23, 31)).astype(np.float32)
    raw[0, 0, 0, :4] = np.array([0.5 / 255, 1.5 / 255, 2.5 / 255, 254.5 / 255], np.float32)
    ours = torch_metrics.quantize(torch.from_numpy(raw)).numpy()[0].transpose(1, 2, 0)
    assert np.array_equal(ours, quantize(raw[0].transpose(1, 2, 0)))


def test_bad_shapes_and_crops_are_refused_with_a_sentence() -> None:
    x = torch.zeros(1, 3, 20, 20)
    with pytest.raises(ImageError, match="differ in shape"):
        torch_metrics.psnr(x, torch.zeros(1, 3, 20, 21))
    with pytest.raises(ImageError, match="N×3×H×W"):
        torch_metrics.psnr(torch.zeros(3, 20, 20), torch.zeros(3, 20, 20))
    with pytest.raises(ParameterError, match="leaves 0×0 pixels"):
        torch_metrics.psnr(x, x, crop_border=10)
    with pytest.raises(ParameterError, match="at least 11×11"):
        torch_metrics.ssim(x, x, crop_border=5)
