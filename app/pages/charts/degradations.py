"""Mean normalised score per basic degradation: which kinds of damage a model handles.

Horizontal bars, because degradation names are words and read best on the left of their bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.pages.charts._svg import (
    Frame,
    Linear,
    clip,
    empty_chart,
    finite,
    mark,
    nice_ticks,
    num,
    svg_document,
    tick_labels,
    v_line,
    x_axis,
)
from app.pages.charts.tasks import CLIP

_ROW = 24.0
_NAME_CHARS = 18  # longer names are shortened on the axis; the tip has them in full
_TITLE = "Mean normalised score per degradation"


@dataclass(frozen=True)
class DegradationItem:
    """One basic degradation: the model's mean s over the ``n_tasks`` tasks that contain it."""

    name: str
    mean_score: float | None
    n_tasks: int


def _frame(rows: int) -> Frame:
    """The height grows with the rows, so every name keeps a readable line."""
    return Frame(width=640, height=28 + rows * _ROW + 40, left=130, right=44, top=28, bottom=40)


def _tip(item: DegradationItem) -> str:
    tasks = f"over {item.n_tasks} task{'' if item.n_tasks == 1 else 's'}"
    if item.mean_score is None or not finite(item.mean_score):
        return f"{item.name}\nmean s undefined {tasks}"
    drawn, clipped = clip(item.mean_score, CLIP)
    note = f" (off the chart, drawn at {drawn:+g})" if clipped else ""
    return f"{item.name}\nmean s = {item.mean_score:.2f} {tasks}{note}"


def degradation_class(mean_score: float | None) -> str:
    """Colour class by where the mean lies against the lines (a mean, not a pass count)."""
    if mean_score is None or not finite(mean_score):
        return "broken"
    if mean_score >= 1:
        return "pass-exc"
    return "pass-acc" if mean_score >= 0 else "fail"


def _row(item: DegradationItem, y: float, frame: Frame, sx: Linear) -> list[str]:
    """The shortened name on the left and the bar from 0 (a thin marker when undefined)."""
    name = item.name if len(item.name) <= _NAME_CHARS else item.name[: _NAME_CHARS - 1] + "…"
    label = (
        f'<text class="tick" x="{num(frame.x0 - 6)}" y="{num(y)}" text-anchor="end" '
        f'dominant-baseline="middle">{escape(name)}</text>'
    )
    cls = degradation_class(item.mean_score)
    if item.mean_score is None or cls == "broken":
        x_from, x_to = sx(0) - 2, sx(0) + 2
    else:
        value, clipped = clip(item.mean_score, CLIP)
        x_from, x_to = sx(0), sx(value)
        cls += " clipped" if clipped else ""
    height = _ROW * 0.6
    attrs = (
        f'class="bar {cls}" x="{num(min(x_from, x_to))}" y="{num(y - height / 2)}" '
        f'width="{num(max(abs(x_to - x_from), 1.0))}" height="{num(height)}"'
    )
    return [label, mark("rect", attrs, _tip(item))]


def degradation_bias(
    items: Sequence[DegradationItem], *, svg_id: str = "chart-degradation-bias"
) -> Markup:
    """Horizontal bars of the mean normalised score per degradation, with the 0 and 1 lines.

    Args:
        items: One per basic degradation, drawn top to bottom in the given order.
        svg_id: The ``id`` of the ``<svg>``.

    Returns:
        The ``<svg>`` element as ``Markup``; a "no data" chart for no items.
    """
    if not items:
        return empty_chart(svg_id, _TITLE)
    frame = _frame(len(items))
    means = [i.mean_score for i in items]
    scores = [clip(m, CLIP)[0] for m in means if m is not None and finite(m)]
    xticks = nice_ticks(min([0.0, *scores]), max([1.0, *scores]), 6)
    sx = Linear(xticks[0], xticks[-1], frame.x0, frame.x1)
    body = x_axis(frame, sx, xticks, tick_labels(xticks), "mean normalised score s")
    for index, item in enumerate(items):
        body += _row(item, frame.y0 + (index + 0.5) * _ROW, frame, sx)
    body += v_line(frame, sx(0), "line-acc", "acceptance")
    body += v_line(frame, sx(1), "line-exc", "excellence")
    return svg_document(svg_id, frame, _TITLE, _desc(items), body)


def _desc(items: Sequence[DegradationItem]) -> str:
    means = [
        f"{i.name} {i.mean_score:.2f}"
        if i.mean_score is not None and finite(i.mean_score)
        else f"{i.name} undefined"
        for i in items
    ]
    return f"Mean s of {len(items)} degradations: " + "; ".join(means) + "."
