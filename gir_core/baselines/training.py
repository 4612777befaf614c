"""The training loop shared by both lines: L1 loss, Adam, cosine annealing, a loss record.

The loop is the paper's (section 5.1) with the numbers taken from a :class:`TrainingProfile`;
batches come from a :class:`PatchSampler` through a :class:`BatchStream` (parallel producer
processes), so degradation overlaps the network's steps. The record keeps, every ``log_every``
steps, the mean L1 loss over those steps, the learning rate and the wall time.

Every ``checkpoint_every`` steps the whole state (weights, Adam's moments, the schedule, the
record so far) goes to a :class:`CheckpointStore`; a run that finds a checkpoint there continues
from it. Batches are indexed, so the resumed run sees exactly the batches the killed one would
have: on the CPU it ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from gir_core._suggest import did_you_mean
from gir_core.baselines.data import PatchSampler
from gir_core.baselines.nets import (
    KINDS,
    AcceptanceNet,
    ExcellenceNet,
    LineKind,
    start_at_identity,
)
from gir_core.baselines.options import TrainingOptions
from gir_core.baselines.producers import BatchStream
from gir_core.baselines.profiles import TrainingProfile
from gir_core.errors import ParameterError

ProgressCallback = Callable[[int, int, float], None]
"""Called at each log point with (steps done, total steps, mean L1 loss of the last window)."""


@dataclass(frozen=True)
class LogEntry:
    """One point of the training record.

    Attributes:
        iteration: steps done when the entry was taken (1-based count).
        loss: mean L1 loss over the steps since the previous entry.
        lr: learning rate used by the last of those steps.
        seconds: wall time since training started (not deterministic, unlike the rest).
    """

    iteration: int
    loss: float
    lr: float
    seconds: float


@dataclass(frozen=True)
class TrainingRecord:
    """How a line network was trained: profile, kind, seed and the logged curve."""

    profile: str
    kind: LineKind
    seed: int
    iterations: int
    entries: tuple[LogEntry, ...]
    seconds: float

    @property
    def losses(self) -> list[float]:
        """The logged window losses, in order."""
        return [entry.loss for entry in self.entries]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (for the service's records)."""
        return {
            "profile": self.profile,
            "kind": self.kind,
            "seed": self.seed,
            "iterations": self.iterations,
            "seconds": self.seconds,
            "entries": [vars(entry).copy() for entry in self.entries],
        }


def check_kind(kind: str) -> LineKind:
    """Validate a line kind, with a "did you mean" hint."""
    for valid in KINDS:
        if kind == valid:
            return valid
    raise ParameterError(f"unknown line kind {kind!r}; {did_you_mean(str(kind), KINDS)}")


def build_net(kind: LineKind, profile: TrainingProfile) -> nn.Module:
    """The untrained network of a line, sized by the profile (initialised from torch's RNG)."""
    if check_kind(kind) == "acceptance":
        net = AcceptanceNet(*profile.acceptance_features)
        if profile.acceptance_start == "identity":
            start_at_identity(net)
        return net
    return ExcellenceNet(profile.excellence_blocks, profile.excellence_channels)


class CheckpointStore(Protocol):
    """Where a training run keeps its last checkpoint (storage in the service, memory in tests)."""

    def load(self) -> bytes | None:
        """The last checkpoint saved, or None."""

    def save(self, data: bytes) -> None:
        """Replace the checkpoint (atomically: a reader sees the old or the new one)."""


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run with ``torch.set_num_threads(count)``, restoring the previous count afterwards."""
    if count is None:
        yield
        return
    if count < 1:
        raise ParameterError(f"num_threads must be ≥ 1, got {count}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _Logger:
    """Accumulates the loss on the device and turns windows into :class:`LogEntry` rows."""

    def __init__(self, profile: TrainingProfile, progress: ProgressCallback | None) -> None:
        self.every = profile.log_every
        self.total = profile.iterations
        self.progress = progress
        self.entries: list[LogEntry] = []
        self.start = time.perf_counter()
        self._sum: Tensor | None = None
        self._steps = 0

    def state(self) -> dict[str, Any]:
        """What a checkpoint needs to continue the record."""
        window = 0.0 if self._sum is None else float(self._sum.item())
        return {
            "entries": [vars(entry).copy() for entry in self.entries],
            "window": window,
            "steps": self._steps,
            "seconds": time.perf_counter() - self.start,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue a checkpointed record (wall time keeps counting from where it stopped)."""
        self.entries = [LogEntry(**entry) for entry in state["entries"]]
        self._steps = int(state["steps"])
        self._sum = torch.tensor(float(state["window"])) if self._steps else None
        self.start = time.perf_counter() - float(state["seconds"])

    def step(self, iteration: int, loss: Tensor, lr: float) -> None:
        detached = loss.detach()
        self._sum = detached if self._sum is None else self._sum + detached
        self._steps += 1
        if iteration % self.every and iteration != self.total:
            return
        mean = float(self._sum.item()) / self._steps
        seconds = time.perf_counter() - self.start
        self.entries.append(LogEntry(iteration, mean, lr, seconds))
        self._sum, self._steps = None, 0
        if self.progress is not None:
            self.progress(iteration, self.total, mean)


