"""Scoring-loop overhead: wall time of ``gir_core.scoring.score`` vs pure inference, same run.

A 17-layer, 64-channel conv net (DnCNN-sized, random weights) is exported to ONNX and scored on
the demo images × the 50 representative tasks. The baseline is the same sandboxed model, in
the same process, running the same inputs back to back with nothing else to do. Target: the
ratio scoring / inference ≤ 1.10 (the loop keeps the model busy).

    .venv/bin/python bench/scoring.py [--side 256] [--tasks 50] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from gir_core.demo import write_demo_images
from gir_core.images import read_png_u8
from gir_core.imaging import to_float
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel
from gir_core.scoring import Benchmark, BenchmarkTask, score
from gir_core.synthesis import synthesise
from gir_core.tasks import representative_tasks


class Residual(torch.nn.Module):
    """Output = input − body(input), as DnCNN predicts the degradation."""

    def __init__(self, body: torch.nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.body(x)


def conv_net(layers: int = 17, channels: int = 64) -> torch.nn.Module:
    """DnCNN-shaped: conv+ReLU, (layers−2)× conv+ReLU, conv; residual output."""
    body: list[torch.nn.Module] = [torch.nn.Conv2d(3, channels, 3, padding=1), torch.nn.ReLU()]
    for _ in range(layers - 2):
        body += [torch.nn.Conv2d(channels, channels, 3, padding=1), torch.nn.ReLU()]
    body.append(torch.nn.Conv2d(channels, 3, 3, padding=1))
    net = torch.nn.Sequential(*body)
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.normal_(module.weight, std=0.01)
            torch.nn.init.zeros_(module.bias)
    return Residual(net).eval()


def export(net: torch.nn.Module, path: Path) -> Path:
    """Legacy ONNX export with dynamic H and W."""
    axes = {"input": {2: "h", 3: "w"}, "output": {2: "h", 3: "w"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (torch.rand(1, 3, 64, 64),), str(path), dynamo=False, opset_version=17,
            input_names=["input"], output_names=["output"], dynamic_axes=axes,
        )  # fmt: skip
    return path


def _pure_inference(sandbox: SandboxedModel, inputs: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for image in inputs:
        sandbox.run(image)
    return time.perf_counter() - started


def main() -> None:
    """Print scoring wall time, pure inference wall time and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=256, help="demo crop side (px)")
    parser.add_argument("--tasks", type=int, default=50, help="first N representative tasks")
    parser.add_argument("--threads", type=int, default=2, help="model threads")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gir-bench-scoring-"))
    gt = tuple(write_demo_images(root / "gt", max_side=args.side))
    tasks = tuple(
        BenchmarkTask(str(i), task)
        for i, task in enumerate(representative_tasks()[: args.tasks], 1)
    )
    bench = Benchmark(gt_images=gt, tasks=tasks, seed=0, cache_dir=root / "cache")
    model = export(conv_net(), root / "net.onnx")
    records = synthesise(list(gt), [t.task for t in tasks], seed=0, cache_dir=bench.cache_dir)
    inputs = [to_float(read_png_u8(r.path)) for r in records.records]
    n = len(inputs)
    print(f"{len(gt)} images ({args.side}px) × {len(tasks)} tasks = {n} inferences, "
          f"17-layer 64-channel conv net, ONNX, {args.threads} threads")  # fmt: skip
    with SandboxedModel(model, RunOptions(threads=args.threads)) as sandbox:
        sandbox.run(inputs[0])  # warm-up: first-run allocations
        # Inference before and after scoring, averaged: drift on a shared machine cancels out.
        before = _pure_inference(sandbox, inputs)
        started = time.perf_counter()
        results = list(score(sandbox, bench))
        scoring = time.perf_counter() - started
        inference = (before + _pure_inference(sandbox, inputs)) / 2
    mean = float(np.mean([r.mean_psnr for r in results if hasattr(r, "mean_psnr")]))
    print(f"  pure inference : {inference:8.2f} s  ({n / inference:6.2f} images/s, mean of 2 runs)")
    print(
        f"  scoring loop   : {scoring:8.2f} s  ({n / scoring:6.2f} images/s, mean PSNR {mean:.2f})"
    )
    verdict = "meets" if scoring / inference <= 1.10 else "misses"
    print(f"  ratio          : {scoring / inference:8.3f}  ({verdict} the ≤ 1.10 target)")


if __name__ == "__main__":
    main()
