"""Per-clean-image state shared by every task on that image: depth map and snow mask.

The authors fixed the depth map and the snow mask per clean image; keeping them here, cached, means
all haze/snow tasks on one image see the same scene geometry, and each is computed once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from gir_core.degradations.depth import DepthMap, DepthSource, ProxyDepth
from gir_core.degradations.snow_masks import Mask, ProceduralSnow, SnowSource

# Fourth entropy word of the snow-mask seed; distinct from any step index.
_SNOW_STREAM = 0x534E4F57


@dataclass
class ImageContext:
    """Sources of depth and snow for one clean image, plus the seed/index that place it.

    ``seed`` and ``image_index`` are set by :meth:`gir_core.tasks.Task.apply`; callers normally
    give only ``name`` and the sources.
    """

    name: str = ""
    depth_source: DepthSource = field(default_factory=ProxyDepth)
    snow_source: SnowSource = field(default_factory=ProceduralSnow)
    seed: int = 0
    image_index: int = 0
    _cache: dict[tuple[object, ...], NDArray[np.float32]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def placed(self, seed: int, image_index: int) -> ImageContext:
        """This context for one (seed, image index); the cache is shared with the original."""
        if (seed, image_index) == (self.seed, self.image_index):
            return self
        return replace(self, seed=seed, image_index=image_index, _cache=self._cache)

    @property
    def fingerprint(self) -> str:
        """Identifies the depth and snow sources for this image, for cache keys."""
        depth = self.depth_source.fingerprint(self.name)
        return f"depth={depth};snow={self.snow_source.fingerprint()}"

    def depth(self, clean: NDArray[np.float32]) -> DepthMap:
        """Depth of the clean image (haze and snow are only ever the first step)."""
        digest = hashlib.blake2b(np.ascontiguousarray(clean).tobytes(), digest_size=16).digest()
        key = ("depth", clean.shape, digest)
        if key not in self._cache:
            self._cache[key] = self.depth_source.depth(clean, self.name)
        return self._cache[key]

    def snow_mask(self, height: int, width: int) -> Mask:
        """The one snow mask of this clean image, seeded by (seed, image index)."""
        key = ("snow", self.seed, self.image_index, height, width)
        if key not in self._cache:
            entropy = [self.seed, self.image_index, _SNOW_STREAM]
            rng = np.random.default_rng(np.random.SeedSequence(entropy))
            self._cache[key] = self.snow_source.mask(height, width, rng)
        return self._cache[key]
