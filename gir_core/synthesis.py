"""Test-set synthesis: every (GT image, task) degraded input, computed once and cached by content.

Image ``i`` (its position in :func:`~gir_core.images.list_images` order, or in the list given)
degraded by task ``t`` is ``t.apply(img, seed, image_index=i, context=ctx)``, with one
:class:`~gir_core.degradations.ImageContext` per image so its depth map and snow mask are made once
per work unit. Each result is stored as ``<cache>/<key[:2]>/<key>.png``, where the key is a SHA-256
over everything that decides its bytes (:func:`cache_key`). Files are written atomically, so a
crash never leaves a partial entry, and a second run finds every key in the parent process and
starts no worker at all.

Work is spread over processes (``forkserver`` where available, else ``spawn``: no state inherited
from the caller, e.g. a loaded model). A work unit is one image with a chunk of its tasks, so an
image is decoded once per unit; OpenCV runs single-threaded inside workers.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from gir_core.degradations import DepthSource, ImageContext, SnowSource
from gir_core.errors import GirError, ImageError, ParameterError
from gir_core.images import (
    LOADER_VERSION,
    file_sha256,
    list_images,
    load_image,
    read_png_u8,
    save_png,
    to_float,
)
from gir_core.tasks import DEGRADATION_VERSION, Task

ImageSource = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
"""A folder of GT images, or GT files in index order."""
ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` in the calling process; ``done`` never decreases."""
FetchCallback = Callable[[list["SynthesisRecord"]], object]
"""Given the records missing from the local cache, places whatever it can at their paths."""

_KEY_SCHEME = "gir-synthesis-1"
_UNITS_PER_WORKER = 4
_T = TypeVar("_T")


class SynthesisError(GirError):
    """A degraded input could not be made; the message names the image and the task."""


@dataclass(frozen=True)
class SynthesisRecord:
    """Where one (image, task) degraded input lives, and whether this run had to make it."""

    image_index: int
    image_name: str
    image_sha256: str
    task_id: str
    task_text: str
    key: str
    path: Path
    cached: bool


@dataclass(frozen=True)
class SynthesisResult:
    """All records, image-major then in task order, with how many were computed vs found."""

    records: tuple[SynthesisRecord, ...]
    computed: int
    cached: int


@dataclass(frozen=True)
class _Image:
    index: int
    path: Path
    name: str
    sha256: str
    fingerprint: str


@dataclass(frozen=True)
class _Recipe:
    """What every unit of one run shares: seed, loader options and depth/snow sources."""

    seed: int
    max_side: int | None
    convert_grey: bool
    depth_source: DepthSource
    snow_source: SnowSource


@dataclass(frozen=True)
class _Unit:
    """One image and a chunk of its missing tasks: what a worker process receives."""

    image: _Image
    recipe: _Recipe
    jobs: tuple[tuple[Task, Path], ...]
    weight: int  # records this unit completes (a duplicated task counts once per record)


