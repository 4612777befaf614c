"""Train one line (acceptance or excellence) for one task and measure it on the test images.

A line is the mean test PSNR of a network trained on that single task (SPEC §2.2): the output is
clipped to [0, 1] and quantised to 8 bit before the PSNR against the ground truth, under the
benchmark version's metric convention (:mod:`gir_core.convention`, the authors' RGB/crop 4 by
default) — the convention that scores submissions, so the comparison is like for like.

Test inputs follow the benchmark convention ``task.apply(gt, benchmark_seed, image_index=i)``;
callers with special depth or snow sources pass ready-made (degraded, ground truth) pairs instead.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gir_core.baselines.data import PatchSampler, check_disjoint
from gir_core.baselines.export import export_onnx
from gir_core.baselines.nets import LineKind
from gir_core.baselines.options import TrainingOptions
from gir_core.baselines.profiles import TrainingProfile, resolve_profile
from gir_core.baselines.training import (
    CheckpointStore,
    ProgressCallback,
    TrainingRecord,
    build_net,
    check_kind,
    fit,
    torch_threads,
)
from gir_core.convention import DEFAULT as DEFAULT_CONVENTION
from gir_core.convention import MetricConvention
from gir_core.degradations import ImageContext
from gir_core.errors import ParameterError
from gir_core.images import FloatImage, check_image, quantize
from gir_core.tasks import Task

Pair = tuple[FloatImage, FloatImage]
"""(degraded input, ground truth)."""


def _psnr(output: FloatImage, truth: FloatImage, convention: MetricConvention) -> float:
    """The benchmark's headline PSNR under the version's convention."""
    return convention.psnr(convention.prepare(output), truth)


@dataclass(frozen=True, eq=False)
class LineResult:
    """A trained line: its PSNR on the test set, how it was trained, and the model.

    Attributes:
        task: canonical task text.
        kind: "acceptance" or "excellence".
        psnr: the line, mean PSNR (dB) over the test images.
        psnrs: per-test-image PSNR, in test order.
        input_psnr: mean PSNR of the degraded inputs themselves (what doing nothing scores).
        record: the training record (losses, learning rates, wall time).
        onnx_path: where the ONNX export was written, if a path was given.
        model: the trained network, in eval mode, on the training device.
    """

    task: str
    kind: LineKind
    psnr: float
    psnrs: tuple[float, ...]
    input_psnr: float
    record: TrainingRecord
    onnx_path: Path | None
    model: nn.Module = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary without the model."""
        return {
            "task": self.task,
            "kind": self.kind,
            "psnr": self.psnr,
            "psnrs": list(self.psnrs),
            "input_psnr": self.input_psnr,
            "record": self.record.as_dict(),
            "onnx_path": None if self.onnx_path is None else str(self.onnx_path),
        }


def degrade_test_images(
    task: Task, images: Sequence[FloatImage], benchmark_seed: int
) -> list[Pair]:
    """Test pairs by the benchmark convention ``task.apply(gt, benchmark_seed, image_index=i)``."""
    return [(task.apply(gt, benchmark_seed, image_index=i), gt) for i, gt in enumerate(images)]


def restore(model: nn.Module, image: FloatImage, device: torch.device) -> FloatImage:
    """Run a line network on one H×W×3 image; clipped and quantised to the 8-bit grid."""
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].to(device)
    with torch.inference_mode():
        y = model(x)[0].clamp(0.0, 1.0).cpu().numpy()
    return quantize(y.transpose(1, 2, 0))


def evaluate(
    model: nn.Module,
    pairs: Sequence[Pair],
    device: torch.device,
    convention: MetricConvention = DEFAULT_CONVENTION,
) -> list[float]:
    """Per-pair PSNR of the model's quantised output against the ground truth."""
    model.eval()
    return [_psnr(restore(model, degraded, device), truth, convention) for degraded, truth in pairs]


def _test_pairs(
    task: Task, test: Sequence[FloatImage] | Sequence[Pair], benchmark_seed: int
) -> list[Pair]:
    if len(test) == 0:
        raise ParameterError("no test images given")
    if all(isinstance(item, np.ndarray) for item in test):
        images = [item for item in test if isinstance(item, np.ndarray)]
        for i, image in enumerate(images):
            check_image(image, what=f"test image {i}")
        return degrade_test_images(task, images, benchmark_seed)
    pairs: list[Pair] = []
    for i, item in enumerate(test):
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ParameterError(
                f"test item {i} must be an image or a (degraded, ground truth) pair, got "
                f"{type(item).__name__}; do not mix the two forms"
            )
        check_image(item[0], what=f"degraded test image {i}")
        check_image(item[1], what=f"test ground truth {i}")
        if item[0].shape != item[1].shape:
            raise ParameterError(f"test pair {i}: shapes {item[0].shape} and {item[1].shape}")
        pairs.append((item[0], item[1]))
    return pairs


