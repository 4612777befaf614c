"""Rain, haze and snow: the three degradations that may only be the first step.

Rain follows the authors' Photoshop-style recipe on 0-255 values. Haze and snow follow the
atmospheric scattering model I = J·t + A·(1−t), t = exp(−β·d), with depth and snow masks from the
image's :class:`~gir_core.degradations.context.ImageContext` (offline substitutes by default).
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from gir_core.degradations.context import ImageContext
from gir_core.degradations.kernels import streak_kernel
from gir_core.degradations.registry import ParamValue
from gir_core.images import FloatImage

P = Mapping[str, ParamValue]
RAIN_SEED_KERNEL = np.array([[0.0, 0.1, 0.0], [0.1, 8.0, 0.1], [0.0, 0.1, 0.0]])
STREAK_WIDTHS = (3, 5, 7, 9, 11)


def rain_layer(height: int, width: int, value: int, rng: np.random.Generator) -> np.ndarray:
    """The uint8 rain layer (H×W) for ``value``; streak geometry is drawn from ``rng``.

    Draw order (fixed, so replays match): seed field, then L, angle, w.
    """
    field = rng.uniform(0.0, 256.0, size=(height, width))
    field[field < 256.0 - value / 100.0] = 0.0
    seeds = cv2.filter2D(field, -1, RAIN_SEED_KERNEL, borderType=cv2.BORDER_REFLECT_101)
    length = int(rng.integers(20, 40, endpoint=True))
    angle = int(rng.integers(-45, 44, endpoint=True))
    streak_width = int(STREAK_WIDTHS[int(rng.integers(len(STREAK_WIDTHS)))])
    kernel = streak_kernel(length, angle, streak_width)
    streaks = cv2.filter2D(seeds, -1, kernel, borderType=cv2.BORDER_REFLECT_101)
    streaks = cv2.normalize(streaks, None, 0.0, 255.0, cv2.NORM_MINMAX)
    # Truncation, not rounding, as the authors' np.array(..., dtype=np.uint8) does.
    return np.asarray(streaks, dtype=np.float64).astype(np.uint8)


def apply_rain(image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext) -> FloatImage:
    """Additive rain streaks (not a screen blend), clipped after the sum."""
    height, width = image.shape[:2]
    layer = rain_layer(height, width, int(p["value"]), rng)
    return image + (layer.astype(np.float32) / np.float32(255.0))[..., None]


def _veil(image: FloatImage, depth: np.ndarray, airlight: float, beta: float) -> FloatImage:
    transmission = np.exp(-beta * depth.astype(np.float64))[..., None]
    return (image * transmission + airlight * (1.0 - transmission)).astype(np.float32)


def apply_haze(image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext) -> FloatImage:
    """Atmospheric haze with airlight A and scattering β over the image's depth."""
    return _veil(image, ctx.depth(image), float(p["A"]), float(p["beta"]))


def apply_snow(image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext) -> FloatImage:
    """White flakes I_s = J·(1−M) + M, then the haze veil with the same depth."""
    height, width = image.shape[:2]
    mask = ctx.snow_mask(height, width)[..., None]
    flaked = image * (1.0 - mask) + mask
    return _veil(flaked, ctx.depth(image), float(p["A"]), float(p["beta"]))
