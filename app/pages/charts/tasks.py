"""Per-task bar charts grouped by mixture order k: one model's task bias, two models' difference.

Grouping by order (the paper's Figures 5b/c) shows at a glance whether a model's failures
concentrate on the harder mixtures; a gap of one bar separates the groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

from markupsafe import Markup

from app.pages.charts._svg import (
    Frame,
    Linear,
    clip,
    empty_chart,
    finite,
    h_line,
    mark,
    nice_ticks,
    num,
    svg_document,
    y_axis,
)

CLIP = 3.0  # scores beyond ±CLIP are drawn at the limit, with a note in the tip
TIE_DB = 0.005  # PSNR differences this small count as ties
_FRAME = Frame(width=640, height=320, left=56, right=80, top=16, bottom=40)
_DIFF_FRAME = Frame(width=640, height=320, left=56, right=16, top=16, bottom=40)  # no line labels
_BIAS_TITLE = "Normalised score per task"
_DIFF_TITLE = "PSNR difference per task (A − B)"


@dataclass(frozen=True)
class TaskBar:
    """One task of one model: s = (psnr − acceptance) / (excellence − acceptance).

    ``score`` is None when the lines are undefined; ``spec`` is None for a hidden task.
    """

    key: str
    order: int
    score: float | None
    spec: str | None
    psnr: float | None
    acceptance: float | None
    excellence: float | None
    passed_acceptance: bool | None  # None: broken lines (gir_core.generality.task_mark)
    passed_excellence: bool | None
    band: str | None = None  # a hidden task seen by others: only its band is published


@dataclass(frozen=True)
class DiffBar:
    """One task scored by models A and B; ``spec`` is None for a hidden task."""

    key: str
    order: int
    spec: str | None
    psnr_a: float | None
    psnr_b: float | None


@dataclass(frozen=True)
class _Layout:
    centers: list[float]
    width: float
    groups: list[tuple[int, float]]  # order k and the x of its label


def _layout(orders: Sequence[int], frame: Frame) -> _Layout:
    """Bar centres for bars already sorted by order, one empty slot between groups."""
    runs = [(k, len(list(run))) for k, run in groupby(orders)]
    slot = (frame.x1 - frame.x0) / (len(orders) + len(runs) - 1)
    centers: list[float] = []
    groups: list[tuple[int, float]] = []
    position = 0
    for k, count in runs:
        centers.extend(frame.x0 + (position + i + 0.5) * slot for i in range(count))
        groups.append((k, frame.x0 + (position + count / 2) * slot))
        position += count + 1
    return _Layout(centers, min(slot * 0.7, 40.0), groups)


def _group_labels(layout: _Layout, frame: Frame) -> list[str]:
    return [
        f'<text class="label group" x="{num(x)}" y="{num(frame.y1 + 18)}" '
        f'text-anchor="middle">k={k}</text>'
        for k, x in layout.groups
    ]


def _vbar(cx: float, width: float, y_from: float, y_to: float, classes: str, tip: str) -> str:
    """A bar between two heights, at least one unit tall so a zero still shows and takes focus."""
    top, height = min(y_from, y_to), max(abs(y_to - y_from), 1.0)
    attrs = (
        f'class="{classes}" x="{num(cx - width / 2)}" y="{num(top)}" '
        f'width="{num(width)}" height="{num(height)}"'
    )
    return mark("rect", attrs, tip)


def _db(value: float | None) -> str:
    return f"{value:.2f} dB" if value is not None and finite(value) else "n/a"


def _head(key: str, order: int, spec: str | None) -> list[str]:
    return [f"task {key} (k={order})", spec if spec is not None else "hidden"]


def task_class(bar: TaskBar) -> str:
    """The bar's outcome class: ``pass-exc``, ``pass-acc``, ``fail`` or ``broken`` (no score)."""
    if bar.score is None or not finite(bar.score):
        return "broken"
    if bar.passed_excellence:
        return "pass-exc"
    return "pass-acc" if bar.passed_acceptance else "fail"


def _task_tip(bar: TaskBar) -> str:
    if (
        bar.acceptance is not None
        and bar.excellence is not None
        and finite(bar.acceptance)
        and finite(bar.excellence)
    ):
        lines = f"acceptance {bar.acceptance:.2f} · excellence {bar.excellence:.2f}"
    else:
        lines = "lines undefined"
    if bar.band is not None:
        score = f"s: {bar.band} (hidden task: only its band is published)"
    elif bar.passed_acceptance is None:  # gir_core.generality.task_mark: broken lines
        score = "line broken: excellence not above acceptance, so no s"
    elif bar.score is None or not finite(bar.score):
        score = "s undefined"
    else:
        drawn, clipped = clip(bar.score, CLIP)
        score = f"s = {bar.score:.2f}" + (
            f" (off the chart, drawn at {drawn:+g})" if clipped else ""
        )
    return "\n".join([*_head(bar.key, bar.order, bar.spec), f"PSNR {_db(bar.psnr)}", lines, score])


def _task_mark(bar: TaskBar, cx: float, width: float, sy: Linear) -> str:
    """The score bar from 0, or a thin marker at 0 when the score is undefined."""
    cls, tip = task_class(bar), _task_tip(bar)
    if bar.score is None or cls == "broken":
        return _vbar(cx, width, sy(0) - 2, sy(0) + 2, "bar broken", tip)
    value, clipped = clip(bar.score, CLIP)
    return _vbar(cx, width, sy(0), sy(value), f"bar {cls}" + (" clipped" if clipped else ""), tip)


