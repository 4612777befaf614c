"""Image sets in storage: ground truth, real-world and line-training images.

Each file is validated and decoded by :func:`gir_core.images.load_image_u8` (RGB, 8 bit, EXIF
orientation applied, sides cropped to multiples of 4, optionally downscaled) and stored as a PNG
of exactly those pixels under ``images/<set>/<position>-<name>.png``. We store the decoded pixels,
not the uploaded bytes, so the stored file *is* the ground truth: no reader has to repeat the
orientation, alpha, crop or downscale decisions, every later ``load_image`` of it is the identity,
and the recorded SHA-256 names the pixels a version was scored on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.benchmarks.models import Image, ImageSet
from app.errors import Conflict, Invalid, NotFound
from app.storage import Storage, get_storage
from gir_core.images import (
    encode_png,
    list_images,
    load_image,
    load_image_u8,
    read_png_u8,
    to_float,
)

Role = Literal["gt", "real", "train"]
ROLES: tuple[Role, ...] = ("gt", "real", "train")
Progress = Callable[[str], None]

_SET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def check_set_name(name: str) -> str:
    """A set name is part of storage keys and URLs: letters, digits, ``.``, ``_``, ``-``."""
    if not _SET_NAME.match(name or ""):
        raise Invalid(
            f"image set name {name!r} must be 1-80 letters, digits, '.', '_' or '-' "
            "and start with a letter or digit"
        )
    return name


def image_key(set_name: str, position: int, filename: str) -> str:
    """Storage key of one image: ``images/<set>/<position>-<stem>.png`` (stem made key-safe)."""
    stem = _UNSAFE.sub("_", Path(filename).stem).strip("._") or "image"
    return f"images/{set_name}/{position:04d}-{stem[:120]}.png"


def add_image_set(
    *,
    session: Session,
    folder: Path,
    name: str,
    role: Role,
    label: str = "",
    max_side: int | None = None,
    storage: Storage | None = None,
    progress: Progress | None = None,
) -> ImageSet:
    """Import every image of ``folder`` (sorted by file name) as a new set; all or nothing.

    Real-world sets accept greyscale files (old photos often are) by replicating the channel;
    ground truth refuses them, as :func:`~gir_core.images.load_image` explains. Files are written
    as they are decoded, so memory stays at one image; on any failure the written files are
    removed and nothing is committed.

    Raises:
        Invalid: a bad name or label, an unreadable file, or two files with the same pixels.
        Conflict: a set with this name exists.
    """
    check_set_name(name)
    if role not in ROLES:
        raise Invalid(f"image set role must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "real" and not label.strip():
        raise Invalid("a real-world set needs a kind, e.g. --kind 'old photo'")
    if session.scalar(select(ImageSet.id).where(ImageSet.name == name)) is not None:
        raise Conflict(f"an image set named {name!r} exists already; choose another name")
    paths = list_images(folder)
    store = storage or get_storage()
    image_set = ImageSet(name=name, role=role, label=label.strip()[:80], max_side=max_side)
    try:
        image_set.images = _store_images(paths, name, role, max_side, store, progress)
        session.add(image_set)
        session.commit()
    except BaseException:
        session.rollback()
        store.delete(f"images/{name}")
        raise
    return image_set


def _store_images(
    paths: Sequence[Path],
    set_name: str,
    role: Role,
    max_side: int | None,
    storage: Storage,
    progress: Progress | None,
) -> list[Image]:
    rows: list[Image] = []
    seen: dict[str, str] = {}
    for position, path in enumerate(paths):
        pixels = load_image_u8(path, max_side=max_side, convert_grey=role == "real")
        key = image_key(set_name, position, path.name)
        writer = storage.writer(key)
        writer.write(encode_png(pixels))
        writer.commit()
        if writer.sha256 in seen:
            raise Invalid(f"{path.name} has the same pixels as {seen[writer.sha256]}; remove one")
        seen[writer.sha256] = path.name
        height, width = pixels.shape[:2]
        rows.append(
            Image(
                position=position,
                filename=path.name[:255],
                sha256=writer.sha256,
                storage_key=key,
                width=width,
                height=height,
            )
        )
        if progress is not None:
            progress(path.name)
    return rows


def get_image_set(*, session: Session, name: str) -> ImageSet:
    """The set called ``name``.

    Raises:
        NotFound: there is none.
    """
    image_set = session.scalar(select(ImageSet).where(ImageSet.name == name))
    if image_set is None:
        raise NotFound(f"there is no image set named {name!r}")
    return image_set


def current_gt_set(*, session: Session) -> ImageSet:
    """The newest ground-truth set: the one lines are measured on and versions freeze.

    Raises:
        NotFound: no ground-truth set was added yet.
    """
    image_set = session.scalar(
        select(ImageSet).where(ImageSet.role == "gt").order_by(ImageSet.id.desc()).limit(1)
    )
    if image_set is None:
        raise NotFound("there is no ground-truth image set yet; add one with `images add-gt`")
    return image_set


def list_image_sets(*, session: Session, role: Role | None = None) -> list[ImageSet]:
    """Every set (or those of one role), oldest first."""
    query = select(ImageSet).order_by(ImageSet.id)
    if role is not None:
        query = query.where(ImageSet.role == role)
    return list(session.scalars(query))


def read_set_u8(image_set: ImageSet, storage: Storage | None = None) -> list[NDArray[np.uint8]]:
    """The stored pixels of a set, in position order (the order that seeds degradations)."""
    store = storage or get_storage()
    return [read_png_u8(store.local_path(image.storage_key)) for image in image_set.images]


def read_set(
    image_set: ImageSet, storage: Storage | None = None, *, max_side: int | None = None
) -> list[NDArray[np.float32]]:
    """The stored images of a set as float32 RGB in [0, 1], in position order; ``max_side``
    downscales them (as :func:`~gir_core.images.load_image` does), e.g. for quick clustering."""
    if max_side is None:
        return [to_float(pixels) for pixels in read_set_u8(image_set, storage)]
    store = storage or get_storage()
    return [
        load_image(store.local_path(i.storage_key), max_side=max_side) for i in image_set.images
    ]


def verify_set(image_set: ImageSet, storage: Storage | None = None) -> None:
    """Check that every stored file is present and unchanged (before a version cites it).

    Raises:
        Invalid: naming the first missing or altered file.
    """
    store = storage or get_storage()
    for image in image_set.images:
        if not store.exists(image.storage_key):
            raise Invalid(f"image set {image_set.name!r}: {image.filename} is missing in storage")
        # A folder hashes the file now; a bucket answers with the hash recorded at write time
        # (and its readers verify downloads against it), so freezing downloads nothing.
        if store.stored_sha256(image.storage_key) != image.sha256:
            raise Invalid(f"image set {image_set.name!r}: {image.filename} changed in storage")
