"""The scoring loop, end to end through the real sandbox, on a tiny demo benchmark."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gir_core.convention import LEGACY
from gir_core.demo import write_demo_images
from gir_core.errors import ContractError, ParameterError
from gir_core.images import centre_crop, load_image, quantize, to_uint8
from gir_core.metrics import niqe, psnr, ssim
from gir_core.scoring import (
    Benchmark,
    BenchmarkTask,
    RealWorldResult,
    RealWorldSet,
    TaskResult,
    score,
)
from gir_core.tasks import Task

TASKS = ("noise", "blur + compression", "haze + resize")


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    root = tmp_path_factory.mktemp("bench")
    gt = write_demo_images(root / "gt", max_side=48)[:2]
    real = write_demo_images(root / "real", max_side=128)[2:4]
    tasks = tuple(
        BenchmarkTask(str(i), Task.parse(text), "representative" if i < 3 else "hidden")
        for i, text in enumerate(TASKS, start=1)
    )
    return Benchmark(
        gt_images=tuple(gt),
        tasks=tasks,
        seed=7,
        cache_dir=root / "cache",
        real_world=(RealWorldSet("old photos", tuple(real), "old photo"),),
    )


def _expected(benchmark: Benchmark, key: str, model: str) -> tuple[list[float], list[float]]:
    item = next(t for t in benchmark.tasks if t.key == key)
    psnrs, ssims = [], []
    for index, path in enumerate(benchmark.gt_images):
        gt = load_image(path)
        degraded = item.task.apply(gt, benchmark.seed, image_index=index)
        output = degraded if model == "identity" else quantize(1.0 - degraded)
        # The benchmark's convention is the authors' by default: 4 px cropped from every side.
        assert benchmark.convention.crop_border == 4
        psnrs.append(float(psnr(output, gt, crop_border=4)))
        ssims.append(float(ssim(output, gt, crop_border=4)))
    return psnrs, ssims


@pytest.mark.parametrize("model", ["identity", "invert"])
def test_scores_equal_metrics_computed_independently(
    models: dict[str, Path], benchmark: Benchmark, model: str
) -> None:
    results = list(score(models[f"{model}_onnx"], benchmark, synthesis_workers=1))
    tasks = [r for r in results if not isinstance(r, RealWorldResult)]
    assert [r.key for r in tasks] == ["1", "2", "3"]
    assert [r.kind for r in tasks] == ["representative", "representative", "hidden"]
    assert [r.order for r in tasks] == [1, 2, 2]
    for result in tasks:
        psnrs, ssims = _expected(benchmark, result.key, model)
        assert list(result.psnr) == psnrs
        assert list(result.ssim) == ssims
        assert result.mean_psnr == pytest.approx(sum(psnrs) / 2, abs=1e-12)
        assert result.seconds >= 0
    real = [r for r in results if isinstance(r, RealWorldResult)]
    assert len(real) == 1 and real[0].name == "old photos" and real[0].kind == "old photo"
    if model == "identity":
        expected = [
            float(niqe(load_image(p, convert_grey=True))) for p in benchmark.real_world[0].images
        ]
        assert list(real[0].niqe) == expected


def test_legacy_convention_and_real_world_max_side(
    models: dict[str, Path], benchmark: Benchmark
) -> None:
    """A crop-0 version scores pyiqa's values; a real-world max side shrinks inputs before the
    model, so NIQE sees the output at the size the model produced for the shrunk input."""
    bench = replace(
        benchmark, convention=LEGACY, real_world_max_side=100, tasks=benchmark.tasks[:1]
    )
    results = list(score(models["identity_onnx"], bench, synthesis_workers=1))
    task = next(r for r in results if not isinstance(r, RealWorldResult))
    gt = load_image(bench.gt_images[0])
    degraded = bench.tasks[0].task.apply(gt, bench.seed, image_index=0)
    assert task.psnr[0] == float(psnr(degraded, gt))
    assert task.psnr[0] != float(psnr(degraded, gt, crop_border=4))
    real = next(r for r in results if isinstance(r, RealWorldResult))
    small = [load_image(p, max_side=100, convert_grey=True) for p in bench.real_world[0].images]
    assert max(small[0].shape[:2]) == 100
    assert list(real.niqe) == [float(niqe(image)) for image in small]


def test_resume_skips_finished_tasks_and_gives_the_same_values(
    models: dict[str, Path], benchmark: Benchmark
) -> None:
    full = {
        r.key: r
        for r in score(models["invert_onnx"], benchmark)
        if not isinstance(r, RealWorldResult)
    }
    seen: list[tuple[int, int, str]] = []
    rest = list(
        score(
            models["invert_onnx"],
            benchmark,
            skip={"1", "old photos"},
            progress=lambda done, total, key: seen.append((done, total, key)),
        )
    )
    assert [r.key for r in rest if not isinstance(r, RealWorldResult)] == ["2", "3"]
    assert not any(isinstance(r, RealWorldResult) for r in rest)
    for result in rest:
        assert not isinstance(result, RealWorldResult)
        before = full[result.key]
        assert (result.psnr, result.ssim, result.order) == (before.psnr, before.ssim, before.order)
    assert seen == [(1, 2, "2"), (2, 2, "3")]


def test_nan_mid_scoring_names_the_task_not_its_spec(
    models: dict[str, Path], benchmark: Benchmark
) -> None:
    with pytest.raises(ContractError) as caught:
        list(score(models["nan_output"], benchmark))
    message = str(caught.value)
    assert "output contains NaN" in message and "(task 1)" in message
    assert "noise" not in message


def test_benchmark_is_validated(benchmark: Benchmark) -> None:
    task = benchmark.tasks[0]
    with pytest.raises(ParameterError, match="unique"):
        Benchmark(benchmark.gt_images, (task, task), 0, benchmark.cache_dir)
    with pytest.raises(ParameterError, match="at least one"):
        Benchmark((), (task,), 0, benchmark.cache_dir)


def test_output_identical_to_input_means_psnr_of_degraded(
    models: dict[str, Path], benchmark: Benchmark
) -> None:
    # Sanity of the whole chain: identity output → PSNR of the degraded input itself, which
    # for σ=20 noise is about 20·log10(255/20) ≈ 22 dB.
    result = next(iter(score(models["identity_onnx"], benchmark)))
    assert not isinstance(result, RealWorldResult)
    assert 21.0 < result.mean_psnr < 23.5
    assert np.isfinite(result.mean_ssim) and 0 < result.mean_ssim < 1


def _crop(image: np.ndarray, side: int) -> np.ndarray:
    return centre_crop(to_uint8(image), side, side)


@pytest.mark.parametrize("side", [16, 160])
def test_representative_tasks_carry_an_example_of_the_first_image(
    models: dict[str, Path], benchmark: Benchmark, side: int
) -> None:
    # 160 is larger than the 48 px test images: the example is then the whole image.
    bench = replace(benchmark, example_crop=side)
    results = [r for r in score(models["identity_onnx"], bench) if isinstance(r, TaskResult)]
    gt = load_image(bench.gt_images[0])
    expected_side = min(side, 48)
    for result in results[:2]:
        example = result.example
        assert example is not None, result.key
        item = next(t for t in bench.tasks if t.key == result.key)
        degraded = item.task.apply(gt, bench.seed, image_index=0)
        assert example.input.shape == (expected_side, expected_side, 3)
        assert example.input.dtype == example.output.dtype == example.gt.dtype == np.uint8
        np.testing.assert_array_equal(example.input, _crop(degraded, side))
        np.testing.assert_array_equal(example.output, example.input)  # the identity
        np.testing.assert_array_equal(example.gt, _crop(gt, side))
    assert results[2].kind == "hidden" and results[2].example is None


def test_the_example_output_is_the_quantised_model_output(
    models: dict[str, Path], benchmark: Benchmark
) -> None:
    result = next(iter(score(models["invert_onnx"], benchmark)))
    assert isinstance(result, TaskResult) and result.example is not None
    expected = 255 - result.example.input.astype(np.int16)
    np.testing.assert_array_equal(result.example.output, expected)
    assert not np.array_equal(result.example.gt, result.example.input)  # noise was added


def test_examples_can_be_switched_off(models: dict[str, Path], benchmark: Benchmark) -> None:
    bench = replace(benchmark, example_crop=None, real_world=())
    results = list(score(models["identity_onnx"], bench))
    assert len(results) == 3
    assert all(isinstance(r, TaskResult) and r.example is None for r in results)
    with pytest.raises(ParameterError, match="example_crop"):
        replace(benchmark, example_crop=0)
