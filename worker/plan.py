"""A frozen benchmark version as :mod:`gir_core.scoring` needs it, read from the database.

The worker turns a version's rows into a :class:`~gir_core.scoring.Benchmark` (tasks parsed
from their specs, image files from storage, the version's seed, size limits and metric
convention, so submissions are measured exactly as the version's lines were) plus the ids
results are stored under. Hidden specs are parsed here, in the worker, and never leave it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import cast

from sqlalchemy.orm import Session

from app.benchmarks.models import BenchmarkVersion, ImageSet
from app.storage import Storage, get_storage
from app.storage import synthesis as shared_cache
from app.storage.s3 import S3Storage
from gir_core.generality import TaskLine
from gir_core.scoring import Benchmark, BenchmarkTask, RealWorldSet
from gir_core.synthesis import synthesise
from gir_core.tasks import Task


@dataclass(frozen=True)
class ScoringPlan:
    """A version ready to score: the benchmark, the ids rows are stored under, and the lines.

    ``lines`` carry every task's kind and degradation names — hidden ones too: the server knows
    them — for the summary's split and per-degradation bias.
    """

    version_id: int
    benchmark: Benchmark
    task_ids: dict[str, int]
    set_ids: dict[str, int]
    lines: tuple[TaskLine, ...]


def scoring_plan(*, session: Session, version_id: int, storage: Storage) -> ScoringPlan:
    """Build the plan of a version from its frozen tasks and image sets.

    GT images keep their set's ``position`` order: the position is the image index that seeds
    synthesis, so the degraded inputs are the ones the lines were measured on.
    """
    version = session.get(BenchmarkVersion, version_id)
    if version is None:
        raise LookupError(f"benchmark version {version_id} does not exist")
    tasks, lines, task_ids = [], [], {}
    for frozen in version.tasks:
        task = Task.parse(frozen.task.spec)
        key = frozen.task.key
        tasks.append(BenchmarkTask(key, task, frozen.kind))
        lines.append(frozen.task_line(task))
        task_ids[key] = frozen.id
    sets = sorted((link.image_set for link in version.image_sets), key=lambda s: s.name)
    real = [s for s in sets if s.role == "real"]
    benchmark = Benchmark(
        gt_images=tuple(path for s in sets if s.role == "gt" for path in _paths(s, storage)),
        tasks=tuple(tasks),
        seed=version.seed,
        cache_dir=storage.synthesis_dir(),
        max_side=version.max_side,
        convention=version.convention,
        real_world_max_side=version.real_world_max_side,
        real_world=tuple(
            RealWorldSet(s.name, tuple(_paths(s, storage)), s.label or "real-world") for s in real
        ),
    )
    return ScoringPlan(version.id, benchmark, task_ids, {s.name: s.id for s in real}, tuple(lines))


def _paths(image_set: ImageSet, storage: Storage) -> list[Path]:
    return [storage.local_path(image.storage_key) for image in image_set.images]


def prepare_inputs(
    plan: ScoringPlan, *, workers: int | None = None, storage: Storage | None = None
) -> int:
    """Make the degraded inputs the shared cache lacks; returns how many were made.

    Runs before a model's sandbox starts, so synthesis never eats into the model's time limit
    (scoring then finds everything cached). It is also the operators' ``synthesize`` job. With
    object storage the cache is shared through the bucket (:mod:`app.storage.synthesis`):
    what another worker made is downloaded, what this one makes is uploaded.
    """
    benchmark, store = plan.benchmark, storage or get_storage()
    shared = cast(S3Storage, store) if store.remote else None  # the bucket shares the cache
    result = synthesise(
        list(benchmark.gt_images),
        [item.task for item in benchmark.tasks],
        seed=benchmark.seed,
        cache_dir=benchmark.cache_dir,
        max_side=benchmark.max_side,
        workers=workers,
        fetch=None if shared is None else partial(shared_cache.pull, shared),
    )
    if shared is not None:
        shared_cache.push(shared, result.records)
    return result.computed
