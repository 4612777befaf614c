"""Per basic degradation: which kinds of damage a model handles, alone and in mixtures.

Horizontal bars, because degradation names are words and read best on the left of their bar.
The bar is the median normalised score s over the mixtures containing the degradation and a
diamond marks its single task's s (:func:`gir_core.generality.degradation_profile`): a median
resists the outliers that tiny line gaps make of s, and the single task shows what a model does
with the degradation alone. Summaries made before that measure hold only the old mean of s over
every task containing it; their bars say so.
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
_TITLE = "Normalised score per degradation: median over mixtures, single task marked"


@dataclass(frozen=True)
class DegradationItem:
    """One basic degradation.

    Old summaries: ``mean_score`` is the mean s over the ``n_tasks`` tasks containing it (the
    old measure). Profiled ones (``profiled``): ``mean_score`` is the median s over its
    ``n_tasks`` mixtures, with the single task's s, the pass rate and the broken tasks left out.
    """

    name: str
    mean_score: float | None
    n_tasks: int
    profiled: bool = False
    single_score: float | None = None
    pass_rate: float | None = None
    n_broken: int = 0
    mean_all_tasks: float | None = None


def _frame(rows: int) -> Frame:
    """The height grows with the rows, so every name keeps a readable line."""
    return Frame(width=640, height=28 + rows * _ROW + 40, left=130, right=44, top=28, bottom=40)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _tip(item: DegradationItem) -> str:
    if not item.profiled:
        tasks = f"over {_plural(item.n_tasks, 'task')} (old measure: all tasks)"
        if item.mean_score is None or not finite(item.mean_score):
            return f"{item.name}\nmean s undefined {tasks}"
        return f"{item.name}\nmean s = {item.mean_score:.2f} {tasks}{_off(item.mean_score)}"
    lines = [item.name]
    if item.single_score is not None and finite(item.single_score):
        lines.append(f"alone: s = {item.single_score:.2f}{_off(item.single_score)}")
    mixtures = _plural(item.n_tasks, "mixture")
    if item.mean_score is not None and finite(item.mean_score):
        rate = f", {item.pass_rate:.0%} above acceptance" if item.pass_rate is not None else ""
        lines.append(f"in {mixtures}: median s = {item.mean_score:.2f}{rate}")
    else:
        lines.append(f"in {mixtures}: no median")
    if item.n_broken:
        lines.append(f"{_plural(item.n_broken, 'task')} with broken lines left out")
    if item.mean_all_tasks is not None and finite(item.mean_all_tasks):
        lines.append(f"old measure, mean s over all tasks = {item.mean_all_tasks:.2f}")
    return "\n".join(lines)


def _off(value: float) -> str:
    drawn, clipped = clip(value, CLIP)
    return f" (off the chart, drawn at {drawn:+g})" if clipped else ""


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
    parts = [label, mark("rect", attrs, _tip(item))]
    if item.single_score is not None and finite(item.single_score):
        x, r = sx(clip(item.single_score, CLIP)[0]), height / 2
        corners = ((x, y - r), (x + r, y), (x, y + r), (x - r, y))
        points = " ".join(f"{num(cx)},{num(cy)}" for cx, cy in corners)
        single = f"{item.name}\nalone: s = {item.single_score:.2f}{_off(item.single_score)}"
        parts.append(mark("polygon", f'class="single-task" points="{points}"', single))
    return parts


def degradation_bias(
    items: Sequence[DegradationItem], *, svg_id: str = "chart-degradation-bias"
) -> Markup:
    """Horizontal bars of the median s over mixtures (or the old mean, so labelled) per
    degradation, a diamond at the single task's s, and the 0 and 1 lines.

    Args:
        items: One per basic degradation, drawn top to bottom in the given order.
        svg_id: The ``id`` of the ``<svg>``.

    Returns:
        The ``<svg>`` element as ``Markup``; a "no data" chart for no items.
    """
    if not items:
        return empty_chart(svg_id, _TITLE)
    frame = _frame(len(items))
    means = [i.mean_score for i in items] + [i.single_score for i in items]
    scores = [clip(m, CLIP)[0] for m in means if m is not None and finite(m)]
    xticks = nice_ticks(min([0.0, *scores]), max([1.0, *scores]), 6)
    sx = Linear(xticks[0], xticks[-1], frame.x0, frame.x1)
    profiled = any(item.profiled for item in items)
    axis = "normalised score s" if profiled else "mean normalised score s (old measure)"
    body = x_axis(frame, sx, xticks, tick_labels(xticks), axis)
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
    what = "Median s over mixtures" if any(i.profiled for i in items) else "Mean s (old measure)"
    return f"{what} of {len(items)} degradations: " + "; ".join(means) + "."
