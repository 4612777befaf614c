"""Where a model runs, with proof that it ran there, and its GPU memory cap.

Asking for ``cuda`` is a promise, not a wish: a GPU worker whose model silently falls back to
the CPU is a slow success nobody notices until the queue backs up, so every runner checks where
its model actually landed and refuses a fallback with a sentence. ``auto`` takes the GPU when
one is usable and says which it took. The per-model GPU memory cap
(``GIR_SANDBOX_GPU_MEMORY_MB``) goes to each runtime in its own terms: torch's per-process
memory fraction, onnxruntime's ``gpu_mem_limit`` with an arena that grows only as requested. A
model that exceeds it hits the runtime's out-of-memory error, which the sandbox reports as a
:class:`~gir_core.errors.SandboxLimitError` (see :mod:`gir_core.sandbox.errors_map`).

Example:
    >>> onnx_providers("cpu", ["CUDAExecutionProvider", "CPUExecutionProvider"], gpu_memory_mb=0)
    ['CPUExecutionProvider']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gir_core.errors import DeviceUnavailableError

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"


def resolve_torch_device(requested: str, *, cuda_available: bool) -> str:
    """``cpu`` or ``cuda`` for a TorchScript model; ``cuda`` without a GPU is refused.

    Example:
        >>> resolve_torch_device("auto", cuda_available=False)
        'cpu'
    """
    if requested == "cpu":
        return "cpu"
    if cuda_available:
        return "cuda"
    if requested == "cuda":
        raise DeviceUnavailableError(
            "device cuda was asked for, but torch sees no CUDA GPU here (torch.cuda.is_available()"
            " is False): install the CUDA build of torch (the [gpu] extra) and check the driver, "
            "or use --device cpu"
        )
    return "cpu"


def onnx_providers(
    requested: str, available: Sequence[str], *, gpu_memory_mb: int, device_id: int = 0
) -> list[Any]:
    """The execution providers to ask onnxruntime for, CUDA first when it is to be used.

    Raises :class:`DeviceUnavailableError` when ``cuda`` is asked for and onnxruntime has no
    CUDA provider (the CPU-only ``onnxruntime`` wheel is installed instead of ``onnxruntime-gpu``).
    """
    if requested == "cpu" or (requested == "auto" and CUDA_PROVIDER not in available):
        return [CPU_PROVIDER]
    if CUDA_PROVIDER not in available:
        raise DeviceUnavailableError(
            "device cuda was asked for, but onnxruntime offers no CUDA execution provider here "
            f"(available: {', '.join(available) or 'none'}): install onnxruntime-gpu (the [gpu] "
            "extra) or use --device cpu"
        )
    options: dict[str, str] = {
        "device_id": str(device_id),
        # Grow the arena only by what is asked for, so the cap is a cap on the model's own use.
        "arena_extend_strategy": "kSameAsRequested",
    }
    if gpu_memory_mb > 0:
        options["gpu_mem_limit"] = str(gpu_memory_mb << 20)
    return [(CUDA_PROVIDER, options), CPU_PROVIDER]


def check_onnx_placement(providers: Sequence[Any], active: Sequence[str]) -> str:
    """The device an ONNX session really runs on; a CUDA request that fell back is refused.

    onnxruntime drops the CUDA provider with only a warning when its CUDA or cuDNN libraries do
    not load, and the session then runs entirely on the CPU.
    """
    wanted_cuda = any(_name(p) == CUDA_PROVIDER for p in providers)
    if not wanted_cuda:
        return "cpu"
    if not active or active[0] != CUDA_PROVIDER:
        raise DeviceUnavailableError(
            "onnxruntime fell back to the CPU although CUDA was asked for (active providers: "
            f"{', '.join(active) or 'none'}): its CUDA or cuDNN libraries did not load"
        )
    return "cuda"


def torch_memory_fraction(gpu_memory_mb: int, total_bytes: int) -> float | None:
    """The fraction of a GPU's memory that ``gpu_memory_mb`` is, for torch's allocator cap.

    Example:
        >>> torch_memory_fraction(1024, 4 << 30)
        0.25
        >>> torch_memory_fraction(0, 4 << 30) is None
        True
    """
    if gpu_memory_mb <= 0 or total_bytes <= 0:
        return None
    return min(1.0, (gpu_memory_mb << 20) / total_bytes)


def _name(provider: Any) -> str:
    return str(provider[0] if isinstance(provider, tuple) else provider)


__all__ = [
    "CPU_PROVIDER",
    "CUDA_PROVIDER",
    "DeviceUnavailableError",
    "check_onnx_placement",
    "onnx_providers",
    "resolve_torch_device",
    "torch_memory_fraction",
]
