"""Depth maps for haze and snow: the offline proxy (ours) and pluggable sources.

The paper's authors estimated depth with a MATLAB CNN (Liu et al., deep convolutional neural fields)
on the ×4 downsampled image. No depth network can be fetched offline, so :class:`ProxyDepth` is OUR
substitute, built from two classic cues: a vertical prior (the top of a photo is usually far) and
the colour-attenuation prior of Zhu et al. (TIP 2015). Operators who want real depth supply
precomputed maps with :class:`FolderDepth`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ImageError

DepthMap = NDArray[np.float32]
_MIN_DEPTH = 0.1


class DepthSource(Protocol):
    """Gives a depth map in (0, 1] (1 = farthest) for a clean image."""

    def depth(self, image: NDArray[np.float32], name: str) -> DepthMap:
        """Return an H×W depth map for ``image`` (``name`` is the GT file stem)."""
        ...

    def fingerprint(self, name: str) -> str:
        """Identify the maps this source gives for ``name``, for cache keys."""
        ...


def _normalise(depth: NDArray[np.floating]) -> DepthMap:
    peak = float(depth.max())
    if not np.isfinite(peak) or peak <= 0:
        raise ImageError("depth map must have a positive maximum")
    floored: DepthMap = np.maximum(depth / peak, _MIN_DEPTH).astype(np.float32)
    return floored


def proxy_depth(image: NDArray[np.float32]) -> DepthMap:
    """Offline depth proxy of DEGRADATIONS.md, computed at quarter resolution.

    D = 0.5·v + 0.5·c, with v = 1 − y/(h−1) and c the colour-attenuation cue
    0.121779 + 0.959710·V − 0.780245·S after a 5×5 minimum filter, divided by its max; smoothed
    with a Gaussian of σ = max(h, w)/30, upsampled bilinearly, then d = max(D/max D, 0.1).
    """
    height, width = image.shape[:2]
    small = cv2.resize(
        image, (max(width // 4, 1), max(height // 4, 1)), interpolation=cv2.INTER_AREA
    )
    h, w = small.shape[:2]
    hsv = cv2.cvtColor(np.ascontiguousarray(small, dtype=np.float32), cv2.COLOR_RGB2HSV)
    cue = 0.121779 + 0.959710 * hsv[..., 2] - 0.780245 * hsv[..., 1]
    cue = cv2.erode(cue, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_REFLECT_101)
    # Dark, saturated regions give a negative cue; clipped at 0 ("near"), so one small positive
    # peak cannot turn the whole map negative (that raised on very dark images).
    cue = np.maximum(cue, 0.0)
    peak = float(cue.max())
    cue = cue / peak if peak > 0 else np.zeros_like(cue)
    rows = np.linspace(1.0, 0.0, h, dtype=np.float32) if h > 1 else np.ones(1, np.float32)
    combined = 0.5 * rows[:, None] + 0.5 * cue
    sigma = max(h, w) / 30.0
    combined = cv2.GaussianBlur(combined, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    full = cv2.resize(combined, (width, height), interpolation=cv2.INTER_LINEAR)
    return _normalise(full)


def vertical_ramp(height: int, width: int) -> DepthMap:
    """Pure vertical prior (top far, bottom near), for tests and as a neutral baseline."""
    rows = np.linspace(1.0, 0.0, height, dtype=np.float32) if height > 1 else np.ones(1, np.float32)
    return _normalise(np.repeat(rows[:, None], width, axis=1))


@dataclass(frozen=True)
class ProxyDepth:
    """The default, offline depth source (ours, not the authors')."""

    def depth(self, image: NDArray[np.float32], name: str) -> DepthMap:
        """Compute :func:`proxy_depth` for ``image``."""
        return proxy_depth(image)

    def fingerprint(self, name: str) -> str:
        """Constant: the proxy depends only on the image, which the cache key already covers."""
        return "proxy-v1"


@dataclass(frozen=True)
class VerticalRampDepth:
    """Vertical ramp only; deterministic and image-independent (tests, ablations)."""

    def depth(self, image: NDArray[np.float32], name: str) -> DepthMap:
        """Return :func:`vertical_ramp` of the image's size."""
        return vertical_ramp(image.shape[0], image.shape[1])

    def fingerprint(self, name: str) -> str:
        """Constant."""
        return "ramp-v1"


@dataclass(frozen=True)
class FolderDepth:
    """Operator-supplied depth maps: ``<folder>/<name>.npy`` (H×W, larger = farther).

    Maps of another size are resized bilinearly; all are normalised by their maximum and floored
    at 0.1 like the proxy, so a real estimator drops in without other changes.
    """

    folder: Path

    def _path(self, name: str) -> Path:
        path = Path(self.folder) / f"{name}.npy"
        if not path.is_file():
            raise ImageError(f"no depth map for image '{name}': expected {path}")
        return path

    def depth(self, image: NDArray[np.float32], name: str) -> DepthMap:
        """Load, resize to the image and normalise the operator's map."""
        raw = np.load(self._path(name), allow_pickle=False).astype(np.float32)
        if raw.ndim != 2:
            raise ImageError(f"depth map for '{name}' must be 2-D, got shape {raw.shape}")
        height, width = image.shape[:2]
        if raw.shape != (height, width):
            raw = cv2.resize(raw, (width, height), interpolation=cv2.INTER_LINEAR)
        return _normalise(raw)

    def fingerprint(self, name: str) -> str:
        """SHA-256 of the map file, so a changed map invalidates cached inputs."""
        return "folder:" + hashlib.sha256(self._path(name).read_bytes()).hexdigest()[:16]
