"""Model contract validation (SPEC §3), run before any scoring and by ``gir check``.

The model runs in the sandbox on small probe images of a few sizes; each problem becomes one
specific sentence ("output has 1 channel, expected 3", "output contains NaN for a 64×64
input"), so a submitter knows what to fix before spending GPU time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ContractError
from gir_core.runners import ModelInfo, RunOptions
from gir_core.sandbox import SandboxedModel, SandboxLimits

PROBE_SIZES = ((64, 64), (80, 96), (120, 72))
RANGE_SLACK = 0.5  # outputs may overshoot [0, 1] a little before clipping; 0-255 may not


@dataclass(frozen=True)
class CheckReport:
    """What ``gir check`` prints: identity, I/O, cost estimate and the sandbox's protections."""

    sha256: str
    size_bytes: int
    info: ModelInfo
    seconds_per_megapixel: float
    probes: tuple[tuple[int, int], ...]
    protections: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def probe_image(height: int, width: int, seed: int = 0) -> NDArray[np.float32]:
    """A smooth, textured probe on the 1/255 grid (not noise: models may behave oddly on noise)."""
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    cols = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    rng = np.random.default_rng(seed)
    phases = rng.uniform(0, 2 * np.pi, 3)
    channels = [0.5 + 0.4 * np.sin(6 * rows + 4 * cols + phase) for phase in phases]
    image = np.stack(channels, axis=-1)
    return (np.round(image * 255) / 255).astype(np.float32)


def check_output(output: NDArray[np.float32], height: int, width: int) -> None:
    """Raise ContractError when an output is not finite or clearly not in [0, 1]."""
    what = f"a {width}×{height} input"
    if np.isnan(output).any():
        raise ContractError(f"output contains NaN for {what}", reason="not_finite")
    if np.isinf(output).any():
        raise ContractError(f"output contains infinite values for {what}", reason="not_finite")
    low, high = float(output.min()), float(output.max())
    if low < -RANGE_SLACK or high > 1 + RANGE_SLACK:
        hint = " (did the model scale to 0-255?)" if high > 2 else ""
        raise ContractError(
            f"output values span [{low:.3g}, {high:.3g}] for {what}; expected [0, 1]{hint}",
            reason="range",
        )


def run_probes(sandbox: SandboxedModel) -> float:
    """Run every probe size through a started sandbox, checking each output; s per megapixel.

    The estimate comes from the largest probe, after the smaller ones warmed the model up.
    """
    per_mp = 0.0
    for height, width in PROBE_SIZES:
        output, seconds = sandbox.run_timed(probe_image(height, width))
        check_output(output, height, width)
        per_mp = seconds / (height * width / 1e6)
    return per_mp


def check_model(
    model: Path,
    options: RunOptions | None = None,
    limits: SandboxLimits | None = None,
) -> CheckReport:
    """Load ``model`` in the sandbox, probe it, and report; raises ModelError with a sentence."""
    data = Path(model).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    sandbox = SandboxedModel(data, options, limits)
    try:
        info = sandbox.start()
        per_mp = run_probes(sandbox)
    finally:
        sandbox.close()
    return CheckReport(
        sha256=digest,
        size_bytes=len(data),
        info=info,
        seconds_per_megapixel=per_mp,
        probes=PROBE_SIZES,
        protections=sandbox.protections,
        missing=sandbox.missing,
    )
