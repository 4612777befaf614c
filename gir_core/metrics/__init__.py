"""Image-quality metrics of GIR Bench, our own NumPy implementations calibrated against pyiqa.

Full-reference: :func:`psnr` (RGB, the headline metric), :func:`psnr_y`, :func:`ssim` (Y) and
:func:`ssim_rgb`. No-reference: :func:`niqe` with the official pristine model. Each takes one
H×W×3 float RGB image in [0, 1] (or an N×H×W×3 batch) and returns a float64 array of shape
``()`` (use ``float(...)``) or ``(N,)``. ``get(name)`` returns a :class:`Metric` with metadata.
Every metric takes ``crop_border`` (keyword, default 0): pixels dropped from each side first, as
the paper's authors (basicsr, ``crop_border: 4``) do. A batch costs no more per image than single
calls (each image is checked and scored on its own, its temporaries in cache and in per-thread
scratch arrays, see ``_scratch``); ``bench/metrics.py`` measures.
Inputs are meant to be on the 8-bit grid (``gir_core.images.to_float``); float64 is accepted and
read as float32, and SSIM and NIQE round their luma to 8-bit levels as pyiqa does.

Calibration: on ``tests/data/metric_reference`` every value matches pyiqa 0.1.16 within
|ΔPSNR| ≤ 1e-3 dB, |ΔSSIM| ≤ 1e-4 and |ΔNIQE| ≤ 0.02 (see each module for the conventions).

Example:
    >>> import numpy as np
    >>> a = np.full((16, 16, 3), 0.5, np.float32)
    >>> b = a + np.float32(0.01)
    >>> round(float(psnr(a, b)), 2), float(get("ssim")(a, a))
    (40.0, 1.0)
"""

from gir_core.metrics.fullref import PSNR_EPS, PSNR_MAX, psnr, psnr_y, ssim, ssim_rgb
from gir_core.metrics.niqe import PATCH_SIZE, niqe
from gir_core.metrics.registry import NAMES, Metric, get, names

__all__ = [
    "NAMES",
    "PATCH_SIZE",
    "PSNR_EPS",
    "PSNR_MAX",
    "Metric",
    "get",
    "names",
    "niqe",
    "psnr",
    "psnr_y",
    "ssim",
    "ssim_rgb",
]
