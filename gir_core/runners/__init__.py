"""Model runners: ONNX (onnxruntime) and TorchScript (torch), with padding and tiling.

These run *inside* the sandbox child (:mod:`gir_core.sandbox`); nothing else should load a
submitted model. ``load_runner`` picks the runner from the file's bytes; ``restore`` applies the
submitter's size multiple and tile size around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ParameterError
from gir_core.runners.base import ModelInfo, Runner
from gir_core.runners.formats import ModelFormat, sniff
from gir_core.runners.tiling import run_tiled, run_whole

__all__ = ["ModelInfo", "RunOptions", "Runner", "load_runner", "restore", "sniff"]


@dataclass(frozen=True)
class RunOptions:
    """How to feed the model: size multiple, tile size, overlap, device, threads, GPU memory cap.

    ``gpu_memory_mb`` caps the model's GPU memory (0: no cap); it only matters on a GPU.
    """

    size_multiple: int = 1
    tile: int | None = None
    overlap: int = 16
    device: str = "auto"
    threads: int = 1
    gpu_memory_mb: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.size_multiple <= 256:
            raise ParameterError(f"size multiple must lie in 1..256, got {self.size_multiple}")
        if self.tile is not None and not 16 <= self.tile <= 4096:
            raise ParameterError(f"tile size must lie in 16..4096, got {self.tile}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ParameterError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.gpu_memory_mb < 0:
            raise ParameterError(f"GPU memory cap must be ≥ 0 MiB, got {self.gpu_memory_mb}")


def load_runner(data: bytes, options: RunOptions, fmt: ModelFormat | None = None) -> Runner:
    """Load model bytes with the runner for their (sniffed) format."""
    kind = fmt or sniff(data)
    threads, device, cap = options.threads, options.device, options.gpu_memory_mb
    if kind == "onnx":
        from gir_core.runners.onnx_runner import OnnxRunner

        return OnnxRunner(data, threads=threads, device=device, gpu_memory_mb=cap)
    from gir_core.runners.torch_runner import TorchScriptRunner

    return TorchScriptRunner(data, threads=threads, device=device, gpu_memory_mb=cap)


def restore(runner: Runner, image: NDArray[np.float32], options: RunOptions) -> NDArray[np.float32]:
    """Run the model on one H×W×3 image; returns its raw H×W×3 float32 output (not clipped)."""
    chw = np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32)
    fixed = runner.info.fixed_size
    if fixed is not None:
        out = run_tiled(runner.forward, chw, fixed, overlap=min(options.overlap, min(fixed) // 4))
    elif options.tile is not None and max(chw.shape[1:]) > options.tile:
        tile = (options.tile, options.tile)
        out = run_tiled(
            runner.forward, chw, tile, overlap=options.overlap, multiple=options.size_multiple
        )
    else:
        out = run_whole(runner.forward, chw, options.size_multiple)
    return np.ascontiguousarray(out.transpose(1, 2, 0))
