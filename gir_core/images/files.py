"""Ground-truth image files: loading with fixed conventions, hashing, listing and atomic writing.

A benchmark is only reproducible if every GT image becomes the same array on every machine, so the
choices live here, once:

- **RGB, 8 bit.** Files are decoded with Pillow (explicit RGB order; OpenCV would give BGR). Files
  with 16 bits per channel are *refused*, not scaled: Pillow silently keeps only the high byte of
  16-bit RGB PNGs, and any scaling (floor vs round) would be a hidden choice that changes the
  ground truth. The benchmark lives on the 8-bit grid; convert such files to 8 bit yourself.
- **Orientation.** An EXIF orientation tag is applied, so the array looks like the photo does in a
  viewer (``cv2.imread`` does the same by default).
- **Alpha is dropped**, not composited: the colour values stored under it are kept.
- **Greyscale is refused** unless ``convert_grey=True``, which replicates the channel: a grey image
  in a colour benchmark is more often a mistake than a choice.
- **Size.** With ``max_side``, an image whose longer side exceeds it is first downscaled (aspect
  kept, OpenCV ``INTER_AREA`` on the 8-bit data), *then* centre-cropped so H and W are multiples
  of 4 (``resize`` divides by 4). The result is therefore at most ``max_side`` on each side.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, ImageOps

from gir_core.errors import ImageError, ParameterError
from gir_core.images.grid import to_float, to_uint8

LOADER_VERSION = "1"
"""Bump whenever :func:`load_image` gives different pixels for the same file and options; cache
keys of degraded inputs include it."""

IMAGE_EXTENSIONS: tuple[str, ...] = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
"""File extensions (case-insensitive) that :func:`list_images` treats as images."""

_MULTIPLE = 4
_GREY_MODES = frozenset({"1", "L", "LA", "La"})
_COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "CMYK", "YCbCr"})
_HASH_CHUNK = 1 << 20

_T = TypeVar("_T", bound=np.generic)


def load_image(
    path: str | os.PathLike[str], *, max_side: int | None = None, convert_grey: bool = False
) -> NDArray[np.float32]:
    """Load a ground-truth image as float32 RGB in [0, 1], H and W multiples of 4.

    Args:
        path: image file (PNG, JPEG, BMP, TIFF, WebP; anything Pillow decodes).
        max_side: if given, downscale (INTER_AREA, aspect kept) so the longer side is at most
            this, before the multiple-of-4 crop. Must be at least 4.
        convert_grey: accept greyscale files by replicating the grey channel.

    Returns:
        H×W×3 float32 array on the 1/255 grid.

    Raises:
        ImageError: unreadable, truncated or non-image file, 16-bit data, greyscale without
            ``convert_grey``, or an image smaller than 4×4; the message names the file.
        ParameterError: ``max_side`` below 4.

    Example:
        >>> from gir_core.demo import DEMO_IMAGES
        >>> img = load_image(DEMO_IMAGES[1].path, max_side=256)  # chelsea, 451×300
        >>> img.shape, img.dtype
        ((168, 256, 3), dtype('float32'))
    """
    return to_float(load_image_u8(path, max_side=max_side, convert_grey=convert_grey))


def load_image_u8(
    path: str | os.PathLike[str], *, max_side: int | None = None, convert_grey: bool = False
) -> NDArray[np.uint8]:
    """Like :func:`load_image` but returns the 8-bit levels (H×W×3 uint8), e.g. for re-saving."""
    if max_side is not None and max_side < _MULTIPLE:
        raise ParameterError(f"max_side must be at least {_MULTIPLE}, got {max_side}")
    rgb = _decode_rgb(Path(path), convert_grey=convert_grey)
    if max_side is not None:
        rgb = _downscale(rgb, max_side)
    return crop_to_multiple(rgb, _MULTIPLE, what=str(path))


def _decode_rgb(path: Path, *, convert_grey: bool) -> NDArray[np.uint8]:
    """Decode a file fully (so truncation is detected now) into H×W×3 uint8 RGB."""
    try:
        with Image.open(path) as opened:
            bits16 = _is_high_bit_depth(opened)
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except FileNotFoundError as exc:
        raise ImageError(f"{path}: no such file") from exc
    except Exception as exc:  # Pillow signals corrupt data with many exception types.
        raise ImageError(f"{path}: cannot read image ({type(exc).__name__}: {exc})") from exc
    if bits16:
        raise ImageError(
            f"{path}: 16 bits per channel (mode {image.mode}); ground truth must be 8-bit — "
            "convert the file to 8 bits per channel first"
        )
    if image.mode in _GREY_MODES:
        if not convert_grey:
            raise ImageError(f"{path}: greyscale; pass convert_grey=True to replicate the channel")
        grey = np.asarray(image.convert("L"), dtype=np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if image.mode not in _COLOUR_MODES:
        raise ImageError(f"{path}: unsupported image mode {image.mode!r}; expected 8-bit RGB")
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _is_high_bit_depth(image: ImageFile.ImageFile) -> bool:
    """True for data with more than 8 bits per channel, including RGB that Pillow would truncate."""
    if image.mode in ("I", "F") or image.mode.startswith("I;16"):
        return True
    for tile in image.tile:
        args = tile.args
        rawmode = args if isinstance(args, str) else (args[0] if args else "")
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _downscale(rgb: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    """Shrink so the longer side is ``max_side`` (aspect kept); smaller images are untouched."""
    height, width = rgb.shape[:2]
    longer = max(height, width)
    if longer <= max_side:
        return rgb
    new_w = max(1, round(width * max_side / longer))
    new_h = max(1, round(height * max_side / longer))
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(resized, dtype=np.uint8)


def crop_to_multiple(
    image: NDArray[_T], multiple: int = _MULTIPLE, *, what: str = "image"
) -> NDArray[_T]:
    """Centre-crop H and W down to multiples of ``multiple`` (odd pixels go from bottom/right).

    Raises:
        ImageError: a side shorter than ``multiple``.

    Example:
        >>> crop_to_multiple(np.zeros((10, 7, 3), np.uint8)).shape
        (8, 4, 3)
    """
    height, width = image.shape[:2]
    new_h, new_w = height - height % multiple, width - width % multiple
    if new_h == 0 or new_w == 0:
        raise ImageError(f"{what}: {width}×{height} is smaller than {multiple}×{multiple}")
    return centre_crop(image, new_h, new_w)


def centre_crop(image: NDArray[_T], height: int, width: int) -> NDArray[_T]:
    """The central ``height``×``width`` window (clamped to the image); top/left offsets round down.

    Example:
        >>> centre_crop(np.arange(25).reshape(5, 5), 3, 3)[0].tolist()
        [6, 7, 8]
    """
    top, left, h, w = centre_box(image.shape[0], image.shape[1], height, width)
    return np.ascontiguousarray(image[top : top + h, left : left + w])


def centre_box(image_h: int, image_w: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the centred window of at most ``height``×``width``.

    Exposed so callers (e.g. line training on demo photos) can take patches outside the test crop.
    """
    h, w = min(height, image_h), min(width, image_w)
    return (image_h - h) // 2, (image_w - w) // 2, h, w


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks so large files use little memory."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly inside ``folder``, sorted by file name (code-point order).

    The order defines each image's index, which seeds its degradations, so it must not depend on
    the file system. Hidden files (leading ``.``, e.g. macOS ``._x.jpg``) and sub-folders are
    skipped; the extension test is case-insensitive (see :data:`IMAGE_EXTENSIONS`).

    Raises:
        ImageError: ``folder`` is not a directory or holds no image files.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ImageError(f"{root}: not a folder")
    found = [
        entry
        for entry in root.iterdir()
        if entry.is_file()
        and not entry.name.startswith(".")
        and entry.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if not found:
        wanted = ", ".join(ext.lstrip(".") for ext in IMAGE_EXTENSIONS)
        raise ImageError(f"{root}: no image files (looked for {wanted})")
    return sorted(found, key=lambda entry: entry.name)


def encode_png(image: NDArray[np.uint8] | NDArray[np.floating]) -> bytes:
    """PNG bytes of an RGB image (uint8 as is; float via :func:`~gir_core.images.to_uint8`).

    OpenCV's encoder is used for speed; it writes no timestamp, so equal pixels give equal bytes.
    """
    u8 = _as_rgb_u8(image)
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ImageError(f"PNG encoding failed for an array of shape {u8.shape}")
    return bytes(buffer.tobytes())


def _as_rgb_u8(image: NDArray[np.uint8] | NDArray[np.floating]) -> NDArray[np.uint8]:
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ImageError(f"image must have shape H×W×3 (RGB), got {array.shape}")
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if np.issubdtype(array.dtype, np.floating):
        return to_uint8(array)
    raise ImageError(f"image must be uint8 or float in [0, 1], got dtype {array.dtype}")


def save_png(path: str | os.PathLike[str], image: NDArray[np.uint8] | NDArray[np.floating]) -> Path:
    """Write an RGB image as PNG atomically; returns the path.

    Readers (and cache look-ups) never see a partial file: bytes go to a hidden temporary file in
    the same folder, are flushed to disk, and only then renamed over ``path`` with ``os.replace``.
    """
    return write_bytes_atomic(path, encode_png(image))


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling and ``os.replace`` (parents created).

    The temporary name starts with ``.`` and ends with ``.tmp``, so it can never be mistaken for
    a final file; it is removed if anything fails before the rename.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def read_png_u8(path: str | os.PathLike[str]) -> NDArray[np.uint8]:
    """Read an 8-bit RGB PNG written by :func:`save_png` as H×W×3 uint8 (fast OpenCV decode).

    Raises:
        ImageError: missing or undecodable file, or not 8-bit 3-channel.
    """
    try:
        data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if decoded is None:
        raise ImageError(f"{path}: not a decodable image")
    if decoded.dtype != np.uint8 or decoded.ndim != 3 or decoded.shape[2] != 3:
        raise ImageError(
            f"{path}: expected 8-bit RGB PNG, got dtype {decoded.dtype} shape {decoded.shape}"
        )
    return np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))
