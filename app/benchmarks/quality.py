"""Line quality in the service: measure what doing nothing scores, mark and refuse weak lines.

The rule itself is :mod:`gir_core.line_quality`. The input PSNR of a task is measured on
the same degraded inputs submissions get (the synthesis cache, benchmark seed, GT set) under
the metric convention, so the identity model scores exactly it; freezing measures it for tasks
whose lines came without it (imported lines). A version whose ground truth is a photo shipped in
an installed package is marked public (:func:`public_photo_matches`).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.benchmarks.images import current_gt_set, read_set_u8
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef
from app.settings import get_settings
from app.storage import Storage, get_storage
from gir_core.convention import DEFAULT, MetricConvention
from gir_core.errors import ImageError
from gir_core.images import centre_crop, load_image_u8, to_float
from gir_core.line_quality import WeakLine, line_problems, weak_lines
from gir_core.synthesis import load_degraded, synthesise
from gir_core.tasks import Task

PHOTO_PACKAGES: tuple[tuple[str, str], ...] = (
    ("skimage", "data"),
    ("sklearn", "datasets/images"),
)
"""(package, folder) pairs whose shipped photos anyone has: ground truth from them is public."""


def measure_inputs(
    *,
    session: Session,
    tasks: Sequence[TaskDef],
    convention: MetricConvention = DEFAULT,
    storage: Storage | None = None,
) -> None:
    """Set ``input_psnr`` of ``tasks`` (mean over the GT set of the degraded input's PSNR)."""
    if not tasks:
        return
    store = storage or get_storage()
    gt = current_gt_set(session=session)
    truths = [to_float(pixels) for pixels in read_set_u8(gt, store)]
    specs = [Task.parse(task.spec) for task in tasks]
    made = synthesise(
        [store.local_path(image.storage_key) for image in gt.images],
        specs,
        seed=get_settings().hidden_seed,
        cache_dir=store.synthesis_dir(),  # local_path would ask S3 for a "cache" object
        max_side=gt.max_side,
        workers=1,
    )
    by_task: dict[str, list[float]] = {}
    for record in made.records:
        degraded = convention.prepare(load_degraded(record))
        value = convention.psnr(degraded, truths[record.image_index])
        by_task.setdefault(record.task_id, []).append(value)
    for task, spec in zip(tasks, specs, strict=True):
        task.input_psnr = float(np.mean(by_task[spec.id]))
    session.commit()


def task_marks(task: TaskDef) -> tuple[str, ...]:
    """The line-quality marks of a pool task."""
    return line_problems(task.input_psnr, task.acceptance_psnr, task.excellence_psnr)


def version_weak_lines(version: BenchmarkVersion) -> list[WeakLine]:
    """The tasks of a frozen version whose lines break the rule."""
    rows = sorted(version.tasks, key=lambda vt: vt.position)
    return weak_lines(
        (vt.task.key, vt.input_psnr, vt.acceptance_psnr, vt.excellence_psnr) for vt in rows
    )


@functools.cache
def shipped_photos() -> tuple[tuple[str, NDArray[np.uint8]], ...]:
    """(file name, pixels) of every photo shipped in :data:`PHOTO_PACKAGES` (read once)."""
    found = []
    for path in _shipped_photos():
        try:
            found.append((path.name, load_image_u8(path)))
        except ImageError:  # a file we cannot decode as RGB is not a photo we compare
            continue
    return tuple(found)


def shipped_match(pixels: NDArray[np.uint8]) -> str | None:
    """The shipped photo whose centre crop of this size equals ``pixels`` (the demo's GT is
    such crops; a whole photo is its own crop), or None."""
    height, width = pixels.shape[:2]
    for name, photo in shipped_photos():
        if photo.shape[0] < height or photo.shape[1] < width or photo.ndim != pixels.ndim:
            continue
        if np.array_equal(centre_crop(photo, height, width), pixels):
            return name
    return None


def _shipped_photos() -> list[Path]:
    found = []
    for module, folder in PHOTO_PACKAGES:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations))) / folder
        found += sorted(p for p in root.glob("*") if p.suffix.lower() in {".png", ".jpg"})
    return found


def public_photo_matches(image_set: ImageSet, storage: Storage | None = None) -> list[str]:
    """Files of ``image_set`` whose pixels equal a package-shipped photo (or a centre crop)."""
    matches = []
    for image, pixels in zip(image_set.images, read_set_u8(image_set, storage), strict=True):
        found = shipped_match(pixels)
        if found is not None:
            matches.append(f"{image.filename} = {found}")
    return matches
