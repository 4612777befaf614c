"""Image conventions shared by every degradation: float32 RGB in [0, 1] on the 8-bit grid.

The authors' pipeline passes images through uint8 between steps, so every step here ends with
:func:`quantize`; keeping that one function makes the 1/255 grid a property of the whole engine.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ImageError

FloatImage = NDArray[np.float32]
_SCALE = np.float32(255.0)


def to_uint8(image: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Clip to [0, 1] and round to the nearest 8-bit level (round half to even, like NumPy).

    Example:
        >>> to_uint8(np.array([0.0, 0.5, 1.2])).tolist()
        [0, 128, 255]
    """
    scaled = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0) * 255.0
    return np.rint(scaled).astype(np.uint8)


def to_float(image: NDArray[np.uint8]) -> FloatImage:
    """Map 8-bit levels to float32 in [0, 1] (level / 255).

    Example:
        >>> float(to_float(np.array([255], dtype=np.uint8))[0])
        1.0
    """
    return np.asarray(image, dtype=np.uint8).astype(np.float32) / _SCALE


def quantize(image: NDArray[np.floating]) -> FloatImage:
    """Clip and quantise to the 1/255 grid: what every degradation step returns."""
    return to_float(to_uint8(image))


def check_image(image: object, *, what: str = "image") -> None:
    """Raise :class:`ImageError` unless ``image`` is a float32 H×W×3 array with values in [0, 1].

    The message says what was found, so a caller passing uint8 or BGR-less greyscale data knows
    exactly what to change.
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{what} must be a NumPy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"{what} must have shape H×W×3 (RGB), got {image.shape}")
    if image.dtype != np.float32:
        raise ImageError(f"{what} must be float32 in [0, 1], got dtype {image.dtype}")
    if image.shape[0] < 4 or image.shape[1] < 4:
        raise ImageError(
            f"{what} must be at least 4×4 pixels, got {image.shape[1]}×{image.shape[0]}"
        )
    if image.size and (float(image.min()) < 0.0 or float(image.max()) > 1.0):
        lo, hi = float(image.min()), float(image.max())
        raise ImageError(f"{what} values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")
