"""Model files for runner and sandbox tests: good ones and hostile ones, built here, not shipped.

TorchScript modules are scripted from this file (TorchScript needs the source); ONNX graphs are
written with ``onnx.helper`` so no exporter is involved.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper


class Invert(torch.nn.Module):
    """Good model: y = 1 − x (exact, so results are checkable)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 - x


class HalfInvert(torch.nn.Module):
    """Good float16 model with one parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.one = torch.nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.one - x


class MemoryBomb(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hoard: list[torch.Tensor] = []
        for i in range(100000):
            hoard.append(torch.full([1 << 24], float(i)))
        total = torch.zeros(1)
        for block in hoard:
            total = total + block[-1]
        return x + total * 0.0


class EndlessLoop(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        while bool(x.sum() > -1.0):
            x = x + 0.0
        return x


class NanOutput(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan")


class WrongShape(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::2, ::2]


class OneChannel(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1]


class Scaled255(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 255.0


class FileReader(torch.nn.Module):
    """Tries to read a file outside its sandbox with aten::from_file."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        secret = torch.from_file(self.path, False, 4, dtype=torch.uint8)
        return x + secret.float().sum() * 0.0


def _script(module: torch.nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    return path


def _onnx_invert(domain: str = "") -> onnx.ModelProto:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    one = numpy_helper.from_array(np.ones((1,), np.float32), "one")
    node = helper.make_node("Sub", ["one", "input"], ["output"], domain=domain)
    graph = helper.make_graph([node], "invert", [x], [y], [one])
    opsets = [helper.make_opsetid("", 17)]
    if domain:
        opsets.append(helper.make_opsetid(domain, 1))
    return helper.make_model(graph, opset_imports=opsets, ir_version=8)


def _onnx_identity() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    node = helper.make_node("Identity", ["input"], ["output"])
    graph = helper.make_graph([node], "identity", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _onnx_fixed_conv() -> onnx.ModelProto:
    """A fixed 32×32 input, 3×3 box blur per channel: exercises automatic tiling."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 32, 32])
    weight = np.zeros((3, 1, 1, 1), np.float32) + 1.0
    w = numpy_helper.from_array(weight, "w")
    node = helper.make_node("Conv", ["input", "w"], ["output"], group=3)
    graph = helper.make_graph([node], "identity_conv", [x], [y], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _onnx_external() -> bytes:
    model = _onnx_invert()
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../../../etc/shadow"
    return model.SerializeToString()


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/code/__torch__.py", "def forward(self, x): return x\n")
        archive.writestr("model/data/0", b"\0" * (64 << 20))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test model by name, written once per session."""
    root = tmp_path_factory.mktemp("models")
    secret = root / "ground_truth_secret.bin"
    secret.write_bytes(b"GT!!" * 16)
    paths = {
        name: _script(module, root / f"{name}.pt")
        for name, module in {
            "invert_ts": Invert(),
            "memory_bomb": MemoryBomb(),
            "endless_loop": EndlessLoop(),
            "nan_output": NanOutput(),
            "wrong_shape": WrongShape(),
            "one_channel": OneChannel(),
            "scaled_255": Scaled255(),
            "file_reader": FileReader(str(secret)),
        }.items()
    }
    paths["half_ts"] = _script(HalfInvert().half(), root / "half_ts.pt")
    for name, proto in {
        "invert_onnx": _onnx_invert(),
        "identity_onnx": _onnx_identity(),
        "custom_domain": _onnx_invert("x"),
        "fixed_onnx": _onnx_fixed_conv(),
    }.items():
        paths[name] = root / f"{name}.onnx"
        paths[name].write_bytes(proto.SerializeToString())
    blobs = {
        "external_data.onnx": _onnx_external(),
        "zip_bomb.pt": _zip_bomb(),
        "truncated.pt": paths["invert_ts"].read_bytes()[:600],
        "truncated.onnx": paths["invert_onnx"].read_bytes()[:40],
        "checkpoint.pt": _checkpoint(),
        "not_a_model.bin": b"GIF89a this is a picture, not a model" * 4,
    }
    for name, blob in blobs.items():
        paths[name.replace(".", "_")] = root / name
        (root / name).write_bytes(blob)
    paths["secret"] = secret
    return paths


def _checkpoint() -> bytes:
    buffer = io.BytesIO()
    torch.save({"weight": torch.ones(2)}, buffer)
    return buffer.getvalue()
