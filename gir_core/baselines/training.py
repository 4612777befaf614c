"""The training loop shared by both lines: L1 loss, Adam, cosine annealing, a loss record.

The loop is the paper's (section 5.1) with the numbers taken from a :class:`TrainingProfile`;
batches come from a :class:`PatchSampler` through a :class:`BatchPrefetcher`, so degradation of the
next batch overlaps the network's step. The record keeps, every ``log_every`` steps, the mean L1
loss over those steps, the learning rate and the wall time, enough to plot and compare runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gir_core._suggest import did_you_mean
from gir_core.baselines.data import BatchPrefetcher, PatchSampler
from gir_core.baselines.nets import KINDS, AcceptanceNet, ExcellenceNet, LineKind
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
        return AcceptanceNet(*profile.acceptance_features)
    return ExcellenceNet(profile.excellence_blocks, profile.excellence_channels)


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
    device: torch.device,
    progress: ProgressCallback | None = None,
) -> TrainingRecord:
    """Train ``model`` in place for ``profile.iterations`` steps; return the record."""
    model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=profile.lr_start, betas=profile.betas)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=profile.iterations, eta_min=profile.lr_end
    )
    logger = _Logger(profile, progress)
    with BatchPrefetcher(
        sampler.batch, count=profile.iterations, depth=profile.prefetch
    ) as batches:
        for iteration, (inputs, targets) in enumerate(batches, start=1):
            x = torch.from_numpy(inputs).to(device)
            y = torch.from_numpy(targets).to(device)
            loss = nn.functional.l1_loss(model(x), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            lr = float(optimiser.param_groups[0]["lr"])
            optimiser.step()
            schedule.step()
            logger.step(iteration, loss, lr)
    model.eval()
    seconds = time.perf_counter() - logger.start
    entries = tuple(logger.entries)
    return TrainingRecord(profile.name, kind, seed, profile.iterations, entries, seconds)
