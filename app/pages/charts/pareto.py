"""AR against mean PSNR with the Pareto front (the paper's Figure 5a).

The plot shows that a model can trade average fidelity for robustness: the front is the set of
models no other model beats on both axes at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from app.pages.charts._svg import (
    Frame,
    Linear,
    empty_chart,
    finite,
    mark,
    nice_ticks,
    num,
    svg_document,
    tick_labels,
    x_axis,
    y_axis,
)

_FRAME = Frame(width=640, height=400, left=56, right=16, top=16, bottom=48)
_TITLE = "AR against mean PSNR"


@dataclass(frozen=True)
class ParetoPoint:
    """One model on the plane: ``x`` is mean PSNR in dB, ``y`` is AR; None or NaN is skipped."""

    name: str
    x: float | None
    y: float | None
    url: str | None = None
    is_baseline: bool = False


_Placed = tuple[ParetoPoint, float, float]


def _placed(points: Iterable[ParetoPoint]) -> list[_Placed]:
    """The points that can be drawn, with their coordinates as plain floats."""
    return [
        (p, p.x, p.y)
        for p in points
        if p.x is not None and p.y is not None and finite(p.x) and finite(p.y)
    ]


def _front_indices(placed: Sequence[_Placed]) -> set[int]:
    """Indices of the undominated points: one sweep from the highest mean PSNR down.

    A point is dominated when another is at least as good on both axes and better on one. Among
    points of equal PSNR only those of the highest AR can survive, and they do when every point
    of higher PSNR has a lower AR (the best AR seen so far in the sweep). O(n log n), so a board
    of thousands costs a sort, not a million comparisons.
    """
    order = sorted(range(len(placed)), key=lambda i: (-placed[i][1], -placed[i][2]))
    front: set[int] = set()
    best, k = -math.inf, 0
    while k < len(order):
        x, top = placed[order[k]][1], placed[order[k]][2]
        group = []
        while k < len(order) and placed[order[k]][1] == x:
            group.append(order[k])
            k += 1
        if top > best:
            front.update(i for i in group if placed[i][2] == top)
            best = top
    return front


def pareto_front(points: Iterable[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point dominates, sorted by mean PSNR then AR.

    Examples:
        >>> pts = [ParetoPoint("a", 25, 0.3), ParetoPoint("b", 28, 0.6), ParetoPoint("c", 24, 0.6)]
        >>> [p.name for p in pareto_front(pts)]
        ['b']
    """
    placed = _placed(points)
    front = [placed[i] for i in _front_indices(placed)]
    return [p for p, _, _ in sorted(front, key=lambda item: (item[1], item[2]))]


def _tip(point: ParetoPoint, x: float, y: float) -> str:
    lines = [point.name, f"AR {y:.2f}", f"mean PSNR {x:.2f} dB"]
    if point.is_baseline:
        lines.append("baseline")
    return "\n".join(lines)


def _point_mark(point: ParetoPoint, px: float, py: float, on_front: bool, tip: str) -> str:
    """A circle per model; baselines are squares, so they differ in print and without colour."""
    classes = " ".join(
        ["point", *(["baseline"] if point.is_baseline else []), *(["on-front"] if on_front else [])]
    )
    if point.is_baseline:
        attrs = f'class="{classes}" x="{num(px - 4.5)}" y="{num(py - 4.5)}" width="9" height="9"'
        return mark("rect", attrs, tip, point.url)
    return mark("circle", f'class="{classes}" cx="{num(px)}" cy="{num(py)}" r="5"', tip, point.url)


def pareto_scatter(points: Sequence[ParetoPoint], *, svg_id: str = "chart-pareto") -> Markup:
    """Scatter of AR against mean PSNR with the Pareto front drawn as ``path.front``.

    Args:
        points: One per model, in any order; points with a missing coordinate are left out.
        svg_id: The ``id`` of the ``<svg>``; pages and their tests look the chart up by it.

    Returns:
        The ``<svg>`` element as ``Markup``; a "no data" chart when nothing can be drawn.
    """
    placed = _placed(points)
    if not placed:
        return empty_chart(svg_id, _TITLE)
    xticks = nice_ticks(min(p[1] for p in placed), max(p[1] for p in placed), 6)
    yticks = nice_ticks(min(p[2] for p in placed), max(p[2] for p in placed), 5)
    sx = Linear(xticks[0], xticks[-1], _FRAME.x0, _FRAME.x1)
    sy = Linear(yticks[0], yticks[-1], _FRAME.y1, _FRAME.y0)
    front = _front_indices(placed)
    ordered = sorted((placed[i] for i in front), key=lambda item: (item[1], item[2]))
    path = " ".join(
        f"{'M' if i == 0 else 'L'}{num(sx(x))} {num(sy(y))}" for i, (_, x, y) in enumerate(ordered)
    )
    body = [
        *y_axis(_FRAME, sy, yticks, "AR"),
        *x_axis(_FRAME, sx, xticks, tick_labels(xticks), "mean PSNR (dB)"),
        f'<path class="front" d="{path}"/>',
    ]
    body.extend(
        _point_mark(p, sx(x), sy(y), i in front, _tip(p, x, y))
        for i, (p, x, y) in enumerate(placed)
    )
    names = ", ".join(p.name for p, _, _ in ordered)
    desc = f"{len(placed)} model{'s' if len(placed) != 1 else ''}; Pareto front: {names}."
    return svg_document(svg_id, _FRAME, _TITLE, desc, body)
