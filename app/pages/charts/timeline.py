"""The best AR on the board over time: a step line with a marker at each new best.

A step line, not a line through the bests, because the best stays where it is until a new
submission beats it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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
    x_axis,
    y_axis,
)

_FRAME = Frame(width=640, height=320, left=56, right=24, top=16, bottom=48)
_TITLE = "Best AR over time"
_HOUR = 3600.0
_DAY = 86400.0
_YEAR = 365 * _DAY
# Calendar-free steps: months vary in length, so 30/91/182 days stand in for them.
_TIME_STEPS = (_HOUR, 6 * _HOUR, _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 91 * _DAY)


@dataclass(frozen=True)
class TimePoint:
    """One scored submission: when it was made, its name, its AR (None/NaN skipped), its page."""

    when: datetime
    name: str
    value: float | None
    url: str | None = None


def _seconds(when: datetime) -> float:
    """POSIX seconds; naive datetimes are taken as UTC, as the service stores them."""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _date(seconds: float, fmt: str = "%Y-%m-%d") -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime(fmt)


def _records(points: Iterable[TimePoint]) -> tuple[list[tuple[TimePoint, float, float]], float]:
    """The submissions that set a new best, in time order, and the time of the last submission."""
    valid = sorted(
        ((p, _seconds(p.when), p.value) for p in points if p.value is not None and finite(p.value)),
        key=lambda item: item[1],
    )
    records: list[tuple[TimePoint, float, float]] = []
    for point, t, value in valid:
        if not records or value > records[-1][2]:
            records.append((point, t, value))
    return records, valid[-1][1] if valid else 0.0


def time_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Tick times in POSIX seconds inside ``[lo, hi]``, at whole hours, days, weeks or months.

    Examples:
        >>> [_date(t) for t in time_ticks(0.0, 10 * 86400.0)]
        ['1970-01-01', '1970-01-03', '1970-01-05', '1970-01-07', '1970-01-09', '1970-01-11']
    """
    span = max(hi - lo, _HOUR)
    step = next((s for s in _TIME_STEPS if span / s <= n), None)
    if step is None:
        step = math.ceil(span / n / _YEAR) * _YEAR
    return [i * step for i in range(math.ceil(lo / step), math.floor(hi / step) + 1)]


def _time_scale(first: float, last: float) -> tuple[Linear, list[float]]:
    """A padded time axis, so the first and last markers do not sit on the frame."""
    pad = max((last - first) * 0.04, _DAY / 2)
    lo, hi = first - pad, last + pad
    return Linear(lo, hi, _FRAME.x0, _FRAME.x1), time_ticks(lo, hi)


def _step_path(
    records: Sequence[tuple[TimePoint, float, float]], end: float, sx: Linear, sy: Linear
) -> str:
    """Horizontal until the next best, then straight up to it; on to the last submission."""
    _, t0, v0 = records[0]
    parts = [f"M{num(sx(t0))} {num(sy(v0))}"]
    parts.extend(f"H{num(sx(t))} V{num(sy(v))}" for _, t, v in records[1:])
    parts.append(f"H{num(sx(end))}")
    return " ".join(parts)


def best_over_time(points: Sequence[TimePoint], *, svg_id: str = "chart-best-ar") -> Markup:
    """Running best AR over submission dates, as ``path.series`` with ``.point`` markers.

    Args:
        points: Scored submissions in any order; ties do not count as a new best.
        svg_id: The ``id`` of the ``<svg>``.

    Returns:
        The ``<svg>`` element as ``Markup``; a "no data" chart when no submission has an AR.
    """
    records, end = _records(points)
    if not records:
        return empty_chart(svg_id, _TITLE)
    sx, xticks = _time_scale(records[0][1], end)
    yticks = nice_ticks(records[0][2], records[-1][2], 5)
    sy = Linear(yticks[0], yticks[-1], _FRAME.y1, _FRAME.y0)
    fmt = "%m-%d %H:%M" if len(xticks) > 1 and xticks[1] - xticks[0] < _DAY else "%Y-%m-%d"
    body = [
        *y_axis(_FRAME, sy, yticks, "best AR"),
        *x_axis(_FRAME, sx, xticks, [_date(t, fmt) for t in xticks], "submission date (UTC)"),
        f'<path class="series" d="{_step_path(records, end, sx, sy)}"/>',
    ]
    for point, t, value in records:
        tip = f"{_date(t)}\n{point.name}\nAR {value:.2f}"
        attrs = f'class="point" cx="{num(sx(t))}" cy="{num(sy(value))}" r="4"'
        body.append(mark("circle", attrs, tip, point.url))
    return svg_document(svg_id, _FRAME, _TITLE, _desc(records), body)


def _desc(records: Sequence[tuple[TimePoint, float, float]]) -> str:
    best, first = records[-1], records[0]
    if len(records) == 1:
        return f"The best AR is {best[2]:.2f}, set by {best[0].name}."
    return (
        f"The best AR rose from {first[2]:.2f} to {best[2]:.2f}; {len(records)} submissions "
        f"held the best in turn, the current best is {best[0].name}."
    )
