"""Acceptance and excellence lines of the pool's tasks: import them from CSV or train them.

A trained line is measured exactly as submissions are scored: on the current GT set, degraded
with the benchmark seed (``GIR_HIDDEN_SEED``, which :func:`~app.benchmarks.versions.freeze_version`
records), so a line and a submission's PSNR compare like for like. Training images must be
disjoint from the test images: a ``train`` image set, or, for the demo set only, the regions of the
package-shipped photos outside their centre test crops (a demo compromise the README states).
Both line networks are exported to ONNX in storage (``lines/<task>/<kind>.onnx``) so they can be
scored as reference rows like any submission.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.benchmarks.images import current_gt_set, get_image_set, read_set, read_set_u8
from app.benchmarks.models import ImageSet, LineRecord, TaskDef
from app.benchmarks.progress import (
    DEFAULT_CHECKPOINT_EVERY,
    ProgressRecord,
    StorageCheckpoints,
    checkpoint_key,
    clear_progress,
)
from app.benchmarks.provenance import (
    Target,
    code_version,
    demo_regions_hash,
    set_hash,
    target,
)
from app.benchmarks.service import get_task, list_tasks
from app.db import new_session, utcnow
from app.errors import Invalid
from app.settings import get_settings
from app.storage import Storage, get_storage
from gir_core.baselines import (
    KINDS,
    LineKind,
    LineResult,
    TrainingOptions,
    TrainingProfile,
    get_profile,
    network_name,
    options_from_env,
    train_line,
)
from gir_core.convention import DEFAULT as DEFAULT_CONVENTION
from gir_core.convention import MetricConvention
from gir_core.demo import DEMO_IMAGES, demo_crop_box
from gir_core.errors import GirError
from gir_core.images import crop_to_multiple, load_image_u8, to_float

LineProgress = Callable[[LineKind, int, int], None]
"""Called while training with (line kind, steps done, total steps)."""

_DEMO = {image.name: image for image in DEMO_IMAGES}


def line_model_key(task_key: str, kind: LineKind) -> str:
    """Storage key of a trained line network's ONNX file."""
    return f"lines/{task_key}/{kind}.onnx"


@dataclass(frozen=True)
class TrainedLines:
    """The two lines of one task as measured, and where their ONNX models are stored."""

    task_key: str
    acceptance_psnr: float
    excellence_psnr: float
    input_psnr: float
    model_keys: dict[LineKind, str]


def train_lines(
    *,
    session: Session,
    task_key: str,
    profile: str,
    train_set: str | None = None,
    seed: int = 0,
    device: str = "cpu",
    num_threads: int | None = None,
    storage: Storage | None = None,
    progress: LineProgress | None = None,
    convention: MetricConvention = DEFAULT_CONVENTION,
    options: TrainingOptions | None = None,
) -> TrainedLines:
    """Train and measure both lines of one task, store their ONNX models, record the values.

    Args:
        task_key: the pool task.
        profile: ``paper``, ``demo`` or ``tiny`` (recorded as ``trained:<profile>``).
        train_set: name of a ``train`` image set; None trains the demo GT set on the regions
            outside its test crops.
        seed: decides the initial weights and every training patch.
        convention: the metric convention of the version these lines are for (the authors'
            by default); recorded in the lines' provenance.
        options: hardware options (default: ``GIR_LINES_*`` with ``device`` as the device);
            checkpoints go to storage under ``lines/<task>/<kind>.ckpt`` and a rerun resumes.

    Raises:
        NotFound: unknown task or set, or no GT set.
        Invalid: unknown profile, no usable training images.
    """
    store = storage or get_storage()
    task = get_task(session=session, key=task_key)
    chosen = _profile(profile)
    gt = current_gt_set(session=session)
    train_hash = (
        demo_regions_hash(gt)
        if train_set is None
        else set_hash(get_image_set(session=session, name=train_set))
    )
    trainer = _Trainer(
        train=_training_images(session, gt, train_set, chosen.patch_size, store),
        test=read_set(gt, store),
        profile=chosen,
        seed=seed,
        options=options or _options(device),
        num_threads=num_threads,
        storage=store,
        convention=convention,
    )
    session.commit()  # training takes minutes to hours: hold no transaction open meanwhile
    results = {kind: trainer.run(task, kind, progress) for kind in KINDS}
    task.acceptance_psnr = results["acceptance"].psnr
    task.excellence_psnr = results["excellence"].psnr
    task.input_psnr = results["acceptance"].input_psnr
    task.line_source = f"trained:{chosen.name}"
    goal = target(session=session, convention=convention)
    for kind, result in results.items():
        session.add(_record(task, kind, result, goal, chosen, seed, train_hash))
    session.commit()
    return TrainedLines(
        task_key=task.key,
        acceptance_psnr=results["acceptance"].psnr,
        excellence_psnr=results["excellence"].psnr,
        input_psnr=results["acceptance"].input_psnr,
        model_keys={kind: line_model_key(task.key, kind) for kind in KINDS},
    )


