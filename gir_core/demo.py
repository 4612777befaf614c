"""The demo benchmark's ground truth: photos that ship inside installed packages, no download.

Seven colour photos come with scikit-image and scikit-learn wheels, which GIR Bench already
depends on, so the embedded demo works offline. Each is centre-cropped (never resized) to at most
``max_side`` × ``max_side`` with sides that are multiples of 4; the rest of each photo stays free
for training patches disjoint from the test crop (see :func:`demo_crop_box`).

Licences are recorded as the shipping packages state them; :func:`credits_text` renders them for a
credits file, which the CC BY 2.0 photos require.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ImageError, ParameterError
from gir_core.images import (
    centre_box,
    centre_crop,
    encode_png,
    load_image_u8,
    to_float,
    write_bytes_atomic,
)

CREDITS_FILE = "CREDITS.txt"

_SKIMAGE_NOTE = "as shipped in scikit-image 0.26 (skimage/data)"
_SKLEARN_NOTE = "as shipped in scikit-learn (sklearn/datasets/images, see its README.txt)"


@dataclass(frozen=True)
class DemoImage:
    """One package-shipped photo and what its package says about where it came from.

    Attributes:
        name: short name; also the PNG file stem written by :func:`write_demo_images`.
        module: import name of the package that ships the file (``skimage`` / ``sklearn``).
        distribution: the package's name on PyPI.
        relative_path: the file's path inside the package folder.
        credit: who made it, as the package credits them.
        licence: the licence as the package states it (or the honest absence of one).
        sha256: SHA-256 of the file in the pinned package version (checked by the tests).
    """

    name: str
    module: str
    distribution: str
    relative_path: str
    credit: str
    licence: str
    sha256: str

    @property
    def path(self) -> Path:
        """Location of the file in the installed package (found without importing it)."""
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ImageError(f"demo image {self.name!r}: package {self.distribution} not installed")
        return Path(next(iter(spec.submodule_search_locations))) / self.relative_path


DEMO_IMAGES: tuple[DemoImage, ...] = (
    DemoImage(
        name="astronaut",
        module="skimage",
        distribution="scikit-image",
        relative_path="data/astronaut.png",
        credit=f"Eileen Collins, photograph by NASA (NASA Great Images), {_SKIMAGE_NOTE}",
        licence="Public domain (no known copyright restrictions)",
        sha256="88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    ),
    DemoImage(
        name="chelsea",
        module="skimage",
        distribution="scikit-image",
        relative_path="data/chelsea.png",
        credit=f"Chelsea the cat, photograph by Stéfan van der Walt, {_SKIMAGE_NOTE}",
        licence="CC0 (no copyright restrictions)",
        sha256="596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
    ),
    DemoImage(
        name="coffee",
        module="skimage",
        distribution="scikit-image",
        relative_path="data/coffee.png",
        credit=(
            "Coffee cup, photograph by Rachel Michetti, courtesy of Pikolo Espresso Bar, "
            f"{_SKIMAGE_NOTE}"
        ),
        licence="CC0 (no copyright restrictions)",
        sha256="cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
    ),
    DemoImage(
        name="rocket",
        module="skimage",
        distribution="scikit-image",
        relative_path="data/rocket.jpg",
        credit=f"Launch of DSCOVR on Falcon 9, photograph by SpaceX, {_SKIMAGE_NOTE}",
        licence="Public domain (released by SpaceX)",
        sha256="c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
    ),
    DemoImage(
        name="motorcycle_left",
        module="skimage",
        distribution="scikit-image",
        relative_path="data/motorcycle_left.png",
        credit=(
            "Motorcycle, left view of the Middlebury 2014 stereo dataset (N. Nesic, P. Westling, "
            "X. Wang, Y. Kitajima, G. Krathwohl, D. Scharstein; Scharstein et al., GCPR 2014), "
            f"downsampled ×4, {_SKIMAGE_NOTE}"
        ),
        licence=(
            "Not stated for this photo: scikit-image's docstring credits the Middlebury 2014 "
            "stereo dataset (cite Scharstein et al., GCPR 2014) but names no licence, and its "
            "LICENSE.txt only gives BSD-3-Clause for 'Files: *' under the scikit-image team's "
            "copyright, with no entry for third-party data. Treat as research use with "
            "attribution; check vision.middlebury.edu/stereo before redistributing."
        ),
        sha256="db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
    ),
    DemoImage(
        name="china",
        module="sklearn",
        distribution="scikit-learn",
        relative_path="datasets/images/china.jpg",
        credit=(
            "Photograph by danielbuechele (flickr.com/photos/danielbuechele/6061409035), "
            f"retrieved by Robert Layton, {_SKLEARN_NOTE}"
        ),
        licence="CC BY 2.0 (creativecommons.org/licenses/by/2.0/), some rights reserved",
        sha256="8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
    ),
    DemoImage(
        name="flower",
        module="sklearn",
        distribution="scikit-learn",
        relative_path="datasets/images/flower.jpg",
        credit=(
            "Photograph from flickr.com/photos/vultilion/6056698931 (scikit-learn's README "
            "attributes it to danielbuechele while linking vultilion's photostream), retrieved "
            f"by Robert Layton, {_SKLEARN_NOTE}"
        ),
        licence="CC BY 2.0 (creativecommons.org/licenses/by/2.0/), some rights reserved",
        sha256="a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
    ),
)
"""The demo photos, in benchmark order (index in this tuple = image index)."""


def demo_crop_box(image: DemoImage, max_side: int = 256) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the test crop inside the full, multiple-of-4 photo.

    Line training on the demo takes its patches outside this box, so training and test pixels are
    disjoint (a demo compromise: same photos, different regions).
    """
    full = load_image_u8(image.path)
    side = _checked_side(max_side)
    return centre_box(full.shape[0], full.shape[1], side, side)


