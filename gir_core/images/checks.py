"""The one input check of the engine: float RGB arrays in [0, 1], one image or a batch.

Degradations, line training and selection take one float32 H×W×3 image (:func:`check_image`);
metrics take one image or an N×H×W×3 batch of any float type (:func:`as_batch`). Both run the
same checks, in the same order, with the same messages, which say what was found so a caller
passing uint8, greyscale or 0..255 data knows what to change: a NumPy array, a float type, an
RGB shape, a minimum size, values in [0, 1].

The value check is one pass over the data (:func:`check_range`), and a metric that reads a
large batch image by image can run it on each image just before reading it
(``as_batch(..., defer_range=True)``), so the batch leaves memory once, not twice.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ImageError

Batch = NDArray[np.float32]
"""N×H×W×3 float32 RGB in [0, 1]."""

_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def check_image(image: object, *, what: str = "image", min_size: int = 4) -> None:
    """Raise :class:`ImageError` unless ``image`` is a float32 H×W×3 array with values in [0, 1].

    Example:
        >>> check_image(np.zeros((4, 4), np.float32))
        Traceback (most recent call last):
        ...
        gir_core.errors.ImageError: image must have shape H×W×3 (RGB), got (4, 4)
    """
    array = _checked_array(image, what, batch=False, min_size=min_size, float32=True)
    check_range(array, what)


def as_batch(
    image: object, *, what: str = "image", min_size: int = 1, defer_range: bool = False
) -> tuple[Batch, bool]:
    """Return ``(batch, single)``: the input as float32 N×H×W×3 and whether it was one image.

    Any float type is accepted (float64 is read as float32). ``defer_range``: the caller runs
    :func:`check_range` on each image just before reading it; float32 only (other types are
    converted, so they are checked here).
    """
    array = _checked_array(image, what, batch=True, min_size=min_size, float32=False)
    if not (defer_range and array.dtype == np.float32):
        check_range(array, what)
    single = array.ndim == 3
    batch = array[np.newaxis] if single else array
    return np.asarray(batch, dtype=np.float32), single


def _checked_array(
    image: object, what: str, *, batch: bool, min_size: int, float32: bool
) -> NDArray[np.floating]:
    """Everything but the values: array, float type (float32 only if asked), shape, size."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{what} must be a NumPy array, got {type(image).__name__}")
    if float32 and image.dtype != np.float32:
        raise ImageError(f"{what} must be float32 in [0, 1], got dtype {image.dtype}")
    if not np.issubdtype(image.dtype, np.floating):
        raise ImageError(
            f"{what} must be float RGB in [0, 1] (see gir_core.images.to_float), "
            f"got dtype {image.dtype}"
        )
    if image.ndim not in ((3, 4) if batch else (3,)) or image.shape[-1] != 3:
        shapes = "H×W×3 or N×H×W×3" if batch else "H×W×3"
        raise ImageError(f"{what} must have shape {shapes} (RGB), got {image.shape}")
    height, width = image.shape[-3], image.shape[-2]
    if min(height, width) < min_size or image.size == 0:
        raise ImageError(
            f"{what} must be at least {min_size}×{min_size} pixels, got {width}×{height}"
        )
    return image


def check_range(image: NDArray[np.floating], what: str = "image") -> None:
    """Raise :class:`ImageError`, with the range found, unless every value lies in [0, 1]."""
    if not _surely_in_unit_range(image):
        lo, hi = float(image.min()), float(image.max())
        if lo < 0.0 or hi > 1.0 or not (np.isfinite(lo) and np.isfinite(hi)):
            raise ImageError(f"{what} values must lie in [0, 1], got [{lo:.4g}, {hi:.4g}]")


def _surely_in_unit_range(image: NDArray[np.floating]) -> bool:
    """One integer pass: True if every value is in [+0, 1] (False may still be valid: -0.0).

    IEEE floats that are not negative order like their bit patterns read as unsigned integers,
    and negative values, NaN and infinities all read larger than the pattern of 1.0. So one max
    over the bits replaces a min and a max over the floats (a third of the PSNR's time).
    """
    bits = _BITS.get(image.dtype.itemsize)
    if bits is None or not image.dtype.isnative:
        return False
    one = np.array(1.0, dtype=image.dtype).view(bits)
    return bool(image.view(bits).max() <= one)
