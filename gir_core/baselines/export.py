"""ONNX export of a trained line network, in the model contract's layout (SPEC §3).

The file takes ``input`` ``[1, 3, H, W]`` float32 in [0, 1] with H and W dynamic and gives
``output`` of the same shape, so a line model runs through the same runner as a submission.
We use the TorchScript-based exporter (``dynamo=False``): it handles these plain conv nets,
needs no extra packages, and writes one self-contained file. Torch marks it deprecated; the
warning is silenced here, where that choice is made, instead of reaching every caller.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

OPSET = 17
_SAMPLE_SIDE = 32


def export_onnx(model: nn.Module, path: str | os.PathLike[str], *, opset: int = OPSET) -> Path:
    """Write ``model`` as a single ONNX file with dynamic H and W; return the path.

    The model is copied to the CPU in eval mode first, so the caller's module is left as it was.
    The file is written next to the target and renamed into place, so a reader never sees a
    half-written model; it is checked with ``onnx.checker`` before the rename.

    Example:
        >>> import tempfile
        >>> from gir_core.baselines.nets import AcceptanceNet
        >>> path = export_onnx(AcceptanceNet(), tempfile.mkdtemp() + "/acceptance.onnx")
        >>> path.name, path.stat().st_size > 0
        ('acceptance.onnx', True)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    net = copy.deepcopy(model).cpu().eval()
    sample = torch.zeros(1, 3, _SAMPLE_SIDE, _SAMPLE_SIDE)
    dynamic = {2: "h", 3: "w"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # Reflection padding reverses its pad list with a Slice the folder cannot fold; the
            # graph is still correct (the tests compare onnxruntime against torch).
            warnings.filterwarnings("ignore", "Constant folding", UserWarning)
            torch.onnx.export(
                net,
                (sample,),
                str(partial),
                dynamo=False,
                opset_version=opset,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": dynamic, "output": dynamic},
            )
        onnx.checker.check_model(str(partial))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