def cache_key(
    *,
    task: Task,
    image_sha256: str,
    seed: int,
    image_index: int,
    context_fingerprint: str,
    max_side: int | None = None,
    convert_grey: bool = False,
    version: str = DEGRADATION_VERSION,
) -> str:
    """Hex SHA-256 identifying one degraded input by everything that decides its bytes.

    Covers the degradation version, the task's canonical text, the GT file's hash and how it was
    loaded (loader version and options), the benchmark seed, the image index (it seeds the
    generators) and the depth/snow sources.

    Example:
        >>> k = cache_key(task=Task.parse("noise"), image_sha256="ab" * 32, seed=1,
        ...               image_index=0, context_fingerprint="depth=proxy-v1;snow=procedural-v1")
        >>> len(k)
        64
    """
    payload = {
        "scheme": _KEY_SCHEME,
        "degradations": version,
        "task": str(task),
        "image": image_sha256,
        "loader": {"version": LOADER_VERSION, "max_side": max_side, "convert_grey": convert_grey},
        "seed": seed,
        "image_index": image_index,
        "context": context_fingerprint,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_path(cache_dir: str | os.PathLike[str], key: str) -> Path:
    """``<cache_dir>/<key[:2]>/<key>.png``: two-level fan-out keeps folders small."""
    return Path(cache_dir) / key[:2] / f"{key}.png"


def synthesise(
    images: ImageSource,
    tasks: Sequence[Task],
    *,
    seed: int,
    cache_dir: str | os.PathLike[str],
    max_side: int | None = None,
    convert_grey: bool = False,
    depth_source: DepthSource | None = None,
    snow_source: SnowSource | None = None,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    fetch: FetchCallback | None = None,
) -> SynthesisResult:
    """Make (or find in the cache) every degraded input of ``images`` × ``tasks``.

    Args:
        images: a folder (indices follow :func:`~gir_core.images.list_images`) or a sequence of
            files (indices follow the sequence).
        tasks: tasks in the order records should list them; duplicates share one file.
        seed: the benchmark seed (≥ 0).
        cache_dir: root of the content-addressed cache; created if missing.
        max_side, convert_grey: passed to :func:`~gir_core.images.load_image`.
        depth_source, snow_source: per-image sources for haze/snow (defaults: the offline proxy
            and procedural snow).
        workers: processes to use (default ``os.cpu_count()``); 1 runs in this process.
        progress: ``progress(done, total)`` over records, first with the cached count.
        fetch: called once with the records missing locally, before anything is computed, to
            bring in inputs made elsewhere (a service sharing the cache through object
            storage); what it places counts as cached.

    Raises:
        SynthesisError: a task failed on an image, or a worker died; names image and task.
        ImageError: the folder holds no images or a file cannot be hashed.
        ParameterError: a negative seed or fewer than one worker.

    Example:
        >>> import tempfile
        >>> from gir_core.demo import write_demo_images
        >>> from gir_core.tasks import Task
        >>> root = tempfile.mkdtemp()
        >>> gt = write_demo_images(root + "/gt", max_side=64)[:2]
        >>> tasks = [Task.parse("noise"), Task.parse("haze + blur")]
        >>> first = synthesise(gt, tasks, seed=0, cache_dir=root + "/cache", workers=1)
        >>> first.computed, first.cached
        (4, 0)
        >>> again = synthesise(gt, tasks, seed=0, cache_dir=root + "/cache", workers=1)
        >>> again.computed, again.cached
        (0, 4)
    """
    if seed < 0:
        raise ParameterError(f"seed must be ≥ 0, got {seed}")
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    if n_workers < 1:
        raise ParameterError(f"workers must be at least 1, got {n_workers}")
    default = ImageContext()
    recipe = _Recipe(
        seed,
        max_side,
        convert_grey,
        depth_source if depth_source is not None else default.depth_source,
        snow_source if snow_source is not None else default.snow_source,
    )
    entries = _describe_images(_image_paths(images), recipe)
    records = _plan_records(entries, tasks, recipe, Path(cache_dir))
    if fetch is not None:
        records = _fetched(records, fetch)
    done = sum(record.cached for record in records)
    if progress is not None:
        progress(done, len(records))
    units = _plan_units(entries, tasks, records, recipe, n_workers)
    if units:
        runner = _run_in_process if n_workers == 1 or len(units) == 1 else _run_in_pool
        runner(units, n_workers, _Progress(progress, done, len(records)))
    return SynthesisResult(tuple(records), len(records) - done, done)


def _fetched(records: list[SynthesisRecord], fetch: FetchCallback) -> list[SynthesisRecord]:
    """``records`` with ``cached`` re-read for those ``fetch`` was asked to bring in."""
    missing = [record for record in records if not record.cached]
    if not missing:
        return records
    fetch(missing)
    return [
        record if record.cached else replace(record, cached=record.path.is_file())
        for record in records
    ]


def load_degraded(record: SynthesisRecord) -> NDArray[np.float32]:
    """The degraded input of ``record`` as float32 RGB in [0, 1] (exactly the 8-bit levels).

    Raises:
        ImageError: the cache file is missing or unreadable.
    """
    return to_float(read_png_u8(record.path))


def _image_paths(images: ImageSource) -> list[Path]:
    if isinstance(images, str | os.PathLike):
        return list_images(images)
    paths = [Path(p) for p in images]
    if not paths:
        raise ImageError("no images given")
    return paths


def _describe_images(paths: list[Path], recipe: _Recipe) -> list[_Image]:
    entries = []
    for index, path in enumerate(paths):
        context = _context(path.stem, recipe)
        entries.append(_Image(index, path, path.stem, file_sha256(path), context.fingerprint))
    return entries


def _plan_records(
    entries: list[_Image], tasks: Sequence[Task], recipe: _Recipe, cache_dir: Path
) -> list[SynthesisRecord]:
    """One record per (image, task); existence is checked here, before any worker starts."""
    records = []
    for entry in entries:
        for task in tasks:
            key = cache_key(
                task=task,
                image_sha256=entry.sha256,
                seed=recipe.seed,
                image_index=entry.index,
                context_fingerprint=entry.fingerprint,
                max_side=recipe.max_side,
                convert_grey=recipe.convert_grey,
            )
            path = cache_path(cache_dir, key)
            records.append(
                SynthesisRecord(
                    image_index=entry.index,
                    image_name=entry.name,
                    image_sha256=entry.sha256,
                    task_id=task.id,
                    task_text=str(task),
                    key=key,
                    path=path,
                    cached=path.is_file(),
                )
            )
    return records


def _plan_units(
    entries: list[_Image],
    tasks: Sequence[Task],
    records: list[SynthesisRecord],
    recipe: _Recipe,
    n_workers: int,
) -> list[_Unit]:
    """Split each image's missing tasks into near-equal chunks, enough to keep all workers busy."""
    missing = sum(not record.cached for record in records)
    chunk = max(1, math.ceil(missing / (n_workers * _UNITS_PER_WORKER)))
    if n_workers == 1:
        chunk = max(1, len(tasks))  # in-process: one unit per image, so its context is reused
    units = []
    for entry in entries:
        start = entry.index * len(tasks)
        for part in _split(_pending_jobs(tasks, records[start : start + len(tasks)]), chunk):
            units.append(
                _Unit(
                    image=entry,
                    recipe=recipe,
                    jobs=tuple((task, path) for task, path, _ in part),
                    weight=sum(count for _, _, count in part),
                )
            )
    return units


def _pending_jobs(
    tasks: Sequence[Task], records: Sequence[SynthesisRecord]
) -> list[tuple[Task, Path, int]]:
    """One image's missing (task, path, record count), once per key (duplicate tasks share)."""
    jobs: dict[str, tuple[Task, Path, int]] = {}
    for task, record in zip(tasks, records, strict=True):
        if not record.cached:
            count = jobs[record.key][2] if record.key in jobs else 0
            jobs[record.key] = (task, record.path, count + 1)
    return list(jobs.values())


def _split(items: list[_T], chunk: int) -> list[list[_T]]:
    """Consecutive parts of at most ``chunk`` items whose sizes differ by at most one."""
    n_parts = math.ceil(len(items) / chunk)
    if n_parts == 0:
        return []
    bounds = [index * len(items) // n_parts for index in range(n_parts + 1)]
    return [items[lo:hi] for lo, hi in itertools.pairwise(bounds)]


class _Progress:
    """Adds finished units to ``done`` and reports, so callers see a monotone count."""

    def __init__(self, callback: ProgressCallback | None, done: int, total: int) -> None:
        self._callback, self.done, self._total = callback, done, total

    def advance(self, count: int) -> None:
        self.done += count
        if self._callback is not None:
            self._callback(self.done, self._total)


def _run_in_process(units: list[_Unit], n_workers: int, progress: _Progress) -> None:
    for unit in units:
        _run_unit(unit)
        progress.advance(unit.weight)


def _run_in_pool(units: list[_Unit], n_workers: int, progress: _Progress) -> None:
    methods = multiprocessing.get_all_start_methods()
    mp_context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        mp_context.set_forkserver_preload([__name__])
    executor = ProcessPoolExecutor(
        max_workers=min(n_workers, len(units)), mp_context=mp_context, initializer=_init_worker
    )
    try:
        futures: dict[Future[int], _Unit] = {executor.submit(_run_unit, u): u for u in units}
        for future in as_completed(futures):
            unit = futures[future]
            try:
                future.result()
            except BrokenProcessPool as exc:
                raise SynthesisError(
                    f"a worker process died (killed, e.g. for memory?) while image "
                    f"{_describe(unit)} was being degraded by one of "
                    + ", ".join(f"'{task}'" for task, _ in unit.jobs)
                ) from exc
            progress.advance(unit.weight)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _init_worker() -> None:
    """Each worker is one of many processes: OpenCV's own thread pool would oversubscribe."""
    cv2.setNumThreads(1)


def _run_unit(unit: _Unit) -> int:
    """Decode the image once, then degrade and store it for each task of the unit."""
    image, recipe = unit.image, unit.recipe
    try:
        clean = load_image(image.path, max_side=recipe.max_side, convert_grey=recipe.convert_grey)
    except GirError as exc:
        raise SynthesisError(f"cannot load image {_describe(unit)}: {exc}") from exc
    context = _context(image.name, recipe)
    for task, path in unit.jobs:
        try:
            degraded = task.apply(clean, recipe.seed, image_index=image.index, context=context)
            save_png(path, degraded)
        except Exception as exc:
            raise SynthesisError(
                f"task '{task}' (id {task.id}) failed on image {_describe(unit)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return len(unit.jobs)


def _context(name: str, recipe: _Recipe) -> ImageContext:
    return ImageContext(name=name, depth_source=recipe.depth_source, snow_source=recipe.snow_source)


def _describe(unit: _Unit) -> str:
    return f"'{unit.image.name}' (index {unit.image.index}, {unit.image.path})"
