"""Training profiles for the line networks: the paper's recipe and small CPU-sized variants.

The paper trains every model with the same recipe (section 5.1): L1 loss, Adam (β1 0.9, β2 0.999),
batch 8, 128×128 patches, cosine annealing from 2e-4 to 1e-7 with a period of 500k iterations.
It states that period for its GIR models and says all models share "the same learning rate and
training iterations"; it gives no separate schedule for the 200 line models, so the ``paper``
profile assumes they used the same 500k iterations (one cosine period, no restarts).

``demo`` makes lines worth measuring against (above the degraded input, excellence ≥ 0.1 dB
above acceptance, see :mod:`gir_core.line_quality`) for about a minute of one CPU core a task, so
that its values can be produced once and shipped (:mod:`app.demo.shipped`): the SRCNN starts as
the identity (``acceptance_start``; its 150 steps then improve on the input instead of learning to
copy it, which a plain SRCNN from torch's initialisation spends thousands of steps on and which
left the old 300-step demo lines below the input on mild tasks), the excellence net is SRResNet
shrunk to 32 features × 4 blocks and gets 1000 steps of its own (600 left 4 of the 30 demo
tasks with excellence less than 0.1 dB above acceptance), batches are 8 patches of 32 px,
and Adam starts at the paper's 2e-4 for SRCNN (from the identity, 1e-3 moved every weight
enough to fall below the input on JPEG) and at 1e-3 for SRResNet (a short cosine leaves no time
to creep up from 2e-4; 2e-3 made the small SRResNet collapse to the identity on resize).
``tiny`` exists for tests. Lines trained with different profiles are not comparable; a line
records its profile, network and iterations.

Example:
    >>> get_profile("demo").patch_size % 4
    0
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from gir_core._suggest import did_you_mean
from gir_core.errors import ParameterError


@dataclass(frozen=True)
class TrainingProfile:
    """Everything that decides how a line network is trained, except the task, data and seed.

    Attributes:
        name: short name, recorded with every line trained under it.
        iterations: optimiser steps (also the cosine period: one half-cosine from start to end).
        batch_size: patches per step.
        patch_size: side of the square training patches, in pixels; a multiple of 4 (``resize``
            divides by up to 8 and the degradations need sides that are multiples of 4).
        lr_start: learning rate at step 0.
        lr_end: learning rate the cosine reaches at the last step.
        betas: Adam's (β1, β2).
        acceptance_features: SRCNN's two hidden widths (paper: 64, 32).
        excellence_blocks: residual blocks in the excellence net.
        excellence_channels: channels of the excellence trunk.
        log_every: record the mean loss, the learning rate and the wall time every this many steps.
        weather_variants: for tasks that start with rain, haze or snow, how many degraded copies of
            each whole training image are made before training (the paper makes them offline
            because these degradations need the whole image); patches are cut from the copies.
        prefetch: batches each data producer makes ahead (its queue's size).
        acceptance_start: ``default`` (torch's initialisation, the authors') or ``identity``
            (SRCNN starts as the identity, :func:`~gir_core.baselines.nets.start_at_identity`).
        excellence_iterations: steps for the excellence net when it differs (0: ``iterations``).
        excellence_lr_start: its starting learning rate when it differs (0: ``lr_start``).
    """

    name: str
    iterations: int
    batch_size: int = 8
    patch_size: int = 128
    lr_start: float = 2e-4
    lr_end: float = 1e-7
    betas: tuple[float, float] = (0.9, 0.999)
    acceptance_features: tuple[int, int] = (64, 32)
    excellence_blocks: int = 16
    excellence_channels: int = 64
    log_every: int = 1000
    weather_variants: int = 1
    prefetch: int = 4
    acceptance_start: Literal["default", "identity"] = "default"
    excellence_iterations: int = 0
    excellence_lr_start: float = 0.0

    def for_kind(self, kind: str) -> TrainingProfile:
        """The profile as one line kind trains with it (the excellence overrides applied).

        Example:
            >>> get_profile("demo").for_kind("excellence").iterations > 0
            True
        """
        if kind != "excellence":
            return self
        return replace(
            self,
            iterations=self.excellence_iterations or self.iterations,
            lr_start=self.excellence_lr_start or self.lr_start,
            excellence_iterations=0,
            excellence_lr_start=0.0,
        )

    def __post_init__(self) -> None:
        positive = {
            "iterations": self.iterations,
            "batch_size": self.batch_size,
            "excellence_channels": self.excellence_channels,
            "log_every": self.log_every,
            "weather_variants": self.weather_variants,
            "prefetch": self.prefetch,
            "acceptance_features[0]": self.acceptance_features[0],
            "acceptance_features[1]": self.acceptance_features[1],
        }
        for key, value in positive.items():
            if value < 1:
                raise ParameterError(f"profile {self.name!r}: {key} must be ≥ 1, got {value}")
        if self.excellence_iterations < 0 or self.excellence_lr_start < 0:
            raise ParameterError(f"profile {self.name!r}: excellence overrides must be ≥ 0")
        if self.acceptance_start not in ("default", "identity"):
            raise ParameterError(
                f"profile {self.name!r}: acceptance_start must be 'default' or 'identity', "
                f"got {self.acceptance_start!r}"
            )
        if self.excellence_blocks < 0:
            raise ParameterError(f"profile {self.name!r}: excellence_blocks must be ≥ 0")
        if self.patch_size < 16 or self.patch_size % 4:
            raise ParameterError(
                f"profile {self.name!r}: patch_size must be a multiple of 4 and ≥ 16, "
                f"got {self.patch_size}"
            )
        if not 0.0 < self.lr_end <= self.lr_start:
            raise ParameterError(
                f"profile {self.name!r}: need 0 < lr_end ≤ lr_start, "
                f"got {self.lr_end} and {self.lr_start}"
            )


PROFILES: dict[str, TrainingProfile] = {
    "paper": TrainingProfile(name="paper", iterations=500_000),
    "demo": TrainingProfile(
        name="demo",
        iterations=150,
        batch_size=8,
        patch_size=32,
        lr_start=2e-4,
        lr_end=1e-6,
        excellence_blocks=4,
        excellence_channels=32,
        log_every=50,
        weather_variants=2,
        acceptance_start="identity",
        excellence_iterations=1000,
        excellence_lr_start=1e-3,
    ),
    "tiny": TrainingProfile(
        name="tiny",
        iterations=60,
        batch_size=4,
        patch_size=32,
        lr_start=2e-3,
        lr_end=1e-5,
        acceptance_features=(32, 16),
        excellence_blocks=2,
        excellence_channels=16,
        log_every=10,
        weather_variants=2,
        prefetch=2,
    ),
}
"""Profiles by name: ``paper`` (the paper's recipe), ``demo`` (CPU, ~9 s a task), ``tiny``."""


def get_profile(name: str) -> TrainingProfile:
    """Look a profile up by name.

    Raises:
        ParameterError: for an unknown name, with the closest names.
    """
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        hint = did_you_mean(str(name), PROFILES)
        raise ParameterError(f"unknown training profile {name!r}; {hint}") from None


def resolve_profile(profile: str | TrainingProfile) -> TrainingProfile:
    """A profile given by name or as an object (callers may build their own)."""
    if isinstance(profile, TrainingProfile):
        return profile
    return get_profile(profile)
