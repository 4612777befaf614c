"""Metric registry: look a metric up by the name a benchmark version records, with its metadata.

The metadata is what a caller needs to use a score without knowing the metric: whether it needs
a ground-truth image, which direction is better, and the values it can take (for axes, checks
and for sorting a leaderboard the right way round).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gir_core._suggest import did_you_mean
from gir_core.errors import ParameterError
from gir_core.metrics._inputs import Scores
from gir_core.metrics.fullref import PSNR_MAX, psnr, psnr_y, ssim, ssim_rgb
from gir_core.metrics.niqe import niqe


@dataclass(frozen=True)
class Metric:
    """One image-quality metric and how to read its values.

    Attributes:
        name: registry key, e.g. ``"psnr"``.
        full_reference: True if it compares against a ground-truth image, False if blind.
        higher_is_better: direction of "better" (False for NIQE).
        value_range: smallest and largest possible value (``math.inf`` when unbounded).
        unit: ``"dB"`` or ``""``.
        description: one line for people (CLI listings, the service's metric page).
        function: the metric; takes ``(image, reference)`` or ``(image,)``, and the keyword
            ``crop_border``.
    """

    name: str
    full_reference: bool
    higher_is_better: bool
    value_range: tuple[float, float]
    unit: str
    description: str
    function: Callable[..., Scores]

    def __call__(
        self,
        image: NDArray[np.floating],
        reference: NDArray[np.floating] | None = None,
        *,
        crop_border: int = 0,
    ) -> Scores:
        """Score ``image`` (against ``reference`` for full-reference metrics).

        ``crop_border`` pixels are dropped from each side of the image(s) first (default none).

        Raises:
            ParameterError: a reference is missing for a full-reference metric, or given to a
                no-reference one (silently ignoring it would hide a caller's mistake), or the
                crop is negative or leaves too few pixels.
        """
        if self.full_reference:
            if reference is None:
                raise ParameterError(f"'{self.name}' is full-reference: pass a reference image")
            return self.function(image, reference, crop_border=crop_border)
        if reference is not None:
            raise ParameterError(f"'{self.name}' is no-reference: it takes no reference image")
        return self.function(image, crop_border=crop_border)


_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("psnr", True, True, (0.0, PSNR_MAX), "dB", "PSNR on RGB, pyiqa 'psnr'", psnr),
        Metric(
            "psnr_y", True, True, (0.0, PSNR_MAX), "dB", "PSNR on Y (YIQ), pyiqa 'psnry'", psnr_y
        ),
        Metric("ssim", True, True, (0.0, 1.0), "", "SSIM on rounded Y, pyiqa 'ssim'", ssim),
        Metric("ssim_rgb", True, True, (0.0, 1.0), "", "SSIM per RGB, pyiqa 'ssimc'", ssim_rgb),
        Metric("niqe", False, False, (0.0, math.inf), "", "NIQE on Y, pyiqa 'niqe'", niqe),
    )
}

NAMES: tuple[str, ...] = tuple(_METRICS)
"""Registered metric names, full-reference first."""


def names() -> tuple[str, ...]:
    """All registered metric names."""
    return NAMES


def get(name: str) -> Metric:
    """Return the metric registered as ``name``.

    Raises:
        ParameterError: unknown name; the message suggests the closest names.

    Example:
        >>> get("niqe").higher_is_better
        False
    """
    try:
        return _METRICS[name]
    except KeyError:
        raise ParameterError(f"unknown metric '{name}'; {did_you_mean(name, NAMES)}") from None