def _bias_desc(bars: Sequence[TaskBar]) -> str:
    classes = [task_class(b) for b in bars]
    return (
        f"{len(bars)} tasks: {classes.count('pass-exc')} passed excellence, "
        f"{classes.count('pass-acc')} passed acceptance only, {classes.count('fail')} failed, "
        f"{classes.count('broken')} without defined lines."
    )


def task_bias(bars: Sequence[TaskBar], *, svg_id: str = "chart-task-bias") -> Markup:
    """One bar per task of the normalised score, with the acceptance (0) and excellence (1) lines.

    Args:
        bars: The model's tasks in display order; they are grouped by ``order`` (stable).
        svg_id: The ``id`` of the ``<svg>``.

    Returns:
        The ``<svg>`` element as ``Markup``; a "no data" chart for no tasks.
    """
    ordered = sorted(bars, key=lambda b: b.order)
    if not ordered:
        return empty_chart(svg_id, _BIAS_TITLE)
    scores = [clip(b.score, CLIP)[0] for b in ordered if b.score is not None and finite(b.score)]
    yticks = nice_ticks(min([0.0, *scores]), max([1.0, *scores]), 6)
    sy = Linear(yticks[0], yticks[-1], _FRAME.y1, _FRAME.y0)
    layout = _layout([b.order for b in ordered], _FRAME)
    body = [*y_axis(_FRAME, sy, yticks, "normalised score s"), *_group_labels(layout, _FRAME)]
    body.extend(
        _task_mark(b, cx, layout.width, sy) for b, cx in zip(ordered, layout.centers, strict=True)
    )
    body += h_line(_FRAME, sy(0), "line-acc", "acceptance")
    body += h_line(_FRAME, sy(1), "line-exc", "excellence")
    return svg_document(svg_id, _FRAME, _BIAS_TITLE, _bias_desc(ordered), body)


def classify_difference(delta: float) -> str:
    """``pos`` when A is better, ``neg`` when B is better, ``zero`` within ``TIE_DB`` dB.

    The small tolerance keeps 27.315 − 27.31 (0.0050000000000026 in floats) a tie.

    Examples:
        >>> [classify_difference(d) for d in (0.41, -0.2, 0.005, -0.004)]
        ['pos', 'neg', 'zero', 'zero']
    """
    if abs(delta) <= TIE_DB + 1e-9:
        return "zero"
    return "pos" if delta > 0 else "neg"


def _delta(bar: DiffBar) -> float | None:
    if bar.psnr_a is None or bar.psnr_b is None:
        return None
    delta = bar.psnr_a - bar.psnr_b
    return delta if finite(delta) else None


def _diff_tip(bar: DiffBar, delta: float | None) -> str:
    if delta is None:
        change = "Δ undefined"
    else:
        text = f"{delta:+.2f}"
        change = f"Δ {'+0.00' if text == '-0.00' else text} dB"
    scores = f"A {_db(bar.psnr_a)} · B {_db(bar.psnr_b)}"
    return "\n".join([*_head(bar.key, bar.order, bar.spec), scores, change])


def _diff_desc(deltas: Sequence[float | None]) -> str:
    classes = [classify_difference(d) if d is not None else "broken" for d in deltas]
    return (
        f"{len(deltas)} tasks: A better on {classes.count('pos')}, B better on "
        f"{classes.count('neg')}, {classes.count('zero')} ties, {classes.count('broken')} "
        "without both scores."
    )


def difference(bars: Sequence[DiffBar], *, svg_id: str = "chart-compare") -> Markup:
    """Diverging bars of PSNR(A) − PSNR(B) per task, grouped by order like :func:`task_bias`.

    Args:
        bars: Tasks scored by both models; a task missing either PSNR gets a ``broken`` marker.
        svg_id: The ``id`` of the ``<svg>``.

    Returns:
        The ``<svg>`` element as ``Markup``; a "no data" chart for no tasks.
    """
    ordered = sorted(bars, key=lambda b: b.order)
    if not ordered:
        return empty_chart(svg_id, _DIFF_TITLE)
    deltas = [_delta(b) for b in ordered]
    extent = max((abs(d) for d in deltas if d is not None), default=0.0)
    yticks = nice_ticks(-extent, extent, 6)
    sy = Linear(yticks[0], yticks[-1], _DIFF_FRAME.y1, _DIFF_FRAME.y0)
    layout = _layout([b.order for b in ordered], _DIFF_FRAME)
    body = [
        *y_axis(_DIFF_FRAME, sy, yticks, "PSNR A − B (dB)"),
        *_group_labels(layout, _DIFF_FRAME),
    ]
    for bar, delta, cx in zip(ordered, deltas, layout.centers, strict=True):
        tip = _diff_tip(bar, delta)
        if delta is None:
            body.append(_vbar(cx, layout.width, sy(0) - 2, sy(0) + 2, "bar broken", tip))
        else:
            body.append(
                _vbar(cx, layout.width, sy(0), sy(delta), f"bar {classify_difference(delta)}", tip)
            )
    body += h_line(_DIFF_FRAME, sy(0), "axis")
    return svg_document(svg_id, _DIFF_FRAME, _DIFF_TITLE, _diff_desc(deltas), body)
