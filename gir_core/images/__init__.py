"""Images in GIR Bench: the 8-bit grid, the one input check, and image files.

- :mod:`~gir_core.images.grid`: float32 RGB in [0, 1] on the 1/255 levels (:func:`to_float`,
  :func:`to_uint8`, :func:`quantize`), the convention of every image in the engine.
- :mod:`~gir_core.images.checks`: the one input check (:func:`check_image` for one float32
  image, :func:`as_batch` for a metric's image or batch), with messages that say what was found.
- :mod:`~gir_core.images.files`: ground-truth files with fixed conventions (:func:`load_image`),
  hashing, listing, atomic PNG writing.

Import from here: ``from gir_core.images import load_image, check_image, to_float``.
"""

from gir_core.images.checks import as_batch, check_image, check_range
from gir_core.images.files import (
    IMAGE_EXTENSIONS,
    LOADER_VERSION,
    centre_box,
    centre_crop,
    crop_to_multiple,
    encode_png,
    file_sha256,
    list_images,
    load_image,
    load_image_u8,
    read_png_u8,
    save_png,
    write_bytes_atomic,
)
from gir_core.images.grid import FloatImage, quantize, to_float, to_uint8

__all__ = [
    "IMAGE_EXTENSIONS",
    "LOADER_VERSION",
    "FloatImage",
    "as_batch",
    "centre_box",
    "centre_crop",
    "check_image",
    "check_range",
    "crop_to_multiple",
    "encode_png",
    "file_sha256",
    "list_images",
    "load_image",
    "load_image_u8",
    "quantize",
    "read_png_u8",
    "save_png",
    "to_float",
    "to_uint8",
    "write_bytes_atomic",
]
