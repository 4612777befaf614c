"""Charts as inline SVG rendered on the server: no JS library, no CDN, readable without JS.

Each chart is a pure function from small frozen dataclasses to ``Markup`` for a Jinja2 page.
Marks carry ``data-tip`` (the tooltip script's text) and a ``<title>`` (the no-JS fallback);
colours come only from CSS classes, so themes and print live in the stylesheet.

Examples:
    >>> svg = pareto_scatter([ParetoPoint("a", 27.3, 0.62, url="/submissions/1")])
    >>> svg.startswith('<svg id="chart-pareto" class="chart"')
    True
"""

from app.pages.charts._svg import nice_ticks
from app.pages.charts.degradations import DegradationItem, degradation_bias, degradation_class
from app.pages.charts.pareto import ParetoPoint, pareto_front, pareto_scatter
from app.pages.charts.tasks import (
    CLIP,
    TIE_DB,
    DiffBar,
    TaskBar,
    classify_difference,
    difference,
    task_bias,
    task_class,
)
from app.pages.charts.timeline import TimePoint, best_over_time

__all__ = [
    "CLIP",
    "TIE_DB",
    "DegradationItem",
    "DiffBar",
    "ParetoPoint",
    "TaskBar",
    "TimePoint",
    "best_over_time",
    "classify_difference",
    "degradation_bias",
    "degradation_class",
    "difference",
    "nice_ticks",
    "pareto_front",
    "pareto_scatter",
    "task_bias",
    "task_class",
]
