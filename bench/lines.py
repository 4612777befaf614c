"""Benchmark: line training step time with the real data pipeline against pre-made batches.

Run: ``.venv/bin/python bench/lines.py [--profile demo] [--steps 40] [--producers N]``.

For both line networks, in one run: the training loop of :func:`gir_core.baselines.fit` fed by
the real pipeline (patches cut and degraded by ``N`` producer processes, default
:func:`~gir_core.baselines.default_producers`: every core but one) against the same loop fed
with batches made beforehand (a lookup, so the loop never waits), ``--repeats`` times each,
interleaved, medians compared; torch gets the cores the producers leave. The ratio
pipeline / pre-made is the cost of data; ≤ 1.10 means the producers keep up. Then, from the
measured time to make one batch and one step: the producers needed per target step rate, and
an estimate of the device-hours of a paper-scale version (100 tasks × 2 nets × the ``paper``
profile's iterations) from a few paper-sized steps measured here (``--paper-steps``; on a CPU
that is CPU-hours, on a GPU machine run it there). The task is a 3-step mixture, a typical
data cost. No assertions.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from dataclasses import replace

import torch

from gir_core.baselines import (
    KINDS,
    PatchSampler,
    TrainingOptions,
    TrainingProfile,
    build_net,
    default_producers,
    fit,
    get_profile,
)
from gir_core.baselines.data import Batch
from gir_core.demo import demo_images
from gir_core.tasks import Task

TASK = "blur(sigma=2) + noise(sigma=20) + compression(q=50)"
PAPER_TASKS = 100


class _PreMade:
    """Batches made once beforehand, served by index: the loop's data cost drops to nothing."""

    def __init__(self, sampler: PatchSampler, count: int) -> None:
        self.batches = [sampler.batch(i) for i in range(count)]

    def batch(self, index: int) -> Batch:
        return self.batches[index]


def _sampler(profile: TrainingProfile) -> PatchSampler:
    task = Task.parse(TASK)
    images = [image for _, image in demo_images(256)]
    return PatchSampler(task, images, patch_size=profile.patch_size,
                        batch_size=profile.batch_size, entropy=(0, task.key))  # fmt: skip


def _seconds_per_step(kind: str, profile: TrainingProfile, source: object, producers: int) -> float:
    torch.manual_seed(0)
    net = build_net(kind, profile)  # type: ignore[arg-type]
    options = TrainingOptions(producers=producers)
    start = time.perf_counter()
    fit(net, source, profile, kind=kind, seed=0, options=options)  # type: ignore[arg-type]
    return (time.perf_counter() - start) / profile.iterations


def _batch_seconds(sampler: PatchSampler, count: int = 10) -> float:
    start = time.perf_counter()
    for index in range(count):
        sampler.batch(index)
    return (time.perf_counter() - start) / count


def _paper_estimate(steps: int) -> None:
    paper = get_profile("paper")
    small = replace(paper, iterations=steps)
    sampler = _sampler(small)
    premade = _PreMade(sampler, steps)
    per_step = {kind: _seconds_per_step(kind, small, premade, 0) for kind in KINDS}
    batch = _batch_seconds(sampler, 3)
    hours = PAPER_TASKS * paper.iterations * sum(per_step.values()) / 3600
    print(f"\npaper profile (batch {paper.batch_size}, patch {paper.patch_size}, "
          f"{paper.iterations} iterations), {steps} steps measured on {_device()}:")  # fmt: skip
    for kind, seconds in per_step.items():
        need = math.ceil(batch / seconds)
        print(f"  {kind:<10} {seconds * 1000:8.1f} ms/step; one producer makes a batch in "
              f"{batch * 1000:.0f} ms → {need} producers keep it fed")  # fmt: skip
    print(
        f"  estimate for {PAPER_TASKS} tasks × 2 nets: {hours:,.0f} device-hours here "
        "(on a GPU, run this there: the step time is what changes)"
    )


def _device() -> str:
    return "this CPU" if not torch.cuda.is_available() else torch.cuda.get_device_name()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--producers", type=int, default=default_producers())
    parser.add_argument("--paper-steps", type=int, default=2, help="0 skips the paper estimate")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, interleaved")
    args = parser.parse_args()
    # The producers take their cores; torch's spinning threads on an oversubscribed machine
    # would otherwise time the contention, not the step.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) - args.producers))
    profile = replace(get_profile(args.profile), iterations=args.steps, log_every=args.steps)
    sampler = _sampler(profile)
    premade = _PreMade(sampler, args.steps)
    batch = _batch_seconds(sampler)
    print(f"profile {profile.name}: batch {profile.batch_size}, patch {profile.patch_size}, "
          f"{args.steps} steps; task '{TASK}'; {args.producers} producer(s); "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    print(f"one producer makes a batch in {batch * 1000:.1f} ms; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    for kind in KINDS:
        chosen = profile.for_kind(kind)
        chosen = replace(chosen, iterations=args.steps, log_every=args.steps)
        fed_runs, real_runs = [], []
        for _ in range(args.repeats):  # interleaved, so a change in machine load hits both
            fed_runs.append(_seconds_per_step(kind, chosen, premade, 0))
            real_runs.append(_seconds_per_step(kind, chosen, sampler, args.producers))
        fed, real = statistics.median(fed_runs), statistics.median(real_runs)
        rates = ", ".join(f"{r}/s → {math.ceil(batch * r)}" for r in (5, 20, 50, 200))
        print(f"{kind:<10} pre-made {fed * 1000:7.1f} ms/step, pipeline {real * 1000:7.1f} "
              f"ms/step, ratio {real / fed:5.2f}; producers per step rate: {rates}")  # fmt: skip
    if args.paper_steps > 0:
        _paper_estimate(args.paper_steps)


if __name__ == "__main__":
    main()