def train_many(
    keys: Sequence[str], *, profile: str, device: str = "cpu", **options: Any
) -> Iterator[TrainedLines]:
    """Train the lines of ``keys``, each in its own session; on a GPU up to
    ``GIR_LINES_PER_GPU`` tasks at once (small nets use a fraction of a GPU), in order of
    completion. Other keyword arguments go to :func:`train_lines`."""
    chosen = _options(device)
    concurrent = chosen.per_gpu if chosen.device.type == "cuda" else 1

    def one(key: str) -> TrainedLines:
        with new_session() as session:
            return train_lines(
                session=session, task_key=key, profile=profile, options=chosen, **options
            )

    if concurrent <= 1:
        yield from (one(key) for key in keys)
        return
    with ThreadPoolExecutor(max_workers=concurrent, thread_name_prefix="gir-lines") as pool:
        yield from (future.result() for future in as_completed(pool.submit(one, k) for k in keys))


@dataclass(frozen=True)
class _Trainer:
    """Everything one task's two line trainings share."""

    train: list[NDArray[np.float32]]
    test: list[NDArray[np.float32]]
    profile: TrainingProfile
    seed: int
    options: TrainingOptions
    num_threads: int | None
    storage: Storage
    convention: MetricConvention

    def run(self, task: TaskDef, kind: LineKind, progress: LineProgress | None) -> LineResult:
        """Train one line, measure it on the test set, store its ONNX model."""
        on_step = _bind(progress, kind, self.storage, task.key)
        checkpoints = StorageCheckpoints(self.storage, checkpoint_key(task.key, kind))
        with tempfile.TemporaryDirectory(prefix="gir-line-") as folder:
            onnx_path = Path(folder) / f"{kind}.onnx"
            result = train_line(
                task.spec,
                self.train,
                self.test,
                kind=kind,
                profile=self.profile,
                seed=self.seed,
                benchmark_seed=get_settings().hidden_seed,
                onnx_path=onnx_path,
                progress=on_step,
                num_threads=self.num_threads,
                convention=self.convention,
                options=self.options,
                checkpoints=checkpoints,
            )
            _upload(self.storage, onnx_path, line_model_key(task.key, kind))
        checkpoints.clear()
        clear_progress(self.storage, task.key, kind)
        return result


def _record(
    task: TaskDef,
    kind: LineKind,
    result: LineResult,
    goal: Target,
    profile: TrainingProfile,
    seed: int,
    train_hash: str,
) -> LineRecord:
    """The provenance of a line just trained (``goal`` is what it was measured against)."""
    network = network_name(
        kind,
        features=profile.acceptance_features,
        blocks=profile.excellence_blocks,
        channels=profile.excellence_channels,
    )
    return LineRecord(
        task_id=task.id,
        kind=kind,
        psnr=result.psnr,
        gt_hash=goal.gt_hash,
        degradation_version=goal.degradation_version,
        seed=goal.seed,
        metric_convention=goal.metric_convention,
        network=network,
        profile=profile.name,
        iterations=profile.for_kind(kind).iterations,
        train_set_hash=train_hash,
        train_seed=seed,
        code_version=code_version(),
        made_at=utcnow(),
        source=f"trained:{profile.name}",
    )


def _options(device: str) -> TrainingOptions:
    """``GIR_LINES_*`` options, the device given by the caller (CLI flag or worker setting)."""
    try:
        found = options_from_env({**os.environ, "GIR_LINES_DEVICE": device})
    except GirError as error:
        raise Invalid(str(error)) from None
    every = found.checkpoint_every or DEFAULT_CHECKPOINT_EVERY
    return replace(found, checkpoint_every=every)


