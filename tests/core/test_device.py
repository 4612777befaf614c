"""Device selection, GPU memory caps and CUDA refusals: every part a CPU machine can see.

The GPU itself is exercised by ``tests/gpu`` (marker ``gpu``) on a machine that has one; here the
decisions are checked: which providers and options reach onnxruntime, which fraction reaches
torch, and that asking for CUDA where there is none is refused with a sentence, in the runner,
through the sandbox and on the command line.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from gir_core.cli import app
from gir_core.errors import DeviceUnavailableError, ParameterError
from gir_core.runners import RunOptions, load_runner
from gir_core.runners.base import ModelInfo
from gir_core.runners.device import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    check_onnx_placement,
    onnx_providers,
    resolve_torch_device,
    torch_memory_fraction,
)
from gir_core.sandbox import SandboxedModel
from gir_core.sandbox.errors_map import classify, to_exception

NO_GPU = not torch.cuda.is_available()
BOTH = [CUDA_PROVIDER, CPU_PROVIDER]


def test_onnx_providers_put_cuda_first_with_the_memory_cap() -> None:
    providers = onnx_providers("cuda", BOTH, gpu_memory_mb=1536)
    assert providers[1] == CPU_PROVIDER
    name, options = providers[0]
    assert name == CUDA_PROVIDER
    assert options["gpu_mem_limit"] == str(1536 * 1024 * 1024)
    assert options["arena_extend_strategy"] == "kSameAsRequested"
    assert "gpu_mem_limit" not in onnx_providers("auto", BOTH, gpu_memory_mb=0)[0][1]


def test_onnx_auto_and_cpu_choices() -> None:
    assert onnx_providers("auto", [CPU_PROVIDER], gpu_memory_mb=512) == [CPU_PROVIDER]
    assert onnx_providers("cpu", BOTH, gpu_memory_mb=512) == [CPU_PROVIDER]
    with pytest.raises(DeviceUnavailableError, match="install onnxruntime-gpu"):
        onnx_providers("cuda", [CPU_PROVIDER], gpu_memory_mb=0)


def test_an_onnx_session_that_fell_back_to_the_cpu_is_refused() -> None:
    asked = onnx_providers("cuda", BOTH, gpu_memory_mb=0)
    assert check_onnx_placement(asked, [CUDA_PROVIDER, CPU_PROVIDER]) == "cuda"
    with pytest.raises(DeviceUnavailableError, match="fell back to the CPU"):
        check_onnx_placement(asked, [CPU_PROVIDER])
    assert check_onnx_placement([CPU_PROVIDER], [CPU_PROVIDER]) == "cpu"


def test_torch_device_and_memory_fraction() -> None:
    assert resolve_torch_device("auto", cuda_available=True) == "cuda"
    assert resolve_torch_device("auto", cuda_available=False) == "cpu"
    assert resolve_torch_device("cpu", cuda_available=True) == "cpu"
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU"):
        resolve_torch_device("cuda", cuda_available=False)
    assert torch_memory_fraction(8192, 16 << 30) == 0.5
    assert torch_memory_fraction(64 << 10, 16 << 30) == 1.0  # a cap above the card is the card
    assert torch_memory_fraction(0, 16 << 30) is None
    with pytest.raises(ParameterError, match="GPU memory cap"):
        RunOptions(gpu_memory_mb=-1)


def test_the_device_error_crosses_the_sandbox_protocol_with_its_own_code() -> None:
    code, message, _reason = classify(DeviceUnavailableError("no GPU here"))
    assert (code, message) == ("device", "no GPU here")
    assert isinstance(to_exception(code, message), DeviceUnavailableError)


def test_runners_report_where_they_ran_and_which_runtime(models: dict[str, Path]) -> None:
    onnx = load_runner(models["invert_onnx"].read_bytes(), RunOptions(device="auto"))
    expected = "cuda" if CUDA_PROVIDER in ort.get_available_providers() else "cpu"
    assert (onnx.info.device, onnx.info.provider) == (
        expected,
        CUDA_PROVIDER if expected == "cuda" else CPU_PROVIDER,
    )
    script = load_runner(models["invert_ts"].read_bytes(), RunOptions(device="cpu"))
    assert script.info.device == "cpu"
    assert script.info.provider == f"torch {torch.__version__} on cpu"
    assert ModelInfo.from_json({**script.info.to_json(), "provider": "x"}).provider == "x"
    legacy = {k: v for k, v in script.info.to_json().items() if k != "provider"}
    assert ModelInfo.from_json(legacy).provider == ""


@pytest.mark.skipif(not NO_GPU, reason="checks the refusal on a machine without a GPU")
@pytest.mark.parametrize("name", ["invert_ts", "invert_onnx"])
def test_cuda_without_a_gpu_is_refused_inside_the_sandbox(
    models: dict[str, Path], name: str
) -> None:
    if name == "invert_onnx" and CUDA_PROVIDER in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed: its refusal comes from the placement check")
    with pytest.raises(DeviceUnavailableError, match="cuda was asked for"):
        SandboxedModel(models[name], RunOptions(device="cuda")).start()


@pytest.mark.skipif(not NO_GPU, reason="checks the refusal on a machine without a GPU")
def test_gir_check_device_cuda_without_a_gpu_is_exit_2_with_a_sentence(
    models: dict[str, Path],
) -> None:
    result = CliRunner().invoke(app, ["check", str(models["invert_ts"]), "--device", "cuda"])
    assert result.exit_code == 2, result.output
    assert "cuda was asked for" in result.output
    assert "rejected" not in result.output
