"""The degradation registry: metadata, parameter domains and the sample/apply split.

Each degradation is a pair of plain functions — ``sample(rng) -> params`` draws task-level
parameters from the paper's random ranges, ``apply(image, params, rng, ctx)`` degrades — so any
degraded image can be replayed exactly from recorded parameters (kornia's augmentation habit).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from gir_core._suggest import did_you_mean
from gir_core.errors import GirError, ParameterError
from gir_core.images import FloatImage, quantize

if TYPE_CHECKING:
    from gir_core.degradations.context import ImageContext

ParamValue = int | float
Params = dict[str, ParamValue]
ApplyFn = Callable[
    [FloatImage, Mapping[str, ParamValue], np.random.Generator, "ImageContext"], FloatImage
]
SampleFn = Callable[[np.random.Generator], Params]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type and the domain task text may use (wider than the random range)."""

    name: str
    kind: Literal["int", "float"]
    low: float
    high: float
    odd: bool = False

    def coerce(self, degradation: str, value: object) -> ParamValue:
        """Check ``value`` against the domain and return it as int or float."""
        where = f"{degradation}({self.name}=…)"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{where} must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            raise ParameterError(f"{where} must lie in [{self.low:g}, {self.high:g}], got {value}")
        if self.kind == "float":
            return number
        if not number.is_integer():
            raise ParameterError(f"{where} must be an integer, got {value}")
        if self.odd and int(number) % 2 == 0:
            raise ParameterError(f"{where} must be odd, got {int(number)}")
        return int(number)


@dataclass(frozen=True)
class Degradation:
    """A basic degradation: Table C.1 id, name, parameters and the two functions."""

    id: int
    name: str
    params: tuple[ParamSpec, ...]
    representative: Mapping[str, ParamValue]
    first_only: bool
    random_ranges: str
    sample_fn: SampleFn
    apply_fn: ApplyFn

    def validate(self, params: Mapping[str, object]) -> Params:
        """Return ``params`` coerced to their types, in declaration order; else ParameterError."""
        names = [p.name for p in self.params]
        unknown = [k for k in params if k not in names]
        if unknown:
            hint = did_you_mean(unknown[0], names) if names else "it takes no parameters"
            raise ParameterError(f"{self.name} has no parameter '{unknown[0]}'; {hint}")
        missing = [n for n in names if n not in params]
        if missing:
            raise ParameterError(f"{self.name} needs parameter(s) {', '.join(missing)}")
        return {p.name: p.coerce(self.name, params[p.name]) for p in self.params}

    def sample(self, rng: np.random.Generator) -> Params:
        """Draw task-level parameters from the paper's random ranges."""
        return self.validate(self.sample_fn(rng))

    def apply(
        self,
        image: FloatImage,
        params: Mapping[str, ParamValue],
        rng: np.random.Generator,
        ctx: ImageContext | None = None,
    ) -> FloatImage:
        """Degrade ``image`` with concrete ``params``; the result is clipped and 8-bit quantised."""
        from gir_core.degradations.context import ImageContext

        checked = self.validate(params)
        out = self.apply_fn(image, checked, rng, ctx if ctx is not None else ImageContext())
        return quantize(out)


_REGISTRY: dict[str, Degradation] = {}


def register(degradation: Degradation) -> Degradation:
    """Add a degradation to the registry (once per name)."""
    if degradation.name in _REGISTRY:
        raise GirError(f"degradation '{degradation.name}' is registered twice")
    _REGISTRY[degradation.name] = degradation
    return degradation


def get(name: str) -> Degradation:
    """Look a degradation up by name, with a "did you mean" hint when it is unknown.

    Example:
        >>> get("blur").id
        2
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(
            f"unknown degradation '{name}'; {did_you_mean(name, names())}"
        ) from None


def names() -> tuple[str, ...]:
    """All registered names in Table C.1 order."""
    return tuple(d.name for d in sorted(_REGISTRY.values(), key=lambda d: d.id))


def all_degradations() -> tuple[Degradation, ...]:
    """All degradations in Table C.1 order."""
    return tuple(get(n) for n in names())
