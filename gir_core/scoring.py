"""The scoring loop: run a sandboxed model over every (task, image) and measure it.

Degraded inputs come from the synthesis cache (made once, content-addressed); the model runs in
its sandbox child; while it works on one image, a thread decodes the next inputs and another
computes the previous output's metrics, so the model is never waiting for us. Results are yielded
task by task, so a caller (the worker) can store each as it lands and resume by skipping keys.

Representative tasks also carry an :class:`Example` — the centre crop of the first test image's
input, output and ground truth — so a model page can show what the model did. Hidden tasks never
get one: their degraded inputs would reveal the hidden spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from gir_core.contract import check_output
from gir_core.convention import DEFAULT as DEFAULT_CONVENTION
from gir_core.convention import MetricConvention
from gir_core.degradations import DepthSource, SnowSource
from gir_core.errors import ContractError, ParameterError
from gir_core.images import centre_box, load_image, quantize, read_png_u8, to_float, to_uint8
from gir_core.metrics import niqe
from gir_core.sandbox import SandboxedModel
from gir_core.synthesis import synthesise
from gir_core.tasks import Task

TaskKind = Literal["representative", "hidden"]
Progress = Callable[[int, int, str], None]
_T = TypeVar("_T")
PREFETCH = 3
EXAMPLE_CROP = 160
"""Default side of the example crops: large enough to judge a restoration, small enough to store
one PNG per (submission, task)."""


@dataclass(frozen=True)
class BenchmarkTask:
    """One task of a benchmark: its public key (e.g. "12"), the task, and its kind."""

    key: str
    task: Task
    kind: TaskKind = "representative"


@dataclass(frozen=True)
class RealWorldSet:
    """A folder's worth of real degraded images without ground truth (scored with NIQE)."""

    name: str
    images: tuple[Path, ...]
    kind: str = "real-world"


@dataclass(frozen=True)
class Benchmark:
    """Everything scoring needs: GT images, tasks, seed, cache, real-world sets, and how to
    measure (the version's metric convention; the authors' unless said otherwise).

    ``real_world_max_side``: real-world inputs larger than this are downscaled *before* the model
    (None: full size); NIQE is always computed on the output at the size the model produced.
    """

    gt_images: tuple[Path, ...]
    tasks: tuple[BenchmarkTask, ...]
    seed: int
    cache_dir: Path
    max_side: int | None = None
    real_world: tuple[RealWorldSet, ...] = ()
    depth_source: DepthSource | None = None
    snow_source: SnowSource | None = None
    example_crop: int | None = EXAMPLE_CROP
    convention: MetricConvention = DEFAULT_CONVENTION
    real_world_max_side: int | None = None

    def __post_init__(self) -> None:
        keys = [task.key for task in self.tasks]
        if len(set(keys)) != len(keys):
            raise ParameterError("benchmark task keys must be unique")
        if not self.gt_images or not self.tasks:
            raise ParameterError("a benchmark needs at least one GT image and one task")
        if self.example_crop is not None and self.example_crop < 1:
            raise ParameterError(
                f"example_crop must be at least 1 (or None), got {self.example_crop}"
            )


@dataclass(frozen=True, eq=False)
class Example:
    """Centre crops (same box) of one test image's degraded input, model output and GT.

    All three are uint8 H×W×3; the output is quantised exactly as the metrics see it, so what a
    page shows is what was scored. Compared by identity (arrays have no single truth value).
    """

    input: NDArray[np.uint8]
    output: NDArray[np.uint8]
    gt: NDArray[np.uint8]

    def __repr__(self) -> str:
        return f"Example(shape={self.input.shape})"


@dataclass(frozen=True)
class TaskResult:
    """Per-image PSNR/SSIM of one task (image order = GT order) and the inference time.

    ``example``: crops of the first test image, for representative tasks only (None for hidden
    tasks or when :attr:`Benchmark.example_crop` is None); left out of equality, so a resumed
    run's results compare equal on their numbers.
    """

    key: str
    kind: TaskKind
    order: int
    psnr: tuple[float, ...]
    ssim: tuple[float, ...]
    seconds: float
    example: Example | None = field(default=None, compare=False)

    @property
    def mean_psnr(self) -> float:
        """Mean PSNR over the test images (exact summation, order-independent)."""
        return math.fsum(self.psnr) / len(self.psnr)

    @property
    def mean_ssim(self) -> float:
        """Mean SSIM over the test images."""
        return math.fsum(self.ssim) / len(self.ssim)


