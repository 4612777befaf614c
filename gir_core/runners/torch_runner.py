"""TorchScript models through ``torch.jit.load`` (CUDA when asked/present, float16 accepted)."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ContractError, ModelFormatError
from gir_core.runners.base import ModelInfo
from gir_core.runners.device import resolve_torch_device, torch_memory_fraction


class TorchScriptRunner:
    """One TorchScript module in eval mode under ``torch.inference_mode``."""

    def __init__(self, data: bytes, *, threads: int, device: str, gpu_memory_mb: int = 0) -> None:
        import torch

        torch.set_num_threads(threads)
        target = resolve_torch_device(device, cuda_available=torch.cuda.is_available())
        if target == "cuda":
            _cap_gpu_memory(gpu_memory_mb)
        try:
            module = torch.jit.load(io.BytesIO(data), map_location=target)  # type: ignore[no-untyped-call]
        except RuntimeError as error:
            lines = str(error).strip().splitlines() or ["unknown error"]
            raise ModelFormatError(
                f"torch.jit.load cannot read the model: {lines[0][:300]}"
            ) from None
        module.eval()
        self.module = module
        self.device = torch.device(target)
        parameters = list(module.parameters())
        self.dtype = parameters[0].dtype if parameters else torch.float32
        if self.dtype not in (torch.float32, torch.float16):
            raise ContractError(f"model weights are {self.dtype}, expected float32 or float16")
        count = sum(int(p.numel()) for p in parameters)
        provider = f"torch {torch.__version__} on {target}"
        half = self.dtype == torch.float16
        self.info = ModelInfo("torchscript", count, None, half, target, provider)

    def forward(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run one N×3×H×W batch; the output is returned as float32 on the CPU."""
        import torch

        with torch.inference_mode():
            tensor = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device, self.dtype)
            output = self.module(tensor)
            if not isinstance(output, torch.Tensor):
                raise ContractError(
                    f"the model returned {type(output).__name__}, expected one tensor",
                    reason="output_type",
                )
            return output.detach().to("cpu", torch.float32).numpy()


def _cap_gpu_memory(gpu_memory_mb: int) -> None:
    """Cap torch's caching allocator for this process before the model allocates anything.

    Beyond the cap torch raises its out-of-memory error, which the sandbox reports as a
    memory-limit failure; the process ends with the model, so the GPU is clean for the next.
    """
    import torch

    total = torch.cuda.get_device_properties(0).total_memory
    fraction = torch_memory_fraction(gpu_memory_mb, total)
    if fraction is not None:
        torch.cuda.set_per_process_memory_fraction(fraction, 0)