def demo_images(max_side: int = 256) -> list[tuple[DemoImage, NDArray[np.float32]]]:
    """Every demo photo as float32 RGB, centre-cropped to at most ``max_side`` × ``max_side``.

    Example:
        >>> [(d.name, img.shape) for d, img in demo_images(128)][:1]
        [('astronaut', (128, 128, 3))]
    """
    return [(image, to_float(_demo_u8(image, max_side))) for image in DEMO_IMAGES]


def _demo_u8(image: DemoImage, max_side: int) -> NDArray[np.uint8]:
    side = _checked_side(max_side)
    return centre_crop(load_image_u8(image.path), side, side)


def _checked_side(max_side: int) -> int:
    """``max_side`` rounded down to a multiple of 4, so crops stay multiples of 4."""
    if max_side < 4:
        raise ParameterError(f"max_side must be at least 4, got {max_side}")
    return max_side - max_side % 4


def write_demo_images(folder: str | os.PathLike[str], max_side: int = 256) -> list[Path]:
    """Write each demo crop as ``<name>.png`` (plus :data:`CREDITS_FILE`) into ``folder``.

    Idempotent: a file whose bytes already match is left untouched (same mtime), so re-running
    it never invalidates anything keyed on the files. Writes are atomic.

    Returns:
        The PNG paths, in :data:`DEMO_IMAGES` order.
    """
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in DEMO_IMAGES:
        target = root / f"{image.name}.png"
        _write_if_changed(target, encode_png(_demo_u8(image, max_side)))
        paths.append(target)
    _write_if_changed(root / CREDITS_FILE, credits_text().encode("utf-8"))
    return paths


def _write_if_changed(target: Path, data: bytes) -> None:
    if target.is_file() and target.read_bytes() == data:
        return
    write_bytes_atomic(target, data)


def credits_text() -> str:
    """Plain-text credits and licences for the demo photos, one block per photo."""
    blocks = [
        f"{image.name}.png\n  source: {image.distribution}, {image.relative_path}\n"
        f"  credit: {image.credit}\n  licence: {image.licence}\n"
        for image in DEMO_IMAGES
    ]
    header = "GIR Bench demo ground truth: centre crops of photos shipped in Python packages.\n\n"
    return header + "\n".join(blocks)
