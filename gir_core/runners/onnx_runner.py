"""ONNX models through onnxruntime: static checks first, then a session (CUDA when asked/present).

The static checks (:mod:`gir_core.runners.onnx_static`) refuse what the model contract excludes
before any kernel runs: external data files and custom operator domains, wherever they hide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ContractError
from gir_core.runners.base import ModelInfo
from gir_core.runners.device import check_onnx_placement, onnx_providers
from gir_core.runners.onnx_static import static_checks


class OnnxRunner:
    """One onnxruntime session with the contract's single input and output."""

    def __init__(self, data: bytes, *, threads: int, device: str, gpu_memory_mb: int = 0) -> None:
        import onnxruntime as ort

        model = static_checks(data)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        providers = onnx_providers(
            device, ort.get_available_providers(), gpu_memory_mb=gpu_memory_mb
        )
        try:
            self.session = ort.InferenceSession(data, sess_options=options, providers=providers)
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ContractError(
                f"onnxruntime cannot load the model: {_first_line(error)}"
            ) from None
        active = self.session.get_providers()
        self.info = self._describe(model, check_onnx_placement(providers, active), active[0])

    def _describe(self, model: Any, device: str, provider: str) -> ModelInfo:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ContractError(f"the model has {len(inputs)} inputs; the contract needs exactly 1")
        shape = list(inputs[0].shape)
        if len(shape) != 4:
            raise ContractError(f"input has rank {len(shape)}, expected 4 ([1, 3, H, W])")
        if isinstance(shape[1], int) and shape[1] != 3:
            raise ContractError(f"input has {shape[1]} channels, expected 3")
        self.input_name = inputs[0].name
        self.half = inputs[0].type == "tensor(float16)"
        if inputs[0].type not in ("tensor(float)", "tensor(float16)"):
            raise ContractError(f"input type is {inputs[0].type}, expected float32 or float16")
        fixed = (shape[2], shape[3]) if all(isinstance(s, int) for s in shape[2:]) else None
        params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        return ModelInfo("onnx", params, fixed, self.half, device, provider)

    def forward(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """Run one N×3×H×W batch; the output is returned as float32."""
        feed = batch.astype(np.float16) if self.half else batch
        output = self.session.run(None, {self.input_name: feed})[0]
        return np.asarray(output).astype(np.float32, copy=False)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__
