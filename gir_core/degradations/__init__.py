"""The ten basic degradations of the GIR paper (appendix A.1), in Table C.1 order.

``get(name)`` returns a :class:`Degradation` with its metadata, ``sample(rng)`` for random
parameters and ``apply(image, params, rng, ctx)`` for the degradation itself. See
DEGRADATIONS.md for the formulas; the depth proxy and procedural snow are our offline
substitutes for the authors' assets.

Example:
    >>> import numpy as np
    >>> blur = get("blur")
    >>> out = blur.apply(np.full((8, 8, 3), 0.5, np.float32), blur.representative,
    ...                  np.random.default_rng(0))
    >>> round(float(out[4, 4, 0]) * 255)  # mid-grey stays mid-grey, on the 8-bit grid
    128
"""

from __future__ import annotations

import math

import numpy as np

from gir_core.degradations.basic import (
    apply_alg_artifact,
    apply_blur,
    apply_compression,
    apply_damage,
    apply_noise,
    apply_resize,
    apply_ringing,
)
from gir_core.degradations.context import ImageContext
from gir_core.degradations.depth import DepthSource, FolderDepth, ProxyDepth, VerticalRampDepth
from gir_core.degradations.registry import (
    Degradation,
    Params,
    ParamSpec,
    all_degradations,
    get,
    names,
    register,
)
from gir_core.degradations.snow_masks import FolderSnowMasks, ProceduralSnow, SnowSource
from gir_core.degradations.weather import apply_haze, apply_rain, apply_snow

__all__ = [
    "NAMES",
    "Degradation",
    "DepthSource",
    "FolderDepth",
    "FolderSnowMasks",
    "ImageContext",
    "ParamSpec",
    "ProceduralSnow",
    "ProxyDepth",
    "SnowSource",
    "VerticalRampDepth",
    "all_degradations",
    "get",
    "names",
]


def _odd(rng: np.random.Generator, low: int, high: int) -> int:
    return int(rng.choice(np.arange(low, high + 1, 2)))


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return round(float(rng.uniform(low, high)), 2)


def _k() -> ParamSpec:
    return ParamSpec("k", "int", 3, 51, odd=True)


def _no_params(rng: np.random.Generator) -> Params:
    return {}


register(Degradation(
    1, "resize", (ParamSpec("scale", "int", 2, 8),), {"scale": 4}, False, "×4",
    lambda rng: {"scale": 4}, apply_resize,
))  # fmt: skip
register(Degradation(
    2, "blur", (_k(), ParamSpec("sigma", "float", 0.01, 10.0)), {"k": 15, "sigma": 2.0}, False,
    "odd k ∈ [7, 23], σ ~ U(0.2, 3) (2 dp)",
    lambda rng: {"k": _odd(rng, 7, 23), "sigma": _uniform(rng, 0.2, 3.0)}, apply_blur,
))  # fmt: skip
register(Degradation(
    3, "noise", (ParamSpec("sigma", "float", 0.0, 100.0),), {"sigma": 20.0}, False,
    "σ = round(U(1, 30))", lambda rng: {"sigma": float(round(rng.uniform(1.0, 30.0)))}, apply_noise,
))  # fmt: skip
register(Degradation(
    4, "compression", (ParamSpec("q", "int", 1, 100),), {"q": 50}, False, "q = integer U[30, 95]",
    lambda rng: {"q": int(rng.integers(30, 95, endpoint=True))}, apply_compression,
))  # fmt: skip
register(Degradation(
    5, "damage", (ParamSpec("n", "int", 1, 50), ParamSpec("t", "int", 1, 50)), {"n": 10, "t": 7},
    False, "N, T = randint[5, 10] each",
    lambda rng: {"n": int(rng.integers(5, 10, endpoint=True)),
                 "t": int(rng.integers(5, 10, endpoint=True))},
    apply_damage,
))  # fmt: skip
register(Degradation(
    6, "ringing", (_k(), ParamSpec("omega", "float", 0.01, math.pi)), {"k": 15, "omega": 1.2},
    False, "odd k ∈ [7, 23], ω ~ U(π/3, π) (2 dp)",
    lambda rng: {"k": _odd(rng, 7, 23), "omega": _uniform(rng, math.pi / 3, math.pi)},
    apply_ringing,
))  # fmt: skip
register(Degradation(
    7, "alg.artifact", (), {}, False, "none (deterministic)", _no_params, apply_alg_artifact,
))  # fmt: skip
register(Degradation(
    8, "rain", (ParamSpec("value", "int", 1, 1000),), {"value": 75}, True,
    "value = randint[50, 100)", lambda rng: {"value": int(rng.integers(50, 100))}, apply_rain,
))  # fmt: skip
register(Degradation(
    9, "haze", (ParamSpec("A", "float", 0.0, 1.0), ParamSpec("beta", "float", 0.0, 10.0)),
    {"A": 0.9, "beta": 1.8}, True, "A ~ U(0.8, 1), β ~ U(0.5, 2.5) (2 dp)",
    lambda rng: {"A": _uniform(rng, 0.8, 1.0), "beta": _uniform(rng, 0.5, 2.5)}, apply_haze,
))  # fmt: skip
register(Degradation(
    10, "snow", (ParamSpec("A", "float", 0.0, 1.0), ParamSpec("beta", "float", 0.0, 10.0)),
    {"A": 0.9, "beta": 0.75}, True, "A ~ U(0.8, 0.95), β ~ U(0.5, 1) (2 dp)",
    lambda rng: {"A": _uniform(rng, 0.8, 0.95), "beta": _uniform(rng, 0.5, 1.0)}, apply_snow,
))  # fmt: skip

NAMES: tuple[str, ...] = names()
