"""PSNR and SSIM in torch, on whatever device the tensors live on: for a GPU worker to score on
the device. Not wired into the scoring loop yet (the sandboxed model hands its outputs back to the
host as arrays; device-side scoring needs outputs that stay on the device, issue #17).

On a GPU worker the model's outputs are already on the device; copying each back to the host
and measuring it with NumPy costs more than the inference of a small net. These functions give
the same numbers as :mod:`gir_core.metrics.fullref` (within 1e-4 dB for PSNR and 1e-6 for SSIM,
checked on the CPU in ``tests/core/test_torch_metrics.py`` and on a GPU by ``tests/gpu``) by
repeating its conventions operation for operation:

- the luma is the Y of YIQ evaluated in float32 in pyiqa's order ``(r·0.299 + g·0.587) + b·0.114``
  (eager torch runs each product and sum as its own kernel, so no fused multiply-add changes a
  rounding), SSIM rounds ``255·Y`` to integer levels;
- the MSE and every SSIM statistic are float64, with pyiqa's ``eps = 1e-8`` added to the MSE;
- SSIM filters with the separable 11×11 Gaussian (σ = 1.5) over the 'valid' region only.

Inputs are N×3×H×W float tensors in [0, 1] (the layout models produce). They are *not* range-
checked here: the caller quantised them itself (service-made data), which is the only use.

Example:
    >>> import torch
    >>> a = torch.full((1, 3, 16, 16), 0.5)
    >>> round(float(psnr(a, a + 0.1)[0]), 3)
    20.0
"""

from __future__ import annotations

import torch
from torch import Tensor

from gir_core.errors import ImageError, ParameterError
from gir_core.metrics._inputs import LUMA
from gir_core.metrics.fullref import PSNR_EPS, SSIM_C1, SSIM_C2, SSIM_KERNEL, SSIM_WINDOW

_LUMA = tuple(float(weight) for weight in LUMA)  # the float32 weights the NumPy luma uses


def _check(image: Tensor, reference: Tensor, crop_border: int, min_size: int) -> None:
    if image.ndim != 4 or image.shape[1] != 3:
        raise ImageError(f"expected N×3×H×W tensors, got {tuple(image.shape)}")
    if image.shape != reference.shape:
        raise ImageError(
            f"image and reference differ in shape: {tuple(image.shape)} vs {tuple(reference.shape)}"
        )
    if crop_border < 0:
        raise ParameterError(f"crop_border must be ≥ 0, got {crop_border}")
    height, width = image.shape[2] - 2 * crop_border, image.shape[3] - 2 * crop_border
    if min(height, width) < min_size:
        raise ParameterError(
            f"crop_border={crop_border} leaves {max(width, 0)}×{max(height, 0)} pixels of a "
            f"{image.shape[3]}×{image.shape[2]} image; at least {min_size}×{min_size} are needed"
        )


def _crop(batch: Tensor, border: int) -> Tensor:
    return batch[..., border : batch.shape[-2] - border, border : batch.shape[-1] - border]


def _luma(batch: Tensor) -> Tensor:
    """Y of YIQ in float32, N×1×H×W, in pyiqa's operation order."""
    rgb = batch.to(torch.float32)
    red, green, blue = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return (red * _LUMA[0] + green * _LUMA[1]) + blue * _LUMA[2]


def _psnr_from_planes(x: Tensor, y: Tensor) -> Tensor:
    diff = x.to(torch.float64) - y.to(torch.float64)
    mse = (diff * diff).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(1.0 / (mse + PSNR_EPS))


def psnr(image: Tensor, reference: Tensor, *, crop_border: int = 0) -> Tensor:
    """PSNR in dB over RGB (data range 1), one value per image: ``fullref.psnr`` on the device."""
    _check(image, reference, crop_border, 1)
    return _psnr_from_planes(_crop(image, crop_border), _crop(reference, crop_border))


def psnr_y(image: Tensor, reference: Tensor, *, crop_border: int = 0) -> Tensor:
    """PSNR in dB on the Y channel of YIQ: ``fullref.psnr_y`` on the device."""
    _check(image, reference, crop_border, 1)
    x, y = _crop(image, crop_border), _crop(reference, crop_border)
    return _psnr_from_planes(_luma(x), _luma(y))


def _window(device: torch.device) -> Tensor:
    """The NumPy metrics' own 1-D Gaussian (float64), on ``device``."""
    return torch.from_numpy(SSIM_KERNEL).to(device)


def _valid_blur(planes: Tensor, window: Tensor) -> Tensor:
    """Separable Gaussian over N×P×H×W planes, 'valid' region only, float64."""
    count = planes.shape[1]
    rows = window.view(1, 1, 1, -1).expand(count, 1, 1, SSIM_WINDOW)
    cols = window.view(1, 1, -1, 1).expand(count, 1, SSIM_WINDOW, 1)
    out = torch.nn.functional.conv2d(planes, rows, groups=count)
    return torch.nn.functional.conv2d(out, cols, groups=count)


def _ssim_levels(x: Tensor, y: Tensor) -> Tensor:
    """Mean SSIM map per image of N×P×H×W float64 planes on the 0..255 scale."""
    window = _window(x.device)
    mu_x, mu_y = _valid_blur(x, window), _valid_blur(y, window)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = _valid_blur(x * x, window) - mu_xx
    var_y = _valid_blur(y * y, window) - mu_yy
    cov_xy = _valid_blur(x * y, window) - mu_xy
    contrast_structure = torch.clamp((2.0 * cov_xy + SSIM_C2) / (var_x + var_y + SSIM_C2), min=0.0)
    luminance = (2.0 * mu_xy + SSIM_C1) / (mu_xx + mu_yy + SSIM_C1)
    return (luminance * contrast_structure).mean(dim=(1, 2, 3))


def _levels(batch: Tensor) -> Tensor:
    return torch.round(batch.to(torch.float32) * 255.0).to(torch.float64)


def ssim(image: Tensor, reference: Tensor, *, crop_border: int = 0) -> Tensor:
    """SSIM on the rounded Y channel (11×11 Gaussian σ = 1.5): ``fullref.ssim`` on the device."""
    _check(image, reference, crop_border, SSIM_WINDOW)
    x, y = _crop(image, crop_border), _crop(reference, crop_border)
    return _ssim_levels(_levels(_luma(x)), _levels(_luma(y)))


def ssim_rgb(image: Tensor, reference: Tensor, *, crop_border: int = 0) -> Tensor:
    """SSIM per RGB channel, averaged: ``fullref.ssim_rgb`` on the device."""
    _check(image, reference, crop_border, SSIM_WINDOW)
    x, y = _crop(image, crop_border), _crop(reference, crop_border)
    return _ssim_levels(_levels(x), _levels(y))


def quantize(output: Tensor) -> Tensor:
    """A model's raw output clipped to [0, 1] and put on the 8-bit grid, on its device.

    Bit for bit :func:`gir_core.images.quantize`: clip and scale in float64, round half to even,
    then level / 255 in float32.
    """
    levels = torch.round(torch.clamp(output.to(torch.float64), 0.0, 1.0) * 255.0)
    return levels.to(torch.float32) / 255.0


__all__ = ["psnr", "psnr_y", "quantize", "ssim", "ssim_rgb"]
