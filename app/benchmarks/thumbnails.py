"""Thumbnails of public tasks: what each representative task does to one fixed demo photo.

The tasks page shows, beside each representative task, its degradation applied to the same
:data:`SIDE` × :data:`SIDE` centre crop of a demo photo that ships inside an installed package
(:mod:`gir_core.demo`; :data:`PHOTO` has sky and fine structure, so haze, rain and blur all show).
The crop is taken at the photo's own resolution, never resized, so noise, blur and compression
look as they do on the benchmark's test images.

Rendering takes up to a second for weather tasks, so each PNG is computed once and cached in
storage under a key naming the task's hash, :data:`gir_core.tasks.DEGRADATION_VERSION` and this
module's recipe: a change to the degradations or to the recipe makes new keys, never stale
pictures. Hidden tasks are never rendered: their picture would reveal their secret spec.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.benchmarks.models import TaskDef
from app.errors import NotFound
from app.storage import get_storage, put_bytes
from gir_core.degradations import ImageContext
from gir_core.demo import DEMO_IMAGES
from gir_core.images import centre_crop, encode_png, load_image_u8, to_float
from gir_core.tasks import DEGRADATION_VERSION, Task

PHOTO = "china"
"""The demo photo every thumbnail degrades (see :data:`gir_core.demo.DEMO_IMAGES`)."""
SIDE = 128
"""Side of the square centre crop, in the photo's own pixels."""
SEED = 0
"""Synthesis seed of the thumbnails (image index 0): a fixed one, so pictures never change."""
CACHE_PREFIX = "cache/thumbnails"
_RECIPE = f"{PHOTO}-{SIDE}-s{SEED}"
_REPRESENTATIVE = "representative"


@cache
def _clean() -> NDArray[np.uint8]:
    """The unmodified crop (read once per process; the photo is a package file)."""
    photo = next(image for image in DEMO_IMAGES if image.name == PHOTO)
    return centre_crop(load_image_u8(photo.path), SIDE, SIDE)


def clean_thumbnail() -> bytes:
    """PNG of the unmodified crop every task thumbnail starts from (the "before" picture)."""
    return encode_png(_clean())


def thumbnail_key(task: Task) -> str:
    """Storage key of a task's cached thumbnail: task hash, degradation version, recipe.

    Example:
        >>> thumbnail_key(Task.parse("noise")).startswith("cache/thumbnails/v")
        True
    """
    return f"{CACHE_PREFIX}/v{DEGRADATION_VERSION}/{_RECIPE}/{task.id}.png"


def render(task: Task) -> bytes:
    """PNG of ``task`` applied to the clean crop (default depth and snow sources)."""
    context = ImageContext(name=PHOTO)
    degraded = task.apply(to_float(_clean()), SEED, image_index=0, context=context)
    return encode_png(degraded)


def task_thumbnail(*, session: Session, key: str) -> bytes:
    """PNG (:data:`SIDE` px square) of a representative task's degradation on the demo crop.

    Computed on first use and served from storage afterwards.

    Raises:
        NotFound: no task with this key, or a hidden one (the same message for both, so the
            answer tells nothing about hidden tasks).
    """
    row = session.scalar(select(TaskDef).where(TaskDef.key == key, TaskDef.kind == _REPRESENTATIVE))
    if row is None:
        raise NotFound(f"there is no public task with key {key!r}")
    task = Task.parse(row.spec)
    storage, cache_key = get_storage(), thumbnail_key(task)
    if storage.exists(cache_key):
        return storage.read_bytes(cache_key)
    data = render(task)
    put_bytes(storage, cache_key, data)
    return data
