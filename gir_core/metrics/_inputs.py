"""What every metric does to its inputs: pairs, the border crop, the luma, the result's shape.

Metrics accept one H×W×3 image or a batch N×H×W×3 of float RGB in [0, 1] (the 1/255 grid of
:mod:`gir_core.images`), checked by the engine's one input check
(:func:`gir_core.images.as_batch`). Internally everything is a batch, so one code path serves
both and the work is vectorised over images.

The luma is the Y of YIQ (0.299 R + 0.587 G + 0.114 B), evaluated in float32 in pyiqa's exact
operation order: pyiqa's ``psnry``, ``ssim`` and ``niqe`` all use it, and ``ssim``/``niqe`` round
``255·Y`` to integers, where a different evaluation order flips a few half-way ties (measured:
about one pixel in 3 000 on noisy photos, enough to move NIQE by 0.04).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ImageError, ParameterError
from gir_core.images.checks import Batch, as_batch, check_range

Image = NDArray[np.float32]
Scores = NDArray[np.float64]

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
LEVELS = np.float32(255.0)
"""8-bit levels per unit of intensity, float32 as in pyiqa."""


def checked_pairs(
    image: object, reference: object, *, min_size: int = 1, crop_border: int = 0
) -> tuple[Iterator[tuple[Image, Image]], bool]:
    """The cropped (image, reference) pairs of a full-reference call, and whether it was one.

    Shapes, sizes and the crop are checked now; each pair's value range just before it is
    yielded (whole images, border included), so a batch is read from memory once, not once for
    the check and again for the metric (which made batches slower per image than single calls).
    The crop is a view, so ``crop_border=0`` leaves the data, and the scores, exactly as before.
    """
    x, single = as_batch(image, what="image", min_size=min_size, defer_range=True)
    y, _ = as_batch(reference, what="reference", min_size=min_size, defer_range=True)
    if x.shape != y.shape:
        raise ImageError(
            f"image and reference must have the same shape, got {x.shape[1:]} and "
            f"{y.shape[1:]}" + ("" if x.shape[0] == y.shape[0] else f" (batch {len(x)}/{len(y)})")
        )
    cropped_x, cropped_y = crop(x, crop_border, min_size), crop(y, crop_border, min_size)

    def pairs() -> Iterator[tuple[Image, Image]]:
        for index in range(len(x)):
            check_range(x[index], "image")
            check_range(y[index], "reference")
            yield cropped_x[index], cropped_y[index]

    return pairs(), single


def crop(batch: Batch, border: int, min_size: int = 1) -> Batch:
    """Drop ``border`` pixels from each side of every image of an N×H×W×3 batch.

    The convention of basicsr's ``calculate_psnr``/``calculate_ssim`` (``crop_border``), which
    the authors of the paper score with.

    Raises:
        ParameterError: ``border`` is not a non-negative integer, or leaves fewer than
            ``min_size`` pixels on a side; the message gives the size and the largest crop.
    """
    if isinstance(border, bool) or not isinstance(border, int | np.integer):
        raise ParameterError(f"crop_border must be an integer, got {border!r}")
    if border < 0:
        raise ParameterError(f"crop_border must be 0 or more, got {border}")
    if border == 0:
        return batch
    height, width = batch.shape[1], batch.shape[2]
    if min(height, width) - 2 * border < min_size:
        largest = (min(height, width) - min_size) // 2
        raise ParameterError(
            f"crop_border={border} leaves {width - 2 * border}×{height - 2 * border} pixels of "
            f"a {width}×{height} image; the metric needs at least {min_size}×{min_size}, "
            f"so crop_border must be at most {largest}"
        )
    return batch[:, border : height - border, border : width - border]


def finish(scores: Scores, single: bool) -> Scores:
    """Shape ``()`` for one input image, ``(N,)`` for a batch."""
    return scores.reshape(()) if single else scores


def luma(
    batch: Batch,
    out: NDArray[np.float32] | None = None,
    work: NDArray[np.float32] | None = None,
) -> NDArray[np.float32]:
    """Y of YIQ in [0, 1], float32, N×H×W (pyiqa's ``to_y_channel`` with range 1).

    ``out`` and ``work`` (optional, of the result's shape): buffers to compute in.
    """
    r, g, b = batch[..., 0], batch[..., 1], batch[..., 2]
    # Sequential float32 products and sums, no fused multiply-add: torch's CPU matmul order.
    y: NDArray[np.float32] = np.multiply(r, LUMA[0], out=out)
    term: NDArray[np.float32] = np.multiply(g, LUMA[1], out=work)
    y += term
    y += np.multiply(b, LUMA[2], out=term)
    return y


def luma_levels(
    batch: Batch,
    out: NDArray[np.float64] | None = None,
    work: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None,
) -> NDArray[np.float64]:
    """Y rounded to 8-bit levels (0..255) as float64: the MATLAB-style grey image.

    ``out`` (float64) and ``work`` (two float32 arrays), of the result's shape: optional
    buffers (see :mod:`gir_core.metrics._scratch`).
    """
    scaled = luma(batch, *(work or (None, None)))
    scaled *= LEVELS
    np.rint(scaled, out=scaled)
    if out is None:
        return np.asarray(scaled, dtype=np.float64)
    np.copyto(out, scaled)
    return out
