"""The precision at which numbers that depend on hidden tasks are published.

A model controls its outputs, so it controls its scores: by degrading a hidden task's output on
purpose it can write what it saw into the task's PSNR, one value per task per submission. What
is published bounds what it can write (SECURITY.md works the bound out):

- hidden tasks, for the submission's owner and administrators: PSNR and SSIM to
  :data:`DECIMALS` decimals; for everyone else only pass/fail per line and a coarse
  :func:`band` of the normalised score;
- no runtime per hidden task for anyone (a model can time itself as it likes): their total only,
  to :data:`RUNTIME_FIGURES` significant figures;
- every summary value that mixes hidden tasks in (mean PSNR and SSIM, their intervals, the
  hidden-task mean) to :data:`DECIMALS` decimals: a full-precision overall mean minus the public
  tasks' values would give the hidden tasks' sum back exactly.

The database keeps full precision (the ranking and AR/ER use it); rounding happens on the way out,
in the response schemas every page, export and chart is built from.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator

from gir_core.generality import TaskMark

DECIMALS = 2
RUNTIME_FIGURES = 2
BANDS = (
    (0.0, "below acceptance"),
    (0.5, "acceptance to midway"),
    (1.0, "midway to excellence"),
    (math.inf, "above excellence"),
)
"""Upper ends (exclusive) of the normalised-score bands published for hidden tasks: 2 bits."""
BAND_DRAWN = {"below acceptance": -0.5, "acceptance to midway": 0.25}
BAND_DRAWN |= {"midway to excellence": 0.75, "above excellence": 1.5}
"""Where a chart draws a band's bar (its middle; the open ends at half a unit out)."""


def rounded(value: float | None) -> float | None:
    """``value`` to the published :data:`DECIMALS`; None and non-finite values pass through.

    Example:
        >>> rounded(27.123456), rounded(None)
        (27.12, None)
    """
    if value is None or not math.isfinite(value):
        return value
    return round(value, DECIMALS)


def band(mark: TaskMark) -> str | None:
    """The coarse band a hidden task's normalised score falls in (consistent with its passes).

    None for broken lines: there is no score to band, and whether a task's lines are broken is
    public already (its lines are), so saying nothing leaks nothing.

    Example:
        >>> from gir_core.generality import TaskLine, task_mark
        >>> band(task_mark(TaskLine("1", 24.0, 27.0), 26.12))
        'midway to excellence'
        >>> band(task_mark(TaskLine("1", 24.0, 24.0), 26.12)) is None
        True
    """
    if mark.broken or mark.score is None:
        return None
    if mark.passed_excellence:
        return BANDS[-1][1]
    if not mark.passed_acceptance:
        return BANDS[0][1]
    return BANDS[2][1] if mark.score >= BANDS[1][0] else BANDS[1][1]


def runtime_total(seconds: Iterable[float]) -> float | None:
    """The sum of ``seconds`` to :data:`RUNTIME_FIGURES` significant figures (None if empty).

    Example:
        >>> runtime_total([1.234, 2.0]), runtime_total([123.4, 0.1])
        (3.2, 120.0)
    """
    values = list(seconds)
    if not values:
        return None
    total = math.fsum(values)
    if total <= 0 or not math.isfinite(total):
        return 0.0
    digits = RUNTIME_FIGURES - 1 - math.floor(math.log10(total))
    return float(round(total, digits))


def _rounded_float(value: float) -> float:
    return value if not math.isfinite(value) else round(value, DECIMALS)


Rounded = Annotated[float, AfterValidator(_rounded_float)]
"""A response field published at :data:`DECIMALS` decimals."""
MaybeRounded = Annotated[float | None, AfterValidator(rounded)]
"""An optional response field published at :data:`DECIMALS` decimals."""
