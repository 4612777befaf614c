"""The 8-bit grid: float32 RGB in [0, 1] on the 1/255 levels, the convention of every image.

The authors' pipeline passes images through uint8 between steps, so every step here ends with
:func:`quantize`; keeping that one function makes the 1/255 grid a property of the whole engine.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

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
