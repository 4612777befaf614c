"""The seven basic degradations that may appear at any step (appendix A.1, DEGRADATIONS.md).

Each ``apply_*`` returns an unquantised float image; the registry clips and quantises after every
step. Filtering pads by reflection without repeating the edge pixel (OpenCV BORDER_REFLECT_101).
"""

from __future__ import annotations

from collections.abc import Mapping

import cv2
import numpy as np

from gir_core.degradations.context import ImageContext
from gir_core.degradations.kernels import gaussian_kernel, sinc_kernel
from gir_core.degradations.registry import ParamValue
from gir_core.images import FloatImage, to_float, to_uint8

P = Mapping[str, ParamValue]
RL_PAD = 7
RL_PSF = 5


def _filter(image: FloatImage, kernel: np.ndarray) -> FloatImage:
    out = cv2.filter2D(image, -1, kernel.astype(np.float32), borderType=cv2.BORDER_REFLECT_101)
    return np.asarray(out, dtype=np.float32)


def apply_resize(
    image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext
) -> FloatImage:
    """Bicubic (OpenCV INTER_CUBIC, a = −0.75) down by ``scale`` and back up, no clip in between."""
    height, width = image.shape[:2]
    scale = int(p["scale"])
    small = cv2.resize(
        image, (max(width // scale, 1), max(height // scale, 1)), interpolation=cv2.INTER_CUBIC
    )
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), np.float32)


def apply_blur(image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext) -> FloatImage:
    """Isotropic Gaussian blur with a k×k kernel."""
    return _filter(image, gaussian_kernel(int(p["k"]), float(p["sigma"])))


def apply_noise(image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext) -> FloatImage:
    """Additive colour Gaussian noise, σ on the 0-255 scale, i.i.d. per pixel and channel."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    return image + noise * np.float32(float(p["sigma"]) / 255.0)


def apply_compression(
    image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext
) -> FloatImage:
    """JPEG round trip through OpenCV's libjpeg at quality ``q`` (explicit RGB↔BGR)."""
    bgr = cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(p["q"])])
    if not ok:  # pragma: no cover - libjpeg refuses only invalid buffers
        raise RuntimeError("OpenCV failed to JPEG-encode an image")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    rgb = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return to_float(rgb)


def apply_damage(
    image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext
) -> FloatImage:
    """Burn N straight lines of thickness T in one colour (white or black, p = 1/2) into the image.

    Endpoints are uniform over the pixel grid, both ends inclusive; lines are open, 8-connected.
    """
    height, width = image.shape[:2]
    colour = 1.0 if rng.random() < 0.5 else 0.0
    count = int(p["n"])
    xs = rng.integers(0, width - 1, size=(count, 2), endpoint=True)
    ys = rng.integers(0, height - 1, size=(count, 2), endpoint=True)
    mask = np.zeros((height, width), np.uint8)
    lines = [np.stack([xs[i], ys[i]], axis=1).astype(np.int32) for i in range(count)]
    cv2.polylines(mask, lines, isClosed=False, color=1, thickness=int(p["t"]), lineType=cv2.LINE_8)
    out = image.copy()
    out[mask.astype(bool)] = colour
    return out


def apply_ringing(
    image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext
) -> FloatImage:
    """Circular low-pass (sinc) filtering: blur plus rings around edges."""
    return _filter(image, sinc_kernel(int(p["k"]), float(p["omega"])))


def apply_alg_artifact(
    image: FloatImage, p: P, rng: np.random.Generator, ctx: ImageContext
) -> FloatImage:
    """One Richardson-Lucy iteration with a 5×5 box PSF, as the authors ran it.

    They padded 7 px with ``np.pad(mode="linear_ramp")`` and called scikit-image's
    ``richardson_lucy(num_iter=1)``. From skimage's start estimate of 0.5, one iteration is
    0.5 · box(image / box(0.5)), which is exactly a 5×5 mean filter wherever the window stays
    inside the padded array — everything kept after cropping the 7 px. So we compute that mean
    filter directly (tests compare with skimage to 1e-6): a mild blur plus a darker 2-px border.
    """
    padded = np.pad(image, ((RL_PAD, RL_PAD), (RL_PAD, RL_PAD), (0, 0)), mode="linear_ramp")
    summed = cv2.boxFilter(
        padded.astype(np.float64),
        -1,
        (RL_PSF, RL_PSF),
        normalize=True,
        borderType=cv2.BORDER_CONSTANT,
    )
    cropped: FloatImage = summed[RL_PAD:-RL_PAD, RL_PAD:-RL_PAD].astype(np.float32)
    return cropped
