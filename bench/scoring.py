"""Scoring-loop overhead: wall time of ``gir_core.scoring.score`` vs pure inference, same run.

A model with random weights — a 17-layer, 64-channel conv net (DnCNN-sized, ``--model conv17``)
or an RRDB net of ESRGAN's size (23 RRDB blocks, 64 features, growth 32, no upsampling,
``--model rrdb``) — is exported to ONNX or TorchScript and scored on the demo images × the
first representative tasks. The baseline is the same sandboxed model, in the same process,
running the same inputs back to back with nothing else to do. Targets: scoring / inference
≤ 1.10 on the CPU, ≤ 1.05 on a GPU (the loop keeps the model busy). The last line projects the
paper-scale benchmark (100 tasks × 100 images) from the measured per-image scoring time.

    .venv/bin/python bench/scoring.py [--side 256] [--tasks 50] [--threads 2]
    python bench/scoring.py --device cuda --model rrdb --format torchscript --side 512
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
from gir_core.images import read_png_u8, to_float
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel, SandboxLimits
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


class DenseBlock(torch.nn.Module):
    """ESRGAN's residual dense block: five convs, each seeing every earlier feature map."""

    def __init__(self, features: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv2d(features + i * growth, growth if i < 4 else features, 3, padding=1)
            for i in range(5)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [x]
        for i, conv in enumerate(self.convs):
            out = conv(torch.cat(maps, 1))
            if i == 4:
                return x + 0.2 * out
            maps.append(torch.nn.functional.leaky_relu(out, 0.2))
        raise AssertionError("unreachable")


class RRDB(torch.nn.Module):
    """Three dense blocks with a scaled residual around them."""

    def __init__(self, features: int = 64) -> None:
        super().__init__()
        self.blocks = torch.nn.Sequential(*(DenseBlock(features) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.blocks(x)


class RRDBNet(torch.nn.Module):
    """ESRGAN's generator at scale 1: head conv, 23 RRDBs, trunk conv, two convs to RGB."""

    def __init__(self, blocks: int = 23, features: int = 64) -> None:
        super().__init__()
        self.head = torch.nn.Conv2d(3, features, 3, padding=1)
        self.trunk = torch.nn.Sequential(*(RRDB(features) for _ in range(blocks)))
        self.trunk_end = torch.nn.Conv2d(features, features, 3, padding=1)
        self.hr = torch.nn.Conv2d(features, features, 3, padding=1)
        self.last = torch.nn.Conv2d(features, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.trunk_end(self.trunk(features))
        out = self.last(torch.nn.functional.leaky_relu(self.hr(features), 0.2))
        return x + 0.01 * out


def export_torchscript(net: torch.nn.Module, path: Path) -> Path:
    """TorchScript by tracing (the model's control flow does not depend on the input)."""
    traced = torch.jit.trace(net, torch.rand(1, 3, 64, 64))
    torch.jit.save(traced, str(path))
    return path


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
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu")
    parser.add_argument("--model", choices=("conv17", "rrdb"), default="conv17")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gir-bench-scoring-"))
    gt = tuple(write_demo_images(root / "gt", max_side=args.side))
    tasks = tuple(
        BenchmarkTask(str(i), task)
        for i, task in enumerate(representative_tasks()[: args.tasks], 1)
    )
    bench = Benchmark(gt_images=gt, tasks=tasks, seed=0, cache_dir=root / "cache")
    net = conv_net() if args.model == "conv17" else RRDBNet().eval()
    if args.format == "onnx":
        model = export(net, root / "net.onnx")
    else:
        model = export_torchscript(net, root / "net.pt")
    records = synthesise(list(gt), [t.task for t in tasks], seed=0, cache_dir=bench.cache_dir)
    inputs = [to_float(read_png_u8(r.path)) for r in records.records]
    n = len(inputs)
    name = "17-layer 64-channel conv net" if args.model == "conv17" else "RRDB net (23 blocks)"
    print(f"{len(gt)} images ({args.side}px) × {len(tasks)} tasks = {n} inferences, "
          f"{name}, {args.format}, {args.threads} threads, device {args.device}")  # fmt: skip
    options = RunOptions(threads=args.threads, device=args.device)
    limits = SandboxLimits(kernel_memory_limits=args.device == "cpu", memory_mb=65536)
    with SandboxedModel(model, options, limits) as sandbox:
        info = sandbox.info
        assert info is not None
        print(f"  model ran on   : {info.device} ({info.provider})")
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
    target = 1.05 if info.device == "cuda" else 1.10
    verdict = "meets" if scoring / inference <= target else "misses"
    print(f"  ratio          : {scoring / inference:8.3f}  ({verdict} the ≤ {target} target)")
    paper = 100 * 100 * scoring / n
    print(f"  paper scale    : {paper / 60:8.1f} min projected for 100 tasks × 100 images "
          f"of {args.side}px at this per-image scoring time")  # fmt: skip


if __name__ == "__main__":
    main()