@dataclass(frozen=True)
class RealWorldResult:
    """NIQE (lower is better) of the model's outputs on one real-world set."""

    name: str
    kind: str
    niqe: tuple[float, ...]
    seconds: float

    @property
    def mean_niqe(self) -> float:
        """Mean over the images with a defined NIQE (flat images have none)."""
        finite = [value for value in self.niqe if math.isfinite(value)]
        return math.fsum(finite) / len(finite) if finite else math.nan


@dataclass
class _ScoringRun:
    """What one :func:`score` call works with: the model's sandbox, the threads that load the
    next inputs and measure the previous outputs, and the stacked GT groups."""

    sandbox: SandboxedModel
    metrics: ThreadPoolExecutor
    loader: ThreadPoolExecutor
    gt_groups: list[tuple[range, NDArray[np.float32]]] = field(default_factory=list)


def _prefetched(pool: ThreadPoolExecutor, loads: Iterable[Callable[[], _T]]) -> Iterator[_T]:
    """Yield ``load()`` results in order, keeping up to PREFETCH loads in flight."""
    queue: list[Future[_T]] = []
    for load in loads:
        queue.append(pool.submit(load))
        if len(queue) > PREFETCH:
            yield queue.pop(0).result()
    for future in queue:
        yield future.result()


METRIC_BATCH = 4
"""Outputs scored per metric call: batched calls skip per-call work, and with at most 4 a task
still keeps both metric threads busy."""
METRIC_BATCH_BYTES = 64 << 20
"""A batch also stops at this much float32 output (its GT copy is as large)."""


def _load_gts(
    paths: Sequence[Path], max_side: int | None
) -> tuple[list[NDArray[np.float32]], list[tuple[range, NDArray[np.float32]]]]:
    """The GT images and their metric groups: runs of equal shapes within both METRIC_BATCH
    limits, each stacked (N×H×W×3) once for the whole scoring.

    The images are views into the stacks, so the GT set is held once; a run is stacked as soon
    as it closes, so loading never holds more than one extra group.
    """
    groups: list[tuple[range, NDArray[np.float32]]] = []
    run: list[NDArray[np.float32]] = []
    for index, path in enumerate(paths):
        image = load_image(path, max_side=max_side)
        if run and (
            image.shape != run[0].shape
            or len(run) == METRIC_BATCH
            or (len(run) + 1) * image.nbytes > METRIC_BATCH_BYTES
        ):
            groups.append((range(index - len(run), index), np.stack(run)))
            run = []
        run.append(image)
    if run:
        groups.append((range(len(paths) - len(run), len(paths)), np.stack(run)))
    return [stack[i] for _, stack in groups for i in range(len(stack))], groups


def _full_reference(
    outputs: Sequence[NDArray[np.float32]], gts: NDArray[np.float32], convention: MetricConvention
) -> list[tuple[float, ...]]:
    """(PSNR, SSIM) of each output of a group against the stacked GTs (N×H×W×3), measured
    under the version's convention (channels, border crop, 8-bit rounding)."""
    return list(convention.measure_many(outputs, gts))  # as list[tuple[float, ...]] (invariant)


def _no_reference(output: NDArray[np.float32]) -> tuple[float, ...]:
    return (float(niqe(quantize(output))),)


def _restore(
    run: _ScoringRun, image: NDArray[np.float32], key: str
) -> tuple[NDArray[np.float32], float]:
    output, seconds = run.sandbox.run_timed(image)
    try:
        check_output(output, image.shape[0], image.shape[1])
    except ContractError as error:
        raise ContractError(f"{error} (task {key})") from None
    return output, seconds


def _example(
    image: NDArray[np.float32], output: NDArray[np.float32], gt: NDArray[np.float32], side: int
) -> Example:
    """The centred ``side``×``side`` window (the whole image if smaller) of all three."""
    top, left, height, width = centre_box(image.shape[0], image.shape[1], side, side)
    window = (slice(top, top + height), slice(left, left + width))
    return Example(to_uint8(image[window]), to_uint8(output[window]), to_uint8(gt[window]))


