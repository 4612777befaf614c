"""Where and how line networks train: device, mixed precision, cudnn, pinned memory, producers.

One frozen :class:`TrainingOptions` carries what the profile does not decide (the profile says
*what* is trained, these say *on what hardware*; none of them changes a CPU result). They are
read from the environment by :func:`options_from_env` for the worker and the CLI:

- ``GIR_LINES_DEVICE``: ``auto`` (CUDA when torch sees it), ``cpu``, ``cuda`` or ``cuda:N``;
  asking for CUDA where torch sees none is refused with a sentence, never silently run on the CPU.
- ``GIR_LINES_AMP``: ``none``, ``bf16`` or ``fp16``: autocast for the excellence net (the
  acceptance net is too small to gain from it). ``fp16`` needs CUDA (it uses a gradient scaler);
  ``bf16`` also runs on the CPU, which is how the tests exercise the path.
- ``GIR_LINES_PER_GPU``: how many line trainings one worker runs at once on one GPU (acceptance
  nets use a small fraction of a GPU); ≥ 1.
- ``GIR_LINES_PRODUCERS``: data producer processes per training (see
  :func:`~gir_core.baselines.producers.default_producers`).

On CUDA, cudnn benchmark mode and pinned host memory are on unless switched off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import torch

from gir_core.baselines.producers import default_producers, parse_producers
from gir_core.errors import ParameterError

Amp = Literal["none", "bf16", "fp16"]
AMPS: tuple[Amp, ...] = ("none", "bf16", "fp16")


@dataclass(frozen=True)
class TrainingOptions:
    """Hardware choices for one line training.

    Attributes:
        device: the torch device.
        amp: autocast dtype for the excellence net (``none`` = full float32).
        cudnn_benchmark: let cudnn pick the fastest kernels for the fixed patch size (CUDA only).
        pin_memory: copy batches through page-locked memory (CUDA only).
        producers: data producer processes (0 = a thread).
        per_gpu: concurrent line trainings a worker runs on one GPU.
        checkpoint_every: steps between checkpoints (0 = none).
    """

    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    amp: Amp = "none"
    cudnn_benchmark: bool = False
    pin_memory: bool = False
    producers: int = 0
    per_gpu: int = 1
    checkpoint_every: int = 0

    def autocast_dtype(self, kind: str) -> torch.dtype | None:
        """The autocast dtype for a line kind (None: no autocast)."""
        if kind != "excellence" or self.amp == "none":
            return None
        return torch.bfloat16 if self.amp == "bf16" else torch.float16


def select_device(text: str, *, cuda_available: bool | None = None) -> torch.device:
    """A torch device from ``auto``/``cpu``/``cuda``/``cuda:N``, refusing absent CUDA.

    Example:
        >>> select_device("auto", cuda_available=False)
        device(type='cpu')
    """
    has_cuda = torch.cuda.is_available() if cuda_available is None else cuda_available
    choice = text.strip().lower()
    if choice == "auto":
        return torch.device("cuda" if has_cuda else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        if not has_cuda:
            raise ParameterError(
                f"line training was asked to run on {choice!r}, but torch sees no CUDA device "
                "(a CPU-only torch build, or no GPU visible); set GIR_LINES_DEVICE=cpu or auto"
            )
        return torch.device(choice)
    raise ParameterError(f"unknown device {text!r} for line training; use auto, cpu or cuda[:N]")


def parse_amp(text: str, device: torch.device) -> Amp:
    """An autocast choice, refusing fp16 off CUDA (its gradient scaler is CUDA's)."""
    choice = text.strip().lower()
    for amp in AMPS:
        if choice == amp:
            if amp == "fp16" and device.type != "cuda":
                raise ParameterError(
                    "GIR_LINES_AMP=fp16 needs a CUDA device; use bf16 or none on the CPU"
                )
            return amp
    raise ParameterError(f"GIR_LINES_AMP must be one of none, bf16, fp16; got {text!r}")


def _positive(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ParameterError(f"{name} must be an integer ≥ 1, got {text!r}")
    return value


def options_from_env(
    env: Mapping[str, str] | None = None, *, cuda_available: bool | None = None
) -> TrainingOptions:
    """Options from ``GIR_LINES_*`` variables (see the module text); sentences for bad values."""
    values = os.environ if env is None else env
    device = select_device(values.get("GIR_LINES_DEVICE", "auto"), cuda_available=cuda_available)
    on_cuda = device.type == "cuda"
    producers = values.get("GIR_LINES_PRODUCERS", "").strip()
    checkpoint = values.get("GIR_LINES_CHECKPOINT_EVERY", "").strip()
    return TrainingOptions(
        device=device,
        amp=parse_amp(values.get("GIR_LINES_AMP", "bf16" if on_cuda else "none"), device),
        cudnn_benchmark=on_cuda and values.get("GIR_LINES_CUDNN_BENCHMARK", "1") != "0",
        pin_memory=on_cuda and values.get("GIR_LINES_PIN_MEMORY", "1") != "0",
        producers=parse_producers(producers) if producers else default_producers(),
        per_gpu=_positive("GIR_LINES_PER_GPU", values.get("GIR_LINES_PER_GPU", "1")),
        checkpoint_every=(_positive("GIR_LINES_CHECKPOINT_EVERY", checkpoint) if checkpoint else 0),
    )
