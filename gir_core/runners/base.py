"""What every runner reports about its model, and the runner protocol the child uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ModelInfo:
    """Format, parameter count, fixed input size (if any), float16-ness, device and provider.

    ``device`` is where the model really runs (checked, not requested); ``provider`` names the
    runtime that ran it (e.g. ``CUDAExecutionProvider``), for ``gir check`` and the worker log.
    """

    format: str
    parameters: int
    fixed_size: tuple[int, int] | None
    half: bool
    device: str
    provider: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (the child sends it to the parent)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelInfo:
        """Inverse of :meth:`to_json`."""
        fixed = data.get("fixed_size")
        return cls(
            format=str(data["format"]),
            parameters=int(data["parameters"]),
            fixed_size=(int(fixed[0]), int(fixed[1])) if fixed else None,
            half=bool(data["half"]),
            device=str(data["device"]),
            provider=str(data.get("provider", "")),
        )


class Runner(Protocol):
    """A loaded model: ``info`` and ``forward`` on N×3×H×W float32 batches."""

    info: ModelInfo

    def forward(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run the model on one batch."""
        ...
