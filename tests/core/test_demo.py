"""The demo ground truth: real files from installed wheels, honest credits, stable crops."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from pathlib import Path

import numpy as np
import pytest

from gir_core.demo import (
    CREDITS_FILE,
    DEMO_IMAGES,
    DemoImage,
    credits_text,
    demo_crop_box,
    demo_images,
    write_demo_images,
)
from gir_core.errors import ParameterError
from gir_core.images import file_sha256, list_images, load_image, read_png_u8, to_uint8

# SHA-256 (first 16 hex digits) of the 64×64 crops' 8-bit pixels. A change means the demo ground
# truth changed, e.g. a Pillow upgrade with another JPEG decoder: the demo benchmark then needs
# a new version.
CROP_64_PIXEL_HASHES = {
    "astronaut": "890ab32a3d468a4d",
    "chelsea": "6fe75f27e85dc29f",
    "coffee": "295ae0f0415757a1",
    "rocket": "b93442f5a7c60720",
    "motorcycle_left": "e63e6f56a08bfe19",
    "china": "b8545bd7a95825d9",
    "flower": "f60c43f93f15da83",
}
FULL_SHAPES = {  # after the multiple-of-4 crop of the shipped file
    "astronaut": (512, 512),
    "chelsea": (300, 448),
    "coffee": (400, 600),
    "rocket": (424, 640),
    "motorcycle_left": (500, 740),
    "china": (424, 640),
    "flower": (424, 640),
}


def test_table_lists_the_seven_photos_in_order() -> None:
    assert [d.name for d in DEMO_IMAGES] == list(CROP_64_PIXEL_HASHES)


@pytest.mark.parametrize("demo", DEMO_IMAGES, ids=lambda d: d.name)
def test_each_file_is_in_its_installed_wheel_with_the_pinned_bytes(demo: DemoImage) -> None:
    shipped = importlib.metadata.files(demo.distribution) or []
    wanted = f"{demo.module}/{demo.relative_path}"
    assert wanted in {str(entry) for entry in shipped}, f"{wanted} not in {demo.distribution}"
    assert demo.path.is_file()
    assert file_sha256(demo.path) == demo.sha256


def test_licences_say_what_the_packages_say() -> None:
    by_name = {d.name: d for d in DEMO_IMAGES}
    assert by_name["astronaut"].licence.startswith("Public domain")
    assert by_name["rocket"].licence.startswith("Public domain")
    assert by_name["chelsea"].licence.startswith("CC0")
    assert "Stéfan van der Walt" in by_name["chelsea"].credit
    assert by_name["coffee"].licence.startswith("CC0")
    assert "Rachel Michetti" in by_name["coffee"].credit
    assert "Pikolo Espresso Bar" in by_name["coffee"].credit
    assert by_name["motorcycle_left"].licence.startswith("Not stated")
    assert "Scharstein" in by_name["motorcycle_left"].credit
    for name in ("china", "flower"):
        assert by_name[name].licence.startswith("CC BY 2.0")


def test_credits_agree_with_the_shipped_documentation() -> None:
    import skimage.data

    assert "public domain" in (skimage.data.astronaut.__doc__ or "")
    assert "CC0 by the photographer (Stefan van der Walt)" in (skimage.data.chelsea.__doc__ or "")
    assert "CC0 by the photographer (Rachel Michetti)" in (skimage.data.coffee.__doc__ or "")
    assert "released in the public domain" in (skimage.data.rocket.__doc__ or "")
    motorcycle_doc = skimage.data.stereo_motorcycle.__doc__ or ""
    assert "Middlebury 2014" in motorcycle_doc
    assert "licen" not in motorcycle_doc.lower()  # why we record "Not stated"
    china = next(d for d in DEMO_IMAGES if d.name == "china")
    readme = (china.path.parent / "README.txt").read_text()
    assert "creativecommons.org/licenses/by/2.0" in readme
    assert "6061409035" in readme and "6061409035" in china.credit
    flower = next(d for d in DEMO_IMAGES if d.name == "flower")
    assert "vultilion/6056698931" in readme and "vultilion/6056698931" in flower.credit


def test_demo_images_are_centre_crops_of_the_full_photos() -> None:
    crops = demo_images(64)
    for demo, crop in crops:
        assert crop.shape == (64, 64, 3) and crop.dtype == np.float32
        full = load_image(demo.path)
        assert full.shape[:2] == FULL_SHAPES[demo.name]
        top, left, height, width = demo_crop_box(demo, 64)
        assert (height, width) == (64, 64)
        assert (top, left) == ((full.shape[0] - 64) // 2, (full.shape[1] - 64) // 2)
        np.testing.assert_array_equal(crop, full[top : top + 64, left : left + 64])


def test_demo_crops_are_stable_across_calls_and_versions() -> None:
    first, second = demo_images(64), demo_images(64)
    for (demo, a), (_, b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
        digest = hashlib.sha256(to_uint8(a).tobytes()).hexdigest()[:16]
        assert digest == CROP_64_PIXEL_HASHES[demo.name], demo.name


def test_max_side_is_rounded_down_to_a_multiple_of_four_and_clamped() -> None:
    assert {img.shape for _, img in demo_images(102)} == {(100, 100, 3)}
    shapes = {demo.name: img.shape[:2] for demo, img in demo_images(10_000)}
    assert shapes == FULL_SHAPES
    with pytest.raises(ParameterError, match="at least 4"):
        demo_images(3)


def test_write_demo_images_is_idempotent(tmp_path: Path) -> None:
    paths = write_demo_images(tmp_path, max_side=32)
    assert [p.name for p in paths] == [f"{d.name}.png" for d in DEMO_IMAGES]
    assert list_images(tmp_path) == sorted(paths, key=lambda p: p.name)
    for path, (_, crop) in zip(paths, demo_images(32), strict=True):
        np.testing.assert_array_equal(read_png_u8(path), to_uint8(crop))
    credits = (tmp_path / CREDITS_FILE).read_text("utf-8")
    assert credits == credits_text()
    assert all(f"{d.name}.png" in credits for d in DEMO_IMAGES)

    stamp = 1_000_000_000
    for path in [*paths, tmp_path / CREDITS_FILE]:
        os.utime(path, ns=(stamp, stamp))
    assert write_demo_images(tmp_path, max_side=32) == paths
    assert all(p.stat().st_mtime_ns == stamp for p in [*paths, tmp_path / CREDITS_FILE])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [CREDITS_FILE, *(p.name for p in paths)]
    )

    write_demo_images(tmp_path, max_side=16)  # other content: rewritten
    assert read_png_u8(paths[0]).shape == (16, 16, 3)