def _untrained_net(kind: LineKind, profile: TrainingProfile, seed: int) -> nn.Module:
    """Initialise under ``torch.manual_seed(seed)`` without disturbing the caller's torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_net(kind, profile)


def train_line(
    task: Task | str,
    train_images: Sequence[FloatImage],
    test: Sequence[FloatImage] | Sequence[Pair],
    *,
    kind: LineKind,
    profile: str | TrainingProfile,
    seed: int,
    benchmark_seed: int = 0,
    onnx_path: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    device: str | torch.device = "cpu",
    num_threads: int | None = None,
    train_contexts: Sequence[ImageContext] | None = None,
    convention: MetricConvention = DEFAULT_CONVENTION,
    options: TrainingOptions | None = None,
    checkpoints: CheckpointStore | None = None,
) -> LineResult:
    """Train the ``kind`` line network on ``task`` and measure its mean PSNR on the test set.

    Args:
        task: the task (or its text).
        train_images: clean float32 RGB training images, disjoint from the test images.
        test: clean test images (degraded here with ``benchmark_seed``) or (degraded, gt) pairs.
        kind: "acceptance" (3-layer SRCNN) or "excellence" (deep residual net).
        profile: a :class:`TrainingProfile` or its name ("paper", "demo", "tiny").
        seed: decides the initial weights and every training patch and its degradation; on the
            CPU the same seed and thread count give the same weights.
        benchmark_seed: the benchmark's seed for degrading clean test images.
        onnx_path: where to write the trained model as ONNX; nothing is written if None.
        progress: called at each log point with (steps done, total steps, recent loss).
        device: torch device to train and evaluate on.
        num_threads: torch CPU threads while training and measuring (restored afterwards); None
            keeps torch's setting (all cores by default, fastest on an idle machine). Pass fewer
            when other processes share the CPUs: torch's threads spin while waiting, and on an
            oversubscribed two-core machine training ran 2-10× slower.
        train_contexts: per-training-image depth/snow sources for weather-first tasks.
        convention: how the line is measured: the benchmark version's metric convention.
        options: hardware options (device, autocast, producers, checkpoint period); when given,
            its device wins over ``device``.
        checkpoints: where to keep checkpoints; a run that finds one there resumes from it.

    Raises:
        ParameterError: unknown kind or profile, a negative seed, a training image equal to a
            test image, images smaller than the training patches, or malformed test items.

    Example:
        >>> from gir_core.demo import demo_images
        >>> photos = [image for _, image in demo_images(64)]
        >>> result = train_line("noise(sigma=30)", photos[:2], photos[2:4], kind="acceptance",
        ...                     profile="tiny", seed=0, num_threads=1)
        >>> result.kind, len(result.psnrs)
        ('acceptance', 2)
    """
    task = Task.parse(task) if isinstance(task, str) else task
    kind = check_kind(kind)
    chosen = resolve_profile(profile).for_kind(kind)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be an integer ≥ 0, got {seed!r}")
    pairs = _test_pairs(task, test, benchmark_seed)
    check_disjoint(train_images, [truth for _, truth in pairs])
    sampler = PatchSampler(
        task,
        train_images,
        patch_size=chosen.patch_size,
        batch_size=chosen.batch_size,
        entropy=(seed, task.key),
        weather_variants=chosen.weather_variants,
        contexts=train_contexts,
    )
    opts = options or TrainingOptions(device=torch.device(device))
    model = _untrained_net(kind, chosen, seed)
    with torch_threads(num_threads):
        record = fit(model, sampler, chosen, kind=kind, seed=seed, options=opts,
                     progress=progress, checkpoints=checkpoints)  # fmt: skip
        psnrs = evaluate(model, pairs, opts.device, convention)
    written = export_onnx(model, onnx_path) if onnx_path is not None else None
    return LineResult(
        task=str(task),
        kind=kind,
        psnr=float(np.mean(psnrs)),
        psnrs=tuple(psnrs),
        input_psnr=float(np.mean([_psnr(d, truth, convention) for d, truth in pairs])),
        record=record,
        onnx_path=written,
        model=model,
    )
