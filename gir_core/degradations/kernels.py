"""Filter kernels of the degradations, as plain functions so tests can check them on their own.

Formulas from the paper's appendix A.1 and the authors' scripts (see DEGRADATIONS.md): Gaussian
blur and the circular low-pass (sinc) kernel used for ringing, the rain streak kernel, and the
motion-blur line used by our procedural snow.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.special import j1

from gir_core.errors import ParameterError

Kernel = NDArray[np.float64]


def _grid(k: int) -> tuple[Kernel, Kernel]:
    if k < 1 or k % 2 == 0:
        raise ParameterError(f"kernel size must be a positive odd integer, got {k}")
    half = k // 2
    axis = np.arange(-half, half + 1, dtype=np.float64)
    return np.meshgrid(axis, axis, indexing="xy")


def gaussian_kernel(k: int, sigma: float) -> Kernel:
    """Isotropic Gaussian exp(−(x²+y²)/2σ²) on a k×k grid centred at 0, normalised to sum 1.

    Example:
        >>> round(float(gaussian_kernel(3, 1.0).sum()), 12)
        1.0
    """
    if sigma <= 0:
        raise ParameterError(f"blur sigma must be > 0, got {sigma}")
    x, y = _grid(k)
    kernel = np.exp(-(x**2 + y**2) / (2.0 * sigma**2))
    normalised: Kernel = kernel / kernel.sum()
    return normalised


def sinc_kernel(k: int, omega: float) -> Kernel:
    """Circular low-pass kernel K(r) = ω·J1(ω·r)/(2π·r), K(0) = ω²/(4π), normalised to sum 1.

    ω is the cut-off in radians per sample (π = Nyquist); the kernel has negative lobes, which is
    what produces ringing around edges.

    Example:
        >>> bool(sinc_kernel(15, 1.2).min() < 0)
        True
    """
    if not 0 < omega <= math.pi:
        raise ParameterError(f"ringing omega must lie in (0, π], got {omega}")
    x, y = _grid(k)
    r = np.hypot(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = omega * j1(omega * r) / (2.0 * math.pi * r)
    kernel[r == 0] = omega**2 / (4.0 * math.pi)
    normalised: Kernel = kernel / kernel.sum()
    return normalised


def streak_kernel(length: int, angle: int, width: int) -> Kernel:
    """Rain streak kernel of the authors' Photoshop-style recipe (not normalised, on purpose).

    An L×L identity matrix rotated by (angle − 45)° about (L/2, L/2) with scale 1 − L/100, then a
    w×w Gaussian blur with automatic σ. Angle 0 gives vertical streaks.
    """
    centre = (length / 2.0, length / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, float(angle - 45), 1.0 - length / 100.0)
    diagonal = np.eye(length, dtype=np.float64)
    rotated = cv2.warpAffine(diagonal, matrix, (length, length))
    return np.asarray(cv2.GaussianBlur(rotated, (width, width), 0), dtype=np.float64)


def line_kernel(length: int, theta: float) -> Kernel:
    """Normalised motion-blur line of ``length`` pixels at angle θ (radians) from vertical."""
    size = length if length % 2 == 1 else length + 1
    canvas = np.zeros((size, size), dtype=np.float64)
    c = size // 2
    half = (length - 1) / 2.0
    dx, dy = half * math.sin(theta), half * math.cos(theta)
    # cv2.line with a 4-bit sub-pixel shift keeps the line centred for any angle.
    shift = 4
    scale = 1 << shift
    p1 = (round((c - dx) * scale), round((c - dy) * scale))
    p2 = (round((c + dx) * scale), round((c + dy) * scale))
    cv2.line(canvas, p1, p2, 1.0, 1, cv2.LINE_AA, shift)
    total = canvas.sum()
    if total <= 0:
        canvas[c, c] = 1.0
        total = 1.0
    line: Kernel = canvas / total
    return line
