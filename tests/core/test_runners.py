"""Runners, padding and tiling, exercised in-process (the sandbox tests cover isolation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gir_core.contract import probe_image
from gir_core.errors import ContractError, ModelFormatError, ParameterError
from gir_core.runners import RunOptions, load_runner, restore, sniff
from gir_core.runners.tiling import check_output_shape, pad_to_multiple, run_tiled, run_whole


def _double(batch: np.ndarray) -> np.ndarray:
    return (batch * 2.0).astype(np.float32)


def test_pad_to_multiple_reflects_without_repeating_the_edge() -> None:
    chw = np.arange(3 * 5 * 6, dtype=np.float32).reshape(3, 5, 6)
    padded = pad_to_multiple(chw, 4)
    assert padded.shape == (3, 8, 8)
    assert np.array_equal(padded[:, :5, :6], chw)
    assert np.array_equal(padded[:, 5, :6], chw[:, 3])  # reflect: row 4 mirrored is row 3
    assert pad_to_multiple(chw, 1) is chw


def test_run_whole_pads_and_crops_back() -> None:
    seen: list[tuple[int, ...]] = []

    def forward(batch: np.ndarray) -> np.ndarray:
        seen.append(batch.shape)
        return _double(batch)

    chw = probe_image(50, 70).transpose(2, 0, 1).copy()
    out = run_whole(forward, chw, 16)
    assert seen == [(1, 3, 64, 80)]
    assert np.array_equal(out, chw * 2)


@pytest.mark.parametrize(("height", "width"), [(50, 70), (32, 32), (20, 90), (129, 64)])
def test_tiles_blend_back_to_the_whole_image(height: int, width: int) -> None:
    chw = probe_image(height, width).transpose(2, 0, 1).copy()
    sizes: set[tuple[int, ...]] = set()

    def forward(batch: np.ndarray) -> np.ndarray:
        sizes.add(batch.shape)
        return _double(batch)

    out = run_tiled(forward, chw, (32, 32), overlap=8)
    assert sizes == {(1, 3, 32, 32)}  # every tile exactly the fixed size
    assert out.shape == chw.shape
    assert np.allclose(out, chw * 2, atol=1e-6)


def test_tiling_arguments_are_checked() -> None:
    chw = np.zeros((3, 64, 64), np.float32)
    with pytest.raises(ParameterError, match="overlap 16 is too large"):
        run_tiled(_double, chw, (32, 32), overlap=16)
    with pytest.raises(ParameterError, match="not a multiple of 8"):
        run_tiled(_double, chw, (36, 36), overlap=4, multiple=8)


@pytest.mark.parametrize(
    ("shape", "sentence"),
    [
        ((1, 3, 8), "output has rank 3"),
        ((1, 1, 8, 8), "output has 1 channel, expected 3"),
        ((1, 4, 8, 8), "output has 4 channels, expected 3"),
        ((1, 3, 4, 4), "output is [1, 3, 4, 4] for a [1, 3, 8, 8] input"),
    ],
)
def test_output_shape_sentences(shape: tuple[int, ...], sentence: str) -> None:
    with pytest.raises(ContractError) as caught:
        check_output_shape(shape, (8, 8))
    assert sentence in str(caught.value)


def test_sniff_recognises_formats_from_bytes(models: dict[str, Path]) -> None:
    assert sniff(models["invert_onnx"].read_bytes()) == "onnx"
    assert sniff(models["invert_ts"].read_bytes()) == "torchscript"
    with pytest.raises(ModelFormatError, match="only 3 bytes"):
        sniff(b"abc")


def test_fixed_size_onnx_is_tiled_automatically(models: dict[str, Path]) -> None:
    runner = load_runner(models["fixed_onnx"].read_bytes(), RunOptions(device="cpu"))
    assert runner.info.fixed_size == (32, 32)
    image = probe_image(50, 70)
    assert np.allclose(restore(runner, image, RunOptions()), image, atol=1e-6)


def test_float16_torchscript_is_accepted_and_converted(models: dict[str, Path]) -> None:
    runner = load_runner(models["half_ts"].read_bytes(), RunOptions(device="cpu"))
    assert runner.info.half and runner.info.parameters == 1
    image = probe_image(24, 40)
    out = restore(runner, image, RunOptions())
    assert out.dtype == np.float32
    assert np.allclose(out, 1.0 - image, atol=2e-3)


def test_onnx_and_torchscript_agree(models: dict[str, Path]) -> None:
    image = probe_image(36, 52)
    outputs = [
        restore(load_runner(models[name].read_bytes(), RunOptions()), image, RunOptions())
        for name in ("invert_onnx", "invert_ts")
    ]
    assert np.array_equal(outputs[0], outputs[1])
    assert np.array_equal(outputs[0], 1.0 - image)


def test_run_options_are_validated() -> None:
    with pytest.raises(ParameterError, match="size multiple"):
        RunOptions(size_multiple=0)
    with pytest.raises(ParameterError, match="tile size"):
        RunOptions(tile=8)
    with pytest.raises(ParameterError, match="device"):
        RunOptions(device="tpu")
