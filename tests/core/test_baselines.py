"""Tests of the baseline lines: nets, profiles, patch sampling, training, evaluation, ONNX export.

Everything trains with the ``tiny`` profile on small smooth synthetic images, so the whole module
runs in seconds on two cores while still checking numbers that a broken loop would get wrong.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from gir_core.baselines import (
    AcceptanceNet,
    BatchStream,
    LineResult,
    PatchSampler,
    TrainingProfile,
    conv_layer_count,
    export_onnx,
    get_profile,
    restore,
    train_line,
)
from gir_core.baselines.data import split_weather
from gir_core.errors import GirError, ParameterError
from gir_core.images import to_uint8
from gir_core.tasks import Task

DENOISE = "noise(sigma=30)"
TINY = get_profile("tiny")


def smooth_image(seed: int, height: int, width: int) -> np.ndarray:
    """A smooth random colour field: easy to denoise, so short training shows real progress."""
    rng = np.random.default_rng(seed)
    small = rng.random((max(2, height // 16), max(2, width // 16), 3)).astype(np.float32)
    big = np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC))
    image: np.ndarray = np.clip(big, 0.0, 1.0).astype(np.float32)
    return image


@pytest.fixture(scope="module")
def train_images() -> list[np.ndarray]:
    return [smooth_image(seed, 64, 64) for seed in range(4)]


@pytest.fixture(scope="module")
def test_images() -> list[np.ndarray]:
    return [smooth_image(100 + seed, 48, 64) for seed in range(2)]


@pytest.fixture(scope="module")
def excellence_line(
    train_images: list[np.ndarray],
    test_images: list[np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
) -> LineResult:
    """One denoising excellence line, trained once and shared by several tests."""
    profile = replace(TINY, iterations=80)
    path = tmp_path_factory.mktemp("onnx") / "excellence.onnx"
    return train_line(
        DENOISE,
        train_images,
        test_images,
        kind="excellence",
        profile=profile,
        seed=2,
        onnx_path=path,
        num_threads=1,
    )


def _psnr_reference(output: np.ndarray, truth: np.ndarray, crop: int = 4) -> float:
    """PSNR written out, with the authors' 4-px border crop (lines default to their convention)."""
    if crop:
        output, truth = output[crop:-crop, crop:-crop], truth[crop:-crop, crop:-crop]
    mse = float(np.mean((output.astype(np.float64) - truth.astype(np.float64)) ** 2))
    return 10.0 * math.log10(1.0 / (mse + 1e-8))


# --- networks --------------------------------------------------------------------------------


def test_acceptance_net_is_three_plain_conv_layers() -> None:
    net = AcceptanceNet()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert conv_layer_count(net) == 3
    assert [c.kernel_size for c in convs] == [(9, 9), (5, 5), (5, 5)]
    assert [c.out_channels for c in convs] == [64, 32, 3]


# --- profiles and argument checks ------------------------------------------------------------


def test_profiles_follow_the_paper_recipe() -> None:
    paper = get_profile("paper")
    assert (paper.batch_size, paper.patch_size, paper.iterations) == (8, 128, 500_000)
    assert (paper.lr_start, paper.lr_end, paper.betas) == (2e-4, 1e-7, (0.9, 0.999))
    assert paper.acceptance_features == (64, 32)
    assert get_profile("demo").patch_size % 4 == 0


