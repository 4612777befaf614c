"""The scoring loop scores outputs in batches (#16): same values as one image at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gir_core import scoring
from gir_core.images import load_image, quantize
from gir_core.metrics import psnr, ssim
from gir_core.scoring import Benchmark, BenchmarkTask, RealWorldResult, score
from gir_core.tasks import Task

# Six GT images: four of one shape, one of another, then the first shape again.
SHAPES = [(40, 52)] * 4 + [(44, 36), (40, 52)]


def _write_gts(folder: Path) -> tuple[Path, ...]:
    folder.mkdir()
    rng = np.random.default_rng(5)
    paths = []
    for index, (height, width) in enumerate(SHAPES):
        path = folder / f"{index}.png"
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return tuple(paths)


def test_gt_groups_are_runs_of_equal_shapes_within_the_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _write_gts(tmp_path / "gt")
    gts, groups = scoring._load_gts(paths, None)
    assert [r for r, _ in groups] == [range(0, 4), range(4, 5), range(5, 6)]
    assert [stack.shape for _, stack in groups] == [(4, 40, 52, 3), (1, 44, 36, 3), (1, 40, 52, 3)]
    for index, path in enumerate(paths):  # the views are the images, held once
        np.testing.assert_array_equal(gts[index], load_image(path))
    assert gts[1].base is groups[0][1]
    monkeypatch.setattr(scoring, "METRIC_BATCH", 3)
    assert [r for r, _ in scoring._load_gts(paths, None)[1]] == [
        range(0, 3),
        range(3, 4),
        range(4, 5),
        range(5, 6),
    ]
    # Two 40×52 float32 images are 49,920 bytes: a budget just above allows two per batch.
    monkeypatch.setattr(scoring, "METRIC_BATCH_BYTES", 49_920)
    assert [len(r) for r, _ in scoring._load_gts(paths, None)[1]] == [2, 2, 1, 1]
    monkeypatch.setattr(scoring, "METRIC_BATCH_BYTES", 49_919)
    assert [len(r) for r, _ in scoring._load_gts(paths, None)[1]] == [1] * 6


def test_batched_scoring_equals_metrics_image_by_image(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    gt_paths = _write_gts(tmp_path / "gt")
    task = Task.parse("noise")
    benchmark = Benchmark(
        gt_images=gt_paths,
        tasks=(BenchmarkTask("1", task),),
        seed=3,
        cache_dir=tmp_path / "cache",
        example_crop=None,
    )
    (result,) = [
        r for r in score(models["invert_onnx"], benchmark) if not isinstance(r, RealWorldResult)
    ]
    expected_psnr, expected_ssim = [], []
    for index, path in enumerate(gt_paths):
        gt = load_image(path)
        output = quantize(1.0 - task.apply(gt, benchmark.seed, image_index=index))
        crop = benchmark.convention.crop_border  # the authors' 4 px by default
        expected_psnr.append(float(psnr(output, gt, crop_border=crop)))
        expected_ssim.append(float(ssim(output, gt, crop_border=crop)))
    assert list(result.psnr) == expected_psnr
    assert list(result.ssim) == expected_ssim
    assert len(set(result.psnr)) == len(SHAPES)  # six different images, six different values
