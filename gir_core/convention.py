"""How a benchmark version measures a restored image: its metric convention (SPEC §2.2).

The paper's authors score with basicsr's ``calculate_psnr`` as configured in their MiOIR code
(``options/test/*.yml``): PSNR on RGB, the output clipped and rounded to 8 bit, and
``crop_border: 4`` — four pixels dropped from every side before the mean squared error. Our
metric functions default to pyiqa's convention (no crop), against which they are calibrated, so
the convention is a separate, small value that a version records and every measurement reads:
scoring, ``gir eval`` and line training, so that a line and a model are measured the same way.

Its canonical text (what the database and CSV files hold) is ``rgb,crop=4,8bit``: the PSNR
channels (``rgb`` or ``y``), the border crop in pixels, and ``8bit`` or ``float`` for whether
outputs are rounded to the 8-bit grid before the metric. SSIM is always on Y (pyiqa's ``ssim``)
with the same crop.

Example:
    >>> AUTHORS.text, LEGACY.text
    ('rgb,crop=4,8bit', 'rgb,crop=0,8bit')
    >>> MetricConvention.parse("rgb, crop=4, 8bit") == AUTHORS
    True
    >>> AUTHORS.describe()
    'PSNR: RGB, 8-bit, 4-px border cropped'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ParameterError
from gir_core.images import FloatImage, quantize
from gir_core.metrics import psnr, psnr_y, ssim

Channels = Literal["rgb", "y"]
_TEXT = re.compile(r"^(rgb|y),crop=(\d{1,3}),(8bit|float)$")
MAX_CROP = 64


@dataclass(frozen=True)
class MetricConvention:
    """PSNR channels, border crop (pixels from each side) and 8-bit rounding of outputs."""

    channels: Channels = "rgb"
    crop_border: int = 4
    round_8bit: bool = True

    def __post_init__(self) -> None:
        if self.channels not in ("rgb", "y"):
            raise ParameterError(f"PSNR channels must be 'rgb' or 'y', got {self.channels!r}")
        crop = self.crop_border
        if isinstance(crop, bool) or not isinstance(crop, int) or not 0 <= crop <= MAX_CROP:
            raise ParameterError(f"the border crop must be an integer in 0..{MAX_CROP}, got {crop}")

    @property
    def text(self) -> str:
        """The canonical text, e.g. ``rgb,crop=4,8bit``."""
        rounding = "8bit" if self.round_8bit else "float"
        return f"{self.channels},crop={self.crop_border},{rounding}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> MetricConvention:
        """Read the canonical text (spaces and case ignored).

        Raises:
            ParameterError: saying what the text should look like.
        """
        cleaned = re.sub(r"\s+", "", str(text)).lower()
        match = _TEXT.match(cleaned)
        if match is None:
            raise ParameterError(
                f"{text!r} is not a metric convention; write e.g. 'rgb,crop=4,8bit' "
                "(channels rgb or y, border crop in pixels, 8bit or float)"
            )
        channels: Channels = "rgb" if match.group(1) == "rgb" else "y"
        return cls(channels, int(match.group(2)), match.group(3) == "8bit")

    def describe(self) -> str:
        """One sentence for pages and the API, e.g. ``PSNR: RGB, 8-bit, 4-px border cropped``."""
        channels = "RGB" if self.channels == "rgb" else "Y"
        rounding = "8-bit" if self.round_8bit else "unrounded outputs"
        crop = f"{self.crop_border}-px border cropped" if self.crop_border else "no border crop"
        return f"PSNR: {channels}, {rounding}, {crop}"

    def prepare(self, output: NDArray[np.floating]) -> FloatImage:
        """The model output as the metric sees it: clipped to [0, 1], rounded to 8 bit if so."""
        if self.round_8bit:
            return quantize(output)
        return np.clip(np.asarray(output, dtype=np.float32), 0.0, 1.0)

    @property
    def _psnr_metric(self) -> Callable[..., NDArray[np.float64]]:
        return psnr if self.channels == "rgb" else psnr_y

    def psnr(self, output: NDArray[np.floating], truth: NDArray[np.floating]) -> float:
        """The headline PSNR (dB) of one prepared output against its ground truth."""
        return float(self._psnr_metric(output, truth, crop_border=self.crop_border))

    def ssim(self, output: NDArray[np.floating], truth: NDArray[np.floating]) -> float:
        """SSIM on Y with the same border crop."""
        return float(ssim(output, truth, crop_border=self.crop_border))

    def measure(
        self, output: NDArray[np.floating], truth: NDArray[np.floating]
    ) -> tuple[float, float]:
        """(PSNR, SSIM) of a raw model output, prepared first."""
        prepared = self.prepare(output)
        return self.psnr(prepared, truth), self.ssim(prepared, truth)

    def measure_many(
        self, outputs: Sequence[NDArray[np.floating]], truths: NDArray[np.floating]
    ) -> list[tuple[float, float]]:
        """(PSNR, SSIM) of raw model outputs against their stacked ground truths (N×H×W×3),
        each prepared first: :meth:`measure` for a group, one batched call per metric (the
        metrics score a batch image by image, so each value equals :meth:`measure`'s)."""
        prepared = np.stack([self.prepare(output) for output in outputs])
        values = self._psnr_metric(prepared, truths, crop_border=self.crop_border).tolist()
        ssims = ssim(prepared, truths, crop_border=self.crop_border).tolist()
        return [(float(p), float(s)) for p, s in zip(values, ssims, strict=True)]


AUTHORS = MetricConvention("rgb", 4, True)
"""The paper's: basicsr ``calculate_psnr`` on RGB, 8-bit outputs, ``crop_border: 4``."""

LEGACY = MetricConvention("rgb", 0, True)
"""What versions frozen before conventions were recorded were scored with (pyiqa, no crop)."""

DEFAULT = AUTHORS

__all__ = ["AUTHORS", "DEFAULT", "LEGACY", "MAX_CROP", "MetricConvention"]