def _bind(
    progress: LineProgress | None, kind: LineKind, storage: Storage, task_key: str
) -> Callable[[int, int, float], None]:
    """Report steps to the caller and to the progress record the admin page reads."""
    tracker = ProgressRecord(storage, task_key, kind)

    def on_step(done: int, total: int, _loss: float) -> None:
        tracker.update(done, total)
        if progress is not None:
            progress(kind, done, total)

    return on_step


def _profile(name: str) -> TrainingProfile:
    try:
        return get_profile(name)
    except GirError as error:
        raise Invalid(str(error)) from None


def _upload(storage: Storage, path: Path, key: str) -> None:
    """Copy a local file into storage (atomic on commit), so any backend can hold line models."""
    writer = storage.writer(key)
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                writer.write(chunk)
        writer.commit()
    except BaseException:
        writer.abort()
        raise


def _training_images(
    session: Session, gt: ImageSet, train_set: str | None, patch_size: int, storage: Storage
) -> list[NDArray[np.float32]]:
    if train_set is None:
        return demo_training_regions(gt, patch_size, storage)
    image_set = get_image_set(session=session, name=train_set)
    if image_set.role != "train":
        raise Invalid(
            f"image set {train_set!r} is a {image_set.role} set; train lines on a set added "
            "with `images add-train`"
        )
    return read_set(image_set, storage)


def demo_training_regions(
    gt: ImageSet, patch_size: int, storage: Storage | None = None
) -> list[NDArray[np.float32]]:
    """The parts of the demo photos outside their test crops (top, bottom, left, right strips),
    each at least ``patch_size`` on both sides; refuses a GT set that is not the demo set.

    Raises:
        Invalid: an image of ``gt`` is not a centre crop of a demo photo, or no strip is large
            enough for the training patches.
    """
    regions: list[NDArray[np.float32]] = []
    for image, pixels in zip(gt.images, read_set_u8(gt, storage), strict=True):
        full, box = _demo_box(gt, image.filename, pixels)
        regions += [to_float(s) for s in _strips(full, box) if min(s.shape[:2]) >= patch_size]
    if not regions:
        raise Invalid(
            f"the demo photos leave no region of at least {patch_size}×{patch_size} pixels "
            "outside the test crops; add training images with `images add-train`"
        )
    return regions


def _demo_box(
    gt: ImageSet, filename: str, pixels: NDArray[np.uint8]
) -> tuple[NDArray[np.uint8], tuple[int, int, int, int]]:
    demo = _DEMO.get(Path(filename).stem)
    height, width = pixels.shape[:2]
    if demo is not None:
        full = load_image_u8(demo.path)
        top, left, h, w = demo_crop_box(demo, max(height, width))
        if (h, w) == (height, width) and np.array_equal(
            full[top : top + h, left : left + w], pixels
        ):
            return full, (top, left, h, w)
    raise Invalid(
        f"GT set {gt.name!r} is not the demo set ({filename} is not a demo crop): lines need "
        "training images disjoint from the test images; add them with `images add-train DIR "
        "--name NAME` and pass --train-set NAME"
    )


def _strips(full: NDArray[np.uint8], box: tuple[int, int, int, int]) -> list[NDArray[np.uint8]]:
    top, left, h, w = box
    pieces = [
        full[:top],
        full[top + h :],
        full[top : top + h, :left],
        full[top : top + h, left + w :],
    ]
    return [crop_to_multiple(piece) for piece in pieces if min(piece.shape[:2]) >= 4]


@dataclass(frozen=True)
class LineModel:
    """A trained line network in storage, for scoring as a reference row."""

    task_key: str
    kind: LineKind
    storage_key: str


def line_models(*, session: Session, storage: Storage | None = None) -> list[LineModel]:
    """Every stored line network of the pool's trained tasks, in task order."""
    store = storage or get_storage()
    found = []
    for task in list_tasks(session=session):
        if not task.line_source.startswith("trained:"):
            continue
        for kind in KINDS:
            key = line_model_key(task.key, kind)
            if store.exists(key):
                found.append(LineModel(task.key, kind, key))
    return found