def _score_task(
    run: _ScoringRun,
    item: BenchmarkTask,
    inputs: Iterable[NDArray[np.float32]],
    gts: Sequence[NDArray[np.float32]],
    bench: Benchmark,
) -> TaskResult:
    futures, seconds, outputs = [], 0.0, []
    example: Future[Example] | None = None
    groups = iter(run.gt_groups)
    group = next(groups)
    for index, (image, gt) in enumerate(zip(inputs, gts, strict=True)):
        output, spent = _restore(run, image, item.key)
        seconds += spent
        outputs.append(output)
        if index + 1 == group[0].stop:  # a whole group is out: score it while the model goes on
            work = partial(_full_reference, outputs, group[1], bench.convention)
            futures.append(run.metrics.submit(work))
            outputs, group = [], next(groups, group)
        # Hidden inputs must never leave scoring: only public tasks get an example. Cropping runs
        # beside the metrics so the model's next image is not delayed.
        crop = bench.example_crop
        if index == 0 and crop is not None and item.kind == "representative":
            example = run.metrics.submit(_example, image, output, gt, crop)
    values = [value for future in futures for value in future.result()]
    return TaskResult(
        key=item.key,
        kind=item.kind,
        order=item.task.order,
        psnr=tuple(v[0] for v in values),
        ssim=tuple(v[1] for v in values),
        seconds=seconds,
        example=example.result() if example is not None else None,
    )


def score(
    model: Path | bytes | SandboxedModel,
    benchmark: Benchmark,
    *,
    skip: Iterable[str] = (),
    progress: Progress | None = None,
    synthesis_workers: int | None = None,
) -> Iterator[TaskResult | RealWorldResult]:
    """Score ``model`` on ``benchmark``: one TaskResult per task, then one per real-world set.

    ``skip`` holds task keys (and real-world set names) already stored: a resumed run yields
    only the rest, with identical values. ``model`` may be an already started sandbox (the
    worker validates and scores in one child); otherwise one is started and closed here.
    """
    done = set(skip)
    todo = [item for item in benchmark.tasks if item.key not in done]
    rest = [s for s in benchmark.real_world if s.name not in done]
    records = _synthesise(benchmark, todo, synthesis_workers)
    gts, gt_groups = _load_gts(benchmark.gt_images, benchmark.max_side)
    owned = not isinstance(model, SandboxedModel)
    sandbox = SandboxedModel(model) if not isinstance(model, SandboxedModel) else model
    try:
        if owned:
            sandbox.start()
        with ThreadPoolExecutor(2) as metrics, ThreadPoolExecutor(1) as loader:
            run = _ScoringRun(sandbox, metrics, loader, gt_groups=gt_groups)
            yield from _score_tasks(run, todo, records, gts, progress, benchmark)
            for real in rest:
                yield _score_real_world(run, real, benchmark.real_world_max_side)
    finally:
        if owned:
            sandbox.close()


def _synthesise(
    benchmark: Benchmark, todo: Sequence[BenchmarkTask], workers: int | None
) -> dict[tuple[int, str], Path]:
    if not todo:
        return {}
    result = synthesise(
        list(benchmark.gt_images),
        [item.task for item in todo],
        seed=benchmark.seed,
        cache_dir=benchmark.cache_dir,
        max_side=benchmark.max_side,
        depth_source=benchmark.depth_source,
        snow_source=benchmark.snow_source,
        workers=workers,
    )
    return {(record.image_index, record.task_id): record.path for record in result.records}


def _score_tasks(
    run: _ScoringRun,
    todo: Sequence[BenchmarkTask],
    records: dict[tuple[int, str], Path],
    gts: Sequence[NDArray[np.float32]],
    progress: Progress | None,
    bench: Benchmark,
) -> Iterator[TaskResult]:
    def loads() -> Iterator[Callable[[], NDArray[np.float32]]]:
        for item in todo:
            for index in range(len(gts)):
                path = records[(index, item.task.id)]
                yield partial(_load_input, path)

    stream = _prefetched(run.loader, loads())
    for done, item in enumerate(todo, start=1):
        inputs = (next(stream) for _ in gts)
        yield _score_task(run, item, inputs, gts, bench)
        if progress is not None:
            progress(done, len(todo), item.key)


def _load_input(path: Path) -> NDArray[np.float32]:
    return to_float(read_png_u8(path))


def _score_real_world(
    run: _ScoringRun, real: RealWorldSet, max_side: int | None
) -> RealWorldResult:
    futures, seconds = [], 0.0
    loads = (partial(load_image, p, max_side=max_side, convert_grey=True) for p in real.images)
    for image in _prefetched(run.loader, loads):
        output, spent = _restore(run, image, real.name)
        seconds += spent
        futures.append(run.metrics.submit(_no_reference, output))
    values = tuple(future.result()[0] for future in futures)
    return RealWorldResult(real.name, real.kind, values, seconds)
