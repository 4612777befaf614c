"""SVG building blocks shared by the charts: ticks, scales, axes, marks and the document frame.

Charts are plain strings assembled from these pieces and returned as ``Markup``, so every
user-supplied string must pass through ``escape`` here or in the chart modules. Colours never
appear inline: the stylesheet styles the classes, which keeps light/dark themes and print in
one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
NO_DATA = "no data"
# Links only to our own pages or to web pages; anything else (javascript:, data:) is dropped.
_SAFE_URL_PREFIXES = ("/", "http://", "https://")


@dataclass(frozen=True)
class Frame:
    """The viewBox size and the plot area inside it (margins hold ticks and labels)."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float

    @property
    def x0(self) -> float:
        """Left edge of the plot area."""
        return self.left

    @property
    def x1(self) -> float:
        """Right edge of the plot area."""
        return self.width - self.right

    @property
    def y0(self) -> float:
        """Top edge of the plot area."""
        return self.top

    @property
    def y1(self) -> float:
        """Bottom edge of the plot area."""
        return self.height - self.bottom


@dataclass(frozen=True)
class Linear:
    """Maps a data interval onto a pixel interval; an empty data interval maps to the middle."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        """Pixel position of ``value``."""
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


def finite(value: float | None) -> bool:
    """Whether a value can be drawn: None, NaN and infinities are skipped, never plotted."""
    return value is not None and math.isfinite(value)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` with about ``n`` intervals.

    Readers compare marks against round numbers, so ticks fall on steps of 1, 2, 2.5 or 5 times
    a power of ten. The first tick is at or below ``lo`` and the last at or above ``hi``, so the
    charts use the outer ticks as the axis range and no mark falls off the axis.

    Args:
        lo: Lower end of the data; swapped with ``hi`` if larger.
        hi: Upper end of the data; equal ends are widened so the axis has a length.
        n: Wanted number of intervals (at least 1).

    Returns:
        Ascending tick values, rounded so that they print without float noise.

    Raises:
        ValueError: ``lo`` or ``hi`` is not finite.

    Examples:
        >>> nice_ticks(0.0, 1.0, 5)
        [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        >>> nice_ticks(24.3, 28.1, 4)
        [24.0, 25.0, 26.0, 27.0, 28.0, 29.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"tick range must be finite, got ({lo}, {hi})")
    lo, hi = min(lo, hi), max(lo, hi)
    if hi - lo <= 1e-12 * max(1.0, abs(lo)):
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(n, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    # The tolerance keeps 0.2 / 0.1 = 2.0000000000000004 from being rounded up to 2.5.
    step = next(
        m * magnitude for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * magnitude >= raw * 0.999999
    )
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    digits = max(0, 2 - math.floor(math.log10(step)))
    return [round(i * step, digits) + 0.0 for i in range(first, last + 1)]


def tick_labels(ticks: Sequence[float]) -> list[str]:
    """Tick texts with the fewest decimals that show every tick exactly (0.25 needs two).

    Examples:
        >>> tick_labels([0.0, 0.25, 0.5])
        ['0.00', '0.25', '0.50']
    """
    digits = next(
        (d for d in range(7) if all(abs(t - round(t, d)) < 1e-9 * max(1.0, abs(t)) for t in ticks)),
        6,
    )
    return [f"{t:.{digits}f}" for t in ticks]


def num(value: float) -> str:
    """A coordinate with one decimal: enough on a 640-unit viewBox, and short markup."""
    return f"{value:.1f}"


def tip_attr(text: str) -> str:
    """Escape tooltip text for a double-quoted attribute, keeping its line breaks.

    XML parsers fold a literal newline in an attribute into a space; ``&#10;`` survives both
    HTML and XML parsing as a real newline.
    """
    return str(escape(text)).replace("\n", "&#10;")


def mark(tag: str, attrs: str, tip: str, url: str | None = None) -> str:
    """A data mark with its tooltip: ``data-tip`` for the JS, a ``<title>`` as the no-JS fallback.

    Args:
        tag: SVG element name (``rect``, ``circle``).
        attrs: Geometry and class attributes, built by the caller from numbers and class names.
        tip: Plain tooltip text, lines joined by ``"\\n"``; escaped here.
        url: Page to link the mark to; only relative or http(s) addresses are linked.
    """
    body = (
        f'<{tag} {attrs} data-tip="{tip_attr(tip)}" tabindex="0">'
        f"<title>{escape(tip)}</title></{tag}>"
    )
    if url and url.startswith(_SAFE_URL_PREFIXES):
        return f'<a href="{escape(url)}">{body}</a>'
    return body


def svg_document(svg_id: str, frame: Frame, title: str, desc: str, body: Iterable[str]) -> Markup:
    """Wrap chart parts in the ``<svg>`` element every chart shares.

    No width or height attribute: the stylesheet sets the width to 100 % and the viewBox keeps
    the aspect ratio, so charts scale down to phone-width screens.
    """
    sid = escape(svg_id)
    head = (
        f'<svg id="{sid}" class="chart" viewBox="0 0 {frame.width:g} {frame.height:g}" '
        f'role="img" aria-labelledby="{sid}-title {sid}-desc" xmlns="{SVG_NS}">'
        f'<title id="{sid}-title">{escape(title)}</title>'
        f'<desc id="{sid}-desc">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")


def empty_chart(svg_id: str, title: str) -> Markup:
    """A valid, labelled SVG saying "no data", so pages need no special case for empty input."""
    frame = Frame(640, 120, 0, 0, 0, 0)
    text = f'<text class="label no-data" x="320" y="64" text-anchor="middle">{NO_DATA}</text>'
    return svg_document(svg_id, frame, title, "No data to show.", [text])


def line(cls: str, x1: float, y1: float, x2: float, y2: float) -> str:
    """A ``<line>`` styled only by its class."""
    return f'<line class="{cls}" x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}"/>'


def y_axis(frame: Frame, scale: Linear, ticks: Sequence[float], label: str) -> list[str]:
    """Horizontal grid lines with their tick texts, the left axis line and a rotated label."""
    parts = []
    for value, text in zip(ticks, tick_labels(ticks), strict=True):
        y = scale(value)
        parts.append(line("grid", frame.x0, y, frame.x1, y))
        parts.append(
            f'<text class="tick" x="{num(frame.x0 - 6)}" y="{num(y)}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(text)}</text>'
        )
    parts.append(line("axis", frame.x0, frame.y0, frame.x0, frame.y1))
    middle = num((frame.y0 + frame.y1) / 2)
    parts.append(
        f'<text class="label" transform="translate(14 {middle}) rotate(-90)" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
    return parts


def x_axis(
    frame: Frame, scale: Linear, ticks: Sequence[float], texts: Sequence[str], label: str
) -> list[str]:
    """Vertical grid lines with their tick texts, the bottom axis line and a centred label."""
    parts = []
    for value, text in zip(ticks, texts, strict=True):
        x = scale(value)
        parts.append(line("grid", x, frame.y0, x, frame.y1))
        parts.append(
            f'<text class="tick" x="{num(x)}" y="{num(frame.y1 + 16)}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    parts.append(line("axis", frame.x0, frame.y1, frame.x1, frame.y1))
    parts.append(
        f'<text class="label" x="{num((frame.x0 + frame.x1) / 2)}" y="{num(frame.height - 6)}" '
        f'text-anchor="middle">{escape(label)}</text>'
    )
    return parts


def h_line(frame: Frame, y: float, cls: str, text: str = "") -> list[str]:
    """A horizontal reference line across the plot, labelled in the right margin."""
    parts = [line(cls, frame.x0, y, frame.x1, y)]
    if text:
        parts.append(
            f'<text class="label" x="{num(frame.x1 + 4)}" y="{num(y)}" '
            f'dominant-baseline="middle">{escape(text)}</text>'
        )
    return parts


def v_line(frame: Frame, x: float, cls: str, text: str = "") -> list[str]:
    """A vertical reference line down the plot, labelled in the top margin."""
    parts = [line(cls, x, frame.y0, x, frame.y1)]
    if text:
        parts.append(
            f'<text class="label" x="{num(x)}" y="{num(frame.y0 - 6)}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    return parts


def clip(value: float, limit: float) -> tuple[float, bool]:
    """``value`` clamped to ``[-limit, limit]`` and whether it was clamped.

    One catastrophic task (s = -40) would otherwise squash every other bar to a sliver.
    """
    clamped = min(max(value, -limit), limit)
    return clamped, clamped != value
