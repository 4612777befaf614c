"""Ground-truth loading conventions: RGB order, 8 bit, multiple-of-4 crop, refusals, atomic PNG."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from gir_core.errors import GirError, ImageError, ParameterError
from gir_core.images import (
    as_batch,
    centre_box,
    check_image,
    crop_to_multiple,
    file_sha256,
    list_images,
    load_image,
    load_image_u8,
    read_png_u8,
    save_png,
)


def _ramp(height: int, width: int) -> NDArray[np.uint8]:
    """Distinct values per pixel and channel, so crops and channel swaps are visible."""
    values = np.arange(height * width * 3, dtype=np.int64).reshape(height, width, 3)
    return ((values * 7) % 256).astype(np.uint8)


def _save_pil(path: Path, array: NDArray[np.uint8], mode: str | None = None) -> Path:
    image = Image.fromarray(array) if mode is None else Image.fromarray(array).convert(mode)
    image.save(path)
    return path


def test_rgb_order_is_kept_and_values_scale_to_unit_range(tmp_path: Path) -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    rgb[0, 0] = (10, 20, 30)
    loaded = load_image(_save_pil(tmp_path / "red.png", rgb))
    assert loaded.dtype == np.float32
    assert loaded[1, 1].tolist() == [1.0, 0.0, 0.0]
    np.testing.assert_array_equal(loaded[0, 0], np.array([10, 20, 30], np.float32) / 255)


def test_file_written_by_opencv_in_bgr_loads_as_rgb(tmp_path: Path) -> None:
    rgb = _ramp(8, 8)
    cv2.imwrite(str(tmp_path / "cv.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(load_image_u8(tmp_path / "cv.png"), rgb)


def test_centre_crop_to_multiples_of_four(tmp_path: Path) -> None:
    rgb = _ramp(10, 7)
    loaded = load_image_u8(_save_pil(tmp_path / "odd.png", rgb))
    assert loaded.shape == (8, 4, 3)
    # 10 -> 8 drops one row at each end; 7 -> 4 drops one column left and two right.
    np.testing.assert_array_equal(loaded, rgb[1:9, 1:5])


def test_alpha_is_dropped_not_composited(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[..., 3] = 0  # fully transparent: compositing on white/black would change the colour
    loaded = load_image_u8(_save_pil(tmp_path / "alpha.png", rgba))
    assert loaded.shape == (4, 4, 3)
    assert loaded[2, 2].tolist() == [200, 100, 50]


def test_palette_image_becomes_its_colours(tmp_path: Path) -> None:
    rgb = np.zeros((4, 8, 3), np.uint8)
    rgb[:, 4:] = (0, 128, 255)
    path = tmp_path / "pal.png"
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=2).save(path)
    assert Image.open(path).mode == "P"
    np.testing.assert_array_equal(load_image_u8(path), rgb)


def test_greyscale_is_refused_unless_asked(tmp_path: Path) -> None:
    grey = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    path = tmp_path / "grey.png"
    Image.fromarray(grey).save(path)
    with pytest.raises(ImageError, match="greyscale; pass convert_grey=True to replicate") as err:
        load_image(path)
    assert str(path) in str(err.value)
    loaded = load_image_u8(path, convert_grey=True)
    assert loaded.shape == (4, 4, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[..., channel], grey)


@pytest.mark.parametrize("shape", [(4, 6, 3), (4, 6)], ids=["rgb16", "grey16"])
def test_sixteen_bit_files_are_refused(tmp_path: Path, shape: tuple[int, ...]) -> None:
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), np.full(shape, 40000, np.uint16))
    with pytest.raises(ImageError, match="16 bits per channel") as err:
        load_image(path, convert_grey=True)
    assert "deep.png" in str(err.value)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_file_is_an_image_error_naming_it(tmp_path: Path, suffix: str) -> None:
    full = tmp_path / f"full{suffix}"
    Image.fromarray(_ramp(64, 64)).save(full)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(ImageError, match=f"cut{suffix}"):
        load_image(cut)


def test_non_image_and_missing_files_are_image_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ImageError, match=r"notes\.png: cannot read image"):
        load_image(text)
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "absent.png")
    assert issubclass(ImageError, GirError)


def test_too_small_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="smaller than 4×4"):
        load_image(_save_pil(tmp_path / "tiny.png", _ramp(3, 9)))


def test_max_side_downscales_with_inter_area_then_crops(tmp_path: Path) -> None:
    rgb = _ramp(60, 100)
    path = _save_pil(tmp_path / "wide.png", rgb)
    loaded = load_image_u8(path, max_side=32)
    expected = cv2.resize(rgb, (32, 19), interpolation=cv2.INTER_AREA)  # 60·32/100 = 19.2
    assert loaded.shape == (16, 32, 3)
    np.testing.assert_array_equal(loaded, expected[1:17])
    # An image already within the limit is only cropped.
    np.testing.assert_array_equal(load_image_u8(path, max_side=100), rgb)
    with pytest.raises(ParameterError, match="at least 4"):
        load_image(path, max_side=3)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    rgb = _ramp(8, 12)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.png"
    Image.fromarray(rgb).save(path, exif=exif)
    np.testing.assert_array_equal(load_image_u8(path), np.rot90(rgb, k=-1))


def test_crop_helpers() -> None:
    assert crop_to_multiple(np.zeros((13, 9, 3), np.uint8)).shape == (12, 8, 3)
    assert centre_box(300, 451, 256, 256) == (22, 97, 256, 256)
    assert centre_box(10, 10, 64, 64) == (0, 0, 10, 10)


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    data = os.urandom(3 << 20)  # several read chunks
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    with pytest.raises(ImageError, match="cannot read file"):
        file_sha256(tmp_path / "absent.bin")


def test_list_images_sorted_filtered_and_refuses_empty(tmp_path: Path) -> None:
    for name in ["b.JPG", "a.png", "c.webp", "Z.tif", "notes.txt", ".hidden.png", "d.jpeg"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    names = [p.name for p in list_images(tmp_path)]
    assert names == ["Z.tif", "a.png", "b.JPG", "c.webp", "d.jpeg"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no image files"):
        list_images(empty)
    with pytest.raises(ImageError, match="not a folder"):
        list_images(tmp_path / "a.png")


def test_save_png_round_trips_exactly_and_leaves_no_temporaries(tmp_path: Path) -> None:
    rgb = _ramp(12, 16)
    target = save_png(tmp_path / "deep" / "out.png", rgb)
    np.testing.assert_array_equal(read_png_u8(target), rgb)
    np.testing.assert_array_equal(load_image_u8(target), rgb)  # Pillow agrees on channel order
    save_png(target, rgb.astype(np.float32) / 255)
    np.testing.assert_array_equal(read_png_u8(target), rgb)
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.png"]


def test_save_png_failure_keeps_old_file_and_removes_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _ramp(8, 8), 255 - _ramp(8, 8)
    target = save_png(tmp_path / "out.png", old)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_png(target, new)
    monkeypatch.undo()
    np.testing.assert_array_equal(read_png_u8(target), old)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_png_rejects_wrong_shapes_and_dtypes(tmp_path: Path) -> None:
    integers: Any = np.zeros((4, 4, 3), np.int32)
    with pytest.raises(ImageError, match="H×W×3"):
        save_png(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageError, match="dtype int32"):
        save_png(tmp_path / "x.png", integers)
    assert not (tmp_path / "x.png").exists()


def test_read_png_u8_refuses_garbage_and_grey(tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG garbage")
    with pytest.raises(ImageError, match=r"junk\.png: not a decodable image"):
        read_png_u8(junk)
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageError, match="expected 8-bit RGB"):
        read_png_u8(grey)
    with pytest.raises(ImageError, match="cannot read file"):
        read_png_u8(tmp_path / "absent.png")


# --- the one input check (gir_core.images.checks) ---------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([[0.0]], "must be a NumPy array, got list"),
        (np.zeros((8, 8, 3), np.uint8), r"must be float32 in \[0, 1\], got dtype uint8"),
        (np.zeros((8, 8), np.float32), r"must have shape H×W×3 \(RGB\), got \(8, 8\)"),
        (np.zeros((3, 8, 3), np.float32), "must be at least 4×4 pixels, got 8×3"),
        (np.full((8, 8, 3), 1.5, np.float32), r"values must lie in \[0, 1\], got \[1.5, 1.5\]"),
        (np.full((8, 8, 3), np.nan, np.float32), r"values must lie in \[0, 1\]"),
    ],
)
def test_check_image_says_what_it_found(bad: object, message: str) -> None:
    with pytest.raises(ImageError, match=f"^output {message}"):
        check_image(bad, what="output")


def test_check_image_and_the_metrics_batch_check_are_one_check() -> None:
    # The metrics' check takes batches and any float type, otherwise the same rules and words.
    image = np.full((8, 8, 3), 0.5, np.float32)
    check_image(image)
    check_image(np.where(image > 0, image, np.float32(-0.0)))  # -0.0 == 0 is in range
    batch, single = as_batch(np.stack([image, image]).astype(np.float64))
    assert batch.dtype == np.float32 and batch.shape == (2, 8, 8, 3) and not single
    with pytest.raises(ImageError, match=r"must have shape H×W×3 \(RGB\)"):
        check_image(np.stack([image, image]))
    bad = image.copy()
    bad[0, 0, 0] = -1.0
    with pytest.raises(ImageError, match=r"^x values must lie in \[0, 1\], got \[-1, 0.5\]"):
        check_image(bad, what="x")
    with pytest.raises(ImageError, match=r"^x values must lie in \[0, 1\], got \[-1, 0.5\]"):
        as_batch(bad, what="x")
