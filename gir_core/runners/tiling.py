"""Size multiples and tiling: run any model on any image size without changing its output.

Pure NumPy around a ``forward`` callable (N×3×H×W → N×3×H×W), so the rules are testable without a
model: reflect-pad to the declared multiple and crop back; for large images or fixed-size models,
overlapping tiles blended with a feathered window, so seams do not show.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ContractError, ParameterError

Forward = Callable[[NDArray[np.float32]], NDArray[np.float32]]


def pad_to_multiple(chw: NDArray[np.float32], multiple: int) -> NDArray[np.float32]:
    """Reflect-pad the bottom and right of a 3×H×W array so H and W are multiples."""
    if multiple < 1:
        raise ParameterError(f"size multiple must be ≥ 1, got {multiple}")
    height, width = chw.shape[1:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    return _pad(chw, pad_h, pad_w)


def _pad(chw: NDArray[np.float32], pad_h: int, pad_w: int) -> NDArray[np.float32]:
    if pad_h == 0 and pad_w == 0:
        return chw
    height, width = chw.shape[1:]
    # Reflection needs the pad to be smaller than the side; symmetric covers the rest.
    widths = ((0, 0), (0, pad_h), (0, pad_w))
    if pad_h < height and pad_w < width:
        return np.pad(chw, widths, mode="reflect")
    return np.pad(chw, widths, mode="symmetric")


def check_output_shape(shape: tuple[int, ...], size: tuple[int, ...]) -> None:
    """Raise ContractError with a sentence when an output is not [1, 3, H, W] for an H×W input."""
    if len(shape) != 4:
        raise ContractError(
            f"output has rank {len(shape)} {list(shape)}, expected 4 ([1, 3, H, W])",
            reason="shape",
        )
    if shape[1] != 3:
        plural = "" if shape[1] == 1 else "s"
        raise ContractError(f"output has {shape[1]} channel{plural}, expected 3", reason="shape")
    if shape[0] != 1 or tuple(shape[2:]) != tuple(size):
        raise ContractError(
            f"output is {list(shape)} for a [1, 3, {size[0]}, {size[1]}] input; it must keep the "
            "input size (declare a size multiple if the model needs one)",
            reason="shape",
        )


def _call(forward: Forward, chw: NDArray[np.float32]) -> NDArray[np.float32]:
    out: NDArray[np.float32] = forward(chw[None])
    check_output_shape(out.shape, chw.shape[1:])
    first: NDArray[np.float32] = out[0]
    return first


def run_whole(forward: Forward, chw: NDArray[np.float32], multiple: int) -> NDArray[np.float32]:
    """Pad to ``multiple``, run once, crop back to the input size."""
    height, width = chw.shape[1:]
    return _call(forward, pad_to_multiple(chw, multiple))[:, :height, :width]


def _starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return [*starts, length - tile]


def _window(tile_h: int, tile_w: int, overlap: int) -> NDArray[np.float32]:
    def ramp(n: int) -> NDArray[np.float32]:
        edge = np.minimum(np.arange(n) + 1, np.arange(n)[::-1] + 1).astype(np.float32)
        return np.minimum(edge / max(overlap, 1), 1.0).astype(np.float32)

    return np.outer(ramp(tile_h), ramp(tile_w)).astype(np.float32)


def run_tiled(
    forward: Forward,
    chw: NDArray[np.float32],
    tile: tuple[int, int],
    *,
    overlap: int = 16,
    multiple: int = 1,
) -> NDArray[np.float32]:
    """Run ``forward`` on overlapping tiles of exactly ``tile`` size and blend them.

    The image is first padded so every tile is full-size (fixed-size ONNX models need that);
    tiles overlap by ``overlap`` pixels and are blended with a feathered window.
    """
    tile_h, tile_w = tile
    if tile_h % multiple or tile_w % multiple:
        raise ParameterError(f"tile {tile_h}×{tile_w} is not a multiple of {multiple}")
    if overlap * 2 >= min(tile_h, tile_w):
        raise ParameterError(f"tile overlap {overlap} is too large for a {tile_h}×{tile_w} tile")
    height, width = chw.shape[1:]
    padded = _pad(chw, max(tile_h - height, 0), max(tile_w - width, 0))
    full_h, full_w = padded.shape[1:]
    total = np.zeros_like(padded)
    weight = np.zeros((full_h, full_w), np.float32)
    window = _window(tile_h, tile_w, overlap)
    for top in _starts(full_h, tile_h, tile_h - overlap):
        for left in _starts(full_w, tile_w, tile_w - overlap):
            piece = padded[:, top : top + tile_h, left : left + tile_w]
            total[:, top : top + tile_h, left : left + tile_w] += _call(forward, piece) * window
            weight[top : top + tile_h, left : left + tile_w] += window
    return (total / weight)[:, :height, :width].astype(np.float32)
