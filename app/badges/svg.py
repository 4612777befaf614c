"""A small SVG badge in the look of shields.io: a grey label and a coloured value, for READMEs.

Widths come from a rough per-character estimate of 11 px Verdana (shields.io measures real
glyphs; ours are a few pixels generous, never clipped). All text is XML-escaped: the accessible
title carries the model's name, which its owner chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

LABEL = "GIR"
HEIGHT = 20
PAD = 6
_NARROW = frozenset("ilj.,:;·|! ")
_WIDE = frozenset("mwMW@")


@dataclass(frozen=True)
class BadgeValues:
    """What a badge shows: whose model, and its AR and ER."""

    name: str
    ar: float
    er: float


def text_width(text: str) -> int:
    """Estimated pixel width of ``text`` at 11 px Verdana.

    >>> text_width("AR 0.42")  # five 7 px glyphs, a space and a point at 3.5 px
    42
    """
    widths = (3.5 if c in _NARROW else 10.0 if c in _WIDE else 7.0 for c in text)
    return round(sum(widths))


def colour(ar: float) -> str:
    """shields.io's palette by AR: green from 0.5, yellow-green from 0.3, orange, red below 0.1."""
    if ar >= 0.5:
        return "#4c1"
    if ar >= 0.3:
        return "#a4a61d"
    return "#fe7d37" if ar >= 0.1 else "#e05d44"


def value_text(values: BadgeValues) -> str:
    """The badge's value, e.g. ``AR 0.42 · ER 0.10``."""
    return f"AR {values.ar:.2f} · ER {values.er:.2f}"


def render(values: BadgeValues) -> str:
    """The badge as an SVG document (``role="img"``, a ``<title>`` naming model and scores)."""
    value = value_text(values)
    left, right = text_width(LABEL) + 2 * PAD, text_width(value) + 2 * PAD
    width = left + right
    title = f"GIR Bench: {values.name} — AR {values.ar:.2f}, ER {values.er:.2f}"
    texts = "".join(
        f'<text x="{round(x * 10)}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" '
        f'textLength="{(w - 2 * PAD) * 10}">{escape(t)}</text>'
        f'<text x="{round(x * 10)}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{(w - 2 * PAD) * 10}">{escape(t)}</text>'
        for x, w, t in ((left / 2, left, LABEL), (left + right / 2, right, value))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" '
        f'role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="{HEIGHT}" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="{HEIGHT}" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="{HEIGHT}" fill="{colour(values.ar)}"/>'
        f'<rect width="{width}" height="{HEIGHT}" fill="url(#s)"/></g>'
        '<g text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'text-rendering="geometricPrecision" font-size="110">{texts}</g></svg>'
    )