def test_unknown_profile_suggests_the_closest_name() -> None:
    with pytest.raises(ParameterError, match="did you mean 'demo'"):
        get_profile("dmeo")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"patch_size": 30}, "multiple of 4"),
        ({"iterations": 0}, "iterations must be ≥ 1"),
        ({"lr_end": 1e-2}, "lr_end ≤ lr_start"),
    ],
)
def test_invalid_profile_is_refused(change: dict[str, int | float], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        replace(TINY, **change)  # type: ignore[arg-type]


def test_unknown_kind_is_refused(train_images: list[np.ndarray]) -> None:
    with pytest.raises(ParameterError, match="did you mean 'acceptance'"):
        train_line(
            DENOISE,
            train_images,
            [smooth_image(9, 32, 32)],
            kind="acceptence",  # type: ignore[arg-type]
            profile=TINY,
            seed=0,
        )


def test_negative_seed_is_refused(train_images: list[np.ndarray]) -> None:
    with pytest.raises(ParameterError, match="seed must be an integer ≥ 0, got -1"):
        train_line(
            DENOISE,
            train_images,
            [smooth_image(9, 32, 32)],
            kind="acceptance",
            profile=TINY,
            seed=-1,
        )


def test_training_on_a_test_image_is_refused(train_images: list[np.ndarray]) -> None:
    leaked = train_images[1].copy()  # same pixels, different object: caught by hashing
    with pytest.raises(ParameterError, match="training image 1 is identical to test image 0"):
        train_line(DENOISE, train_images, [leaked], kind="acceptance", profile=TINY, seed=0)
    task = Task.parse(DENOISE)
    pair = (task.apply(leaked, 0), leaked)
    with pytest.raises(ParameterError, match="identical to test image 0"):
        train_line(DENOISE, train_images, [pair], kind="acceptance", profile=TINY, seed=0)


def test_training_image_smaller_than_patches_is_refused() -> None:
    small = [smooth_image(0, 24, 64)]
    with pytest.raises(ParameterError, match="smaller than the 32×32 training patches"):
        train_line(
            DENOISE, small, [smooth_image(1, 32, 32)], kind="acceptance", profile=TINY, seed=0
        )


def test_mixed_test_items_are_refused(train_images: list[np.ndarray]) -> None:
    gt = smooth_image(5, 32, 32)
    with pytest.raises(ParameterError, match="test item 1 must be an image or a"):
        train_line(
            DENOISE,
            train_images,
            [(gt, gt), gt],  # type: ignore[arg-type]
            kind="acceptance",
            profile=TINY,
            seed=0,
        )


# --- patch sampling --------------------------------------------------------------------------


def test_patches_are_degraded_crops_with_fresh_noise(train_images: list[np.ndarray]) -> None:
    sampler = PatchSampler(
        Task.parse(DENOISE),
        train_images,
        patch_size=32,
        batch_size=3,
        entropy=(0,),
    )
    inputs, targets = sampler.batch(0)
    assert inputs.shape == targets.shape == (3, 3, 32, 32)
    assert inputs.dtype == targets.dtype == np.float32
    noise = (inputs - targets).std()
    assert 0.08 < noise < 0.13  # σ = 30/255 ≈ 0.118, a little less after clipping
    levels = inputs * 255.0
    assert np.allclose(levels, np.rint(levels), atol=1e-3)  # degraded patches on the 8-bit grid


def test_weather_first_tasks_cut_patches_from_whole_image_copies() -> None:
    image = smooth_image(7, 64, 64)
    hazy = Task.parse("haze").apply(image, 0)  # haze with the proxy depth has no randomness
    sampler = PatchSampler(
        Task.parse("haze"),
        [image],
        patch_size=32,
        batch_size=1,
        entropy=(3,),
        weather_variants=2,
    )
    windows = np.lib.stride_tricks.sliding_window_view(hazy, (32, 32, 3))[:, :, 0]
    for _ in range(4):
        degraded, clean = sampler.sample(np.random.default_rng(_))
        matches = np.all(windows == degraded, axis=(2, 3, 4))
        flipped = np.all(windows == degraded[:, ::-1], axis=(2, 3, 4))
        assert matches.any() or flipped.any()
        # haze on the patch alone would use the patch's own depth and differ
        assert not np.array_equal(Task.parse("haze").apply(clean, 0), degraded)


# --- data producers --------------------------------------------------------------------------


# Producer processes start from a forkserver, so what they run must pickle: builtins here.
_LETTERS = functools.partial(str.__getitem__, "abc")  # batch 3 raises IndexError


@pytest.mark.parametrize("producers", [0, 2])
def test_stream_yields_in_order_and_reraises_producer_errors(producers: int) -> None:
    seen: list[str] = []
    stream = BatchStream(_LETTERS, start=0, count=10, producers=producers, depth=2)
    with pytest.raises(GirError, match="batch 3 failed: IndexError"), stream as batches:
        seen.extend(batches)
    assert seen == ["a", "b", "c"]


def test_stream_threads_stop_when_the_consumer_leaves_early() -> None:
    before = {t.ident for t in threading.enumerate()}
    with BatchStream(lambda i: i, start=0, count=1000, producers=0, depth=2) as batches:
        next(batches)
    leftovers = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert leftovers == []


def test_stream_processes_stop_when_the_consumer_leaves_early() -> None:
    stream = BatchStream(int, start=0, count=1000, producers=2, depth=2)
    with stream as batches:
        assert next(batches) == 0
    assert stream.producers == 2
    assert [w.is_alive() for w in stream._workers] == [False, False]


def test_same_seed_gives_the_same_batches_whatever_the_producer_count(
    train_images: list[np.ndarray],
) -> None:
    sampler = PatchSampler(
        Task.parse("blur(sigma=2) + noise(sigma=20)"),
        train_images,
        patch_size=32,
        batch_size=2,
        entropy=(5, 99),
    )
    streams = []
    for producers in (0, 1, 3):
        with BatchStream(sampler.batch, start=2, count=6, producers=producers) as batches:
            streams.append([np.concatenate(b) for b in batches])
    for other in streams[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(streams[0], other, strict=True))
    assert np.array_equal(streams[0][0], np.concatenate(sampler.batch(2)))
    assert not np.array_equal(streams[0][0], streams[0][1])


# --- training and the line -------------------------------------------------------------------


def test_loss_decreases_below_doing_nothing(
    excellence_line: LineResult, train_images: list[np.ndarray]
) -> None:
    losses = excellence_line.record.losses
    assert len(losses) == 8  # every 10 of 80 steps
    assert losses[-1] < 0.7 * losses[0]
    sampler = PatchSampler(
        Task.parse(DENOISE),
        train_images,
        patch_size=32,
        batch_size=64,
        entropy=(11,),
    )
    inputs, targets = sampler.batch(0)
    identity_l1 = float(np.abs(inputs - targets).mean())  # ≈ 0.09 for σ = 30
    assert losses[-1] < 0.85 * identity_l1


def test_acceptance_loss_decreases(
    train_images: list[np.ndarray], test_images: list[np.ndarray]
) -> None:
    result = train_line(
        DENOISE,
        train_images,
        test_images,
        kind="acceptance",
        profile=TINY,
        seed=0,
        num_threads=1,
    )
    losses = result.record.losses
    assert losses[-1] < 0.4 * losses[0]
    # After 60 tiny steps a plain SRCNN need not beat the noisy input yet; it must be sane.
    assert math.isfinite(result.psnr) and result.psnr > 12.0


def test_line_psnr_beats_the_noisy_input(
    excellence_line: LineResult, test_images: list[np.ndarray]
) -> None:
    task = Task.parse(DENOISE)
    degraded = [task.apply(gt, 0, image_index=i) for i, gt in enumerate(test_images)]
    inputs = [_psnr_reference(d, gt) for d, gt in zip(degraded, test_images, strict=True)]
    # gir_core.metrics.psnr works in float32 at memory speed (#16): within 1e-5 dB of float64.
    assert excellence_line.input_psnr == pytest.approx(np.mean(inputs), abs=1e-5)
    assert 18.0 < excellence_line.input_psnr < 20.5  # σ = 30 noise
    assert excellence_line.psnr > excellence_line.input_psnr + 3.0
    outputs = [restore(excellence_line.model, d, torch.device("cpu")) for d in degraded]
    for out in outputs:  # the scored output is clipped and on the 8-bit grid
        assert np.array_equal(out * 255.0, to_uint8(out).astype(np.float32))
    expected = [_psnr_reference(o, gt) for o, gt in zip(outputs, test_images, strict=True)]
    assert excellence_line.psnrs == pytest.approx(expected, abs=1e-5)
    assert excellence_line.psnr == pytest.approx(np.mean(expected), abs=1e-5)


def test_record_follows_the_cosine_schedule(excellence_line: LineResult) -> None:
    profile = replace(TINY, iterations=80)
    entries = excellence_line.record.entries
    assert [e.iteration for e in entries] == list(range(10, 81, 10))
    for entry in entries:  # the lr used by step t is the cosine at t − 1
        phase = math.pi * (entry.iteration - 1) / profile.iterations
        expected = profile.lr_end + 0.5 * (profile.lr_start - profile.lr_end) * (
            1 + math.cos(phase)
        )
        assert entry.lr == pytest.approx(expected, rel=1e-6)
    assert all(b.seconds >= a.seconds for a, b in itertools.pairwise(entries))


def test_progress_reports_each_log_point(
    train_images: list[np.ndarray], test_images: list[np.ndarray]
) -> None:
    calls: list[tuple[int, int, float]] = []
    profile = replace(TINY, iterations=25)
    result = train_line(
        DENOISE,
        train_images,
        test_images,
        kind="acceptance",
        profile=profile,
        seed=0,
        progress=lambda done, total, loss: calls.append((done, total, loss)),
        num_threads=1,
    )
    assert [(d, t) for d, t, _ in calls] == [(10, 25), (20, 25), (25, 25)]
    assert [loss for *_, loss in calls] == result.record.losses


def test_same_seed_gives_identical_weights_and_record(
    train_images: list[np.ndarray], test_images: list[np.ndarray]
) -> None:
    profile = replace(TINY, iterations=20)

    def run(seed: int) -> LineResult:
        return train_line(
            "blur + noise(sigma=10)",
            train_images,
            test_images,
            kind="excellence",
            profile=profile,
            seed=seed,
            num_threads=1,
        )

    first, second, other = run(5), run(5), run(6)
    weights_a, weights_b = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    strip = [(e.iteration, e.loss, e.lr) for e in first.record.entries]
    assert strip == [(e.iteration, e.loss, e.lr) for e in second.record.entries]
    assert first.psnrs == second.psnrs
    assert first.record.losses != other.record.losses


def test_num_threads_applies_during_training_and_is_restored(
    train_images: list[np.ndarray], test_images: list[np.ndarray]
) -> None:
    before = torch.get_num_threads()
    asked = 1 if before > 1 else 2
    seen: list[int] = []
    train_line(
        DENOISE,
        train_images,
        test_images,
        kind="acceptance",
        profile=replace(TINY, iterations=2, log_every=1),
        seed=0,
        progress=lambda *_: seen.append(torch.get_num_threads()),
        num_threads=asked,
    )
    assert seen == [asked, asked]
    assert torch.get_num_threads() == before


# --- ONNX export -----------------------------------------------------------------------------


def _onnx_output(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    result: np.ndarray = session.run(["output"], {"input": x})[0]
    return result


def test_exported_line_matches_torch_on_another_size(excellence_line: LineResult) -> None:
    assert excellence_line.onnx_path is not None and excellence_line.onnx_path.is_file()
    x = np.random.default_rng(0).random((1, 3, 40, 56), dtype=np.float32)
    with torch.inference_mode():
        expected = excellence_line.model(torch.from_numpy(x)).numpy()
    got = _onnx_output(excellence_line.onnx_path, x)
    assert got.shape == (1, 3, 40, 56)
    assert float(np.abs(got - expected).max()) < 1e-4


@pytest.fixture
def exported_acceptance(tmp_path: Path) -> Iterator[tuple[AcceptanceNet, Path]]:
    torch.manual_seed(0)
    net = AcceptanceNet(16, 8)
    yield net, export_onnx(net, tmp_path / "sub" / "acceptance.onnx")


def test_export_has_dynamic_size_and_matches_torch(
    exported_acceptance: tuple[AcceptanceNet, Path],
) -> None:
    net, path = exported_acceptance
    model = onnx.load(str(path))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, "h", "w"]
    assert [o.name for o in model.graph.output] == ["output"]
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind
    x = np.random.default_rng(1).random((1, 3, 28, 44), dtype=np.float32)
    with torch.inference_mode():
        expected = net(torch.from_numpy(x)).numpy()
    assert float(np.abs(_onnx_output(path, x) - expected).max()) < 1e-4
    assert net.training  # the caller's module is left in its mode


def test_profile_objects_are_accepted(
    train_images: list[np.ndarray], test_images: list[np.ndarray]
) -> None:
    custom = TrainingProfile(
        name="custom",
        iterations=3,
        batch_size=2,
        patch_size=16,
        acceptance_features=(8, 4),
        log_every=1,
    )
    result = train_line(
        DENOISE, train_images, test_images, kind="acceptance", profile=custom, seed=0, num_threads=1
    )
    assert result.record.profile == "custom"
    assert len(result.record.entries) == 3
    summary = result.as_dict()
    assert summary["kind"] == "acceptance" and summary["onnx_path"] is None


def test_size_dependent_damage_is_applied_to_whole_training_images() -> None:
    """damage(n=10) burns ten lines whatever the size: on a patch it would cover nearly all of
    it, so patches are cut from whole-image copies, as the test images are degraded whole."""
    task = Task.parse("blur(sigma=2) + damage(n=10,t=7)")
    assert split_weather(task) == (task, None)
    assert split_weather(Task.parse("noise")) == (None, Task.parse("noise"))
    image = smooth_image(8, 96, 96)
    sampler = PatchSampler(task, [image], patch_size=32, batch_size=1, entropy=(4,),
                           weather_variants=2)  # fmt: skip
    copies = sampler._sources[0].variants
    assert len(copies) == 2
    windows = [np.lib.stride_tricks.sliding_window_view(c, (32, 32, 3))[:, :, 0] for c in copies]
    for index in range(4):
        degraded, _ = sampler.sample(np.random.default_rng(index))
        assert any(
            np.all(w == degraded, axis=(2, 3, 4)).any()
            or np.all(w == degraded[:, ::-1], axis=(2, 3, 4)).any()
            for w in windows
        )