def fit(
    model: nn.Module,
    sampler: PatchSampler,
    profile: TrainingProfile,
    *,
    kind: LineKind,
    seed: int,
    options: TrainingOptions | None = None,
    progress: ProgressCallback | None = None,
    checkpoints: CheckpointStore | None = None,
) -> TrainingRecord:
    """Train ``model`` in place for ``profile.iterations`` steps (resuming from ``checkpoints``
    when they hold a checkpoint); return the record."""
    opts = options or TrainingOptions()
    model.to(opts.device).train()
    if opts.device.type == "cuda":
        torch.backends.cudnn.benchmark = opts.cudnn_benchmark
    loop = _Loop(model, profile, kind, opts, _Logger(profile, progress))
    done = loop.resume(checkpoints)
    with BatchStream(
        sampler.batch, start=done, count=profile.iterations - done,
        producers=opts.producers, depth=profile.prefetch,
    ) as batches:  # fmt: skip
        for iteration, batch in enumerate(batches, start=done + 1):
            loop.step(iteration, batch)
            if checkpoints is not None and _due(iteration, opts.checkpoint_every, profile):
                checkpoints.save(loop.checkpoint(iteration))
    model.eval()
    seconds = time.perf_counter() - loop.logger.start
    entries = tuple(loop.logger.entries)
    return TrainingRecord(profile.name, kind, seed, profile.iterations, entries, seconds)


def _due(iteration: int, every: int, profile: TrainingProfile) -> bool:
    return every > 0 and iteration % every == 0 and iteration < profile.iterations


class _Loop:
    """One training run's moving parts: net, Adam, cosine schedule, autocast, record."""

    def __init__(
        self,
        model: nn.Module,
        profile: TrainingProfile,
        kind: LineKind,
        options: TrainingOptions,
        logger: _Logger,
    ) -> None:
        self.model, self.options, self.logger = model, options, logger
        self.optimiser = torch.optim.Adam(
            model.parameters(), lr=profile.lr_start, betas=profile.betas
        )
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimiser, T_max=profile.iterations, eta_min=profile.lr_end
        )
        self.dtype = options.autocast_dtype(kind)
        fp16 = self.dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=fp16) if fp16 else None

    def _tensor(self, array: np.ndarray) -> Tensor:
        tensor = torch.from_numpy(array)
        if self.options.pin_memory:
            tensor = tensor.pin_memory()
        return tensor.to(self.options.device, non_blocking=self.options.pin_memory)

    def step(self, iteration: int, batch: tuple[np.ndarray, np.ndarray]) -> None:
        """One optimiser step on one batch."""
        x, y = self._tensor(batch[0]), self._tensor(batch[1])
        device = self.options.device.type
        autocast = (
            torch.autocast(device, dtype=self.dtype) if self.dtype is not None else nullcontext()
        )
        with autocast:
            loss = nn.functional.l1_loss(self.model(x).float(), y)
        self.optimiser.zero_grad(set_to_none=True)
        lr = float(self.optimiser.param_groups[0]["lr"])
        if self.scaler is not None:
            self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            self.scaler.step(self.optimiser)
            self.scaler.update()
        else:
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimiser.step()
        self.schedule.step()
        self.logger.step(iteration, loss, lr)

    def checkpoint(self, iteration: int) -> bytes:
        """The whole state after ``iteration`` steps, serialised."""
        buffer = io.BytesIO()
        torch.save(
            {
                "iteration": iteration,
                "model": self.model.state_dict(),
                "optimiser": self.optimiser.state_dict(),
                "schedule": self.schedule.state_dict(),
                "scaler": None if self.scaler is None else self.scaler.state_dict(),
                "log": self.logger.state(),
            },
            buffer,
        )
        return buffer.getvalue()

    def resume(self, checkpoints: CheckpointStore | None) -> int:
        """Load the stored checkpoint if any; the number of steps it had done (0 if none)."""
        data = None if checkpoints is None else checkpoints.load()
        if data is None:
            return 0
        state = torch.load(io.BytesIO(data), map_location=self.options.device, weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.schedule.load_state_dict(state["schedule"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.logger.restore(state["log"])
        return int(state["iteration"])
