"""Snow masks: procedural by default (ours), or operator-supplied mask folders.

The authors drew one of 100 mask images per clean image (probably the CSD dataset's masks), which
cannot be had offline. :class:`ProceduralSnow` is OUR substitute: the "render snow" recipe of
noise, threshold, enlarge, soften and motion blur, in three depth layers, combined as
M = 1 − Π(1 − m_i).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from gir_core.degradations.kernels import line_kernel
from gir_core.errors import ImageError
from gir_core.images import to_float

Mask = NDArray[np.float32]
_MASK_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class SnowLayer:
    """One depth layer of flakes: seed probability, flake scale, softness, motion, opacity."""

    probability: float
    scale: int
    sigma: float
    motion: int
    opacity: float


LAYERS = (
    SnowLayer(0.010, 1, 0.5, 3, 0.6),  # far
    SnowLayer(0.007, 2, 1.0, 5, 0.8),  # mid
    SnowLayer(0.004, 3, 1.5, 8, 1.0),  # near
)


class SnowSource(Protocol):
    """Gives the snow mask M ∈ [0, 1] (H×W) of one clean image."""

    def mask(self, height: int, width: int, rng: np.random.Generator) -> Mask:
        """Return a mask; ``rng`` is seeded per clean image, so all tasks see the same snow."""
        ...

    def fingerprint(self) -> str:
        """Identify the masks this source gives, for cache keys."""
        ...


def _layer(
    height: int, width: int, layer: SnowLayer, theta: float, rng: np.random.Generator
) -> Mask:
    grid = (math.ceil(height / layer.scale), math.ceil(width / layer.scale))
    seeds = (rng.random(grid) < layer.probability).astype(np.float32)
    big = np.repeat(np.repeat(seeds, layer.scale, axis=0), layer.scale, axis=1)[:height, :width]
    soft = cv2.GaussianBlur(big, (0, 0), layer.sigma, borderType=cv2.BORDER_REFLECT_101)
    streak = line_kernel(layer.motion, theta).astype(np.float32)
    moved = cv2.filter2D(soft, -1, streak, borderType=cv2.BORDER_REFLECT_101)
    peak = float(moved.max())
    if peak <= 0:
        return np.zeros((height, width), np.float32)
    scaled: Mask = np.clip(moved * (layer.opacity / peak), 0.0, 1.0).astype(np.float32)
    return scaled


def procedural_snow_mask(height: int, width: int, rng: np.random.Generator) -> Mask:
    """Three-layer procedural snow with one fall angle θ ~ U(−30°, 30°) from vertical."""
    theta = math.radians(float(rng.uniform(-30.0, 30.0)))
    clear = np.ones((height, width), np.float32)
    for layer in LAYERS:
        clear *= 1.0 - _layer(height, width, layer, theta, rng)
    return (1.0 - clear).astype(np.float32)


@dataclass(frozen=True)
class ProceduralSnow:
    """The default, offline snow source (ours, not the authors')."""

    def mask(self, height: int, width: int, rng: np.random.Generator) -> Mask:
        """Render :func:`procedural_snow_mask`."""
        return procedural_snow_mask(height, width, rng)

    def fingerprint(self) -> str:
        """Constant: bump the suffix when the recipe changes."""
        return "procedural-v1"


@dataclass(frozen=True)
class FolderSnowMasks:
    """Operator-supplied greyscale mask images (white = snow); one is drawn per clean image."""

    folder: Path

    def files(self) -> list[Path]:
        """The mask files, sorted so the draw is reproducible."""
        folder = Path(self.folder)
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in _MASK_SUFFIXES)
        if not found:
            raise ImageError(f"no snow mask images in {folder}")
        return found

    def mask(self, height: int, width: int, rng: np.random.Generator) -> Mask:
        """Draw a mask file, read it as grey, resize to the image and scale to [0, 1]."""
        files = self.files()
        path = files[int(rng.integers(len(files)))]
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise ImageError(f"cannot read snow mask {path}")
        if grey.shape != (height, width):
            grey = cv2.resize(grey, (width, height), interpolation=cv2.INTER_LINEAR)
        return to_float(grey)

    def fingerprint(self) -> str:
        """Hash of the mask files' names and bytes (memoised on names, sizes and mtimes)."""
        listing = tuple(
            (path.name, stat.st_size, stat.st_mtime_ns)
            for path in self.files()
            for stat in (path.stat(),)
        )
        return _folder_fingerprint(str(Path(self.folder).resolve()), listing)


@lru_cache(maxsize=64)
def _folder_fingerprint(folder: str, listing: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in listing:
        digest.update(name.encode())
        digest.update(hashlib.sha256((Path(folder) / name).read_bytes()).digest())
    return "folder:" + digest.hexdigest()[:16]
