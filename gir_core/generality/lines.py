"""A task's two lines and the one place that marks a PSNR against them (SPEC §2.2).

Every page, API response and summary that says whether a task passes, what its normalised score
is, or that its lines are broken, asks :func:`task_mark` (or :func:`broken_lines`): the rule is
written once, here, so the service cannot drift from the science.

Passing is strict (``>``): only the strict comparison reproduces the paper's Table 4 (see
:mod:`gir_core.generality`). Lines whose excellence is not strictly above their acceptance
(reversed or equal) are *broken*: ``s = (psnr - acc) / (exc - acc)`` is then undefined or
reversed, and a pass mark against them would say nothing, so a broken task gets neither.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from gir_core.errors import ParameterError

TaskKind = Literal["representative", "hidden"]
KINDS: tuple[TaskKind, ...] = ("representative", "hidden")


@dataclass(frozen=True)
class TaskLine:
    """The acceptance and excellence line (PSNR, dB) of one task.

    ``kind`` (None: unknown) separates public from hidden tasks, whose gap is the paper's
    generalisation signal. ``names`` (``Task.names``, empty: unknown) feed the per-degradation bias.
    """

    task_id: str
    acceptance: float
    excellence: float
    kind: TaskKind | None = None
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.task_id, str) or not self.task_id:
            raise ParameterError(f"task_id must be a non-empty string, got {self.task_id!r}")
        for field in ("acceptance", "excellence"):
            if not math.isfinite(value := getattr(self, field)):
                raise ParameterError(f"task {self.task_id}: {field} must be finite, got {value}")
        if self.kind not in (None, *KINDS):
            raise ParameterError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def broken(self) -> bool:
        """Excellence not strictly above acceptance: the normalised score has no scale."""
        return not self.excellence > self.acceptance


@dataclass(frozen=True)
class TaskMark:
    """What one task's mean PSNR earns against its lines.

    For broken lines every mark is None: neither pass nor fail, and no score.
    """

    task_id: str
    broken: bool
    passed_acceptance: bool | None
    passed_excellence: bool | None
    score: float | None


def task_mark(line: TaskLine, mean_psnr: float) -> TaskMark:
    """Pass marks and normalised score of one task, or "line broken".

    Args:
        line: The task's lines.
        mean_psnr: The model's mean PSNR (dB) on the task, used exactly as given (no rounding
            before comparing, like AR and ER).

    Raises:
        ParameterError: ``mean_psnr`` is not a finite number.

    Example:
        >>> mark = task_mark(TaskLine("1", 30.0, 32.0), 31.5)
        >>> mark.passed_acceptance, mark.passed_excellence, mark.score, mark.broken
        (True, False, 0.75, False)
        >>> task_mark(TaskLine("2", 30.0, 30.0), 31.5).broken
        True
    """
    value = float(mean_psnr)
    if not math.isfinite(value):
        raise ParameterError(f"task {line.task_id}: mean PSNR must be finite, got {mean_psnr}")
    if line.broken:
        return TaskMark(line.task_id, True, None, None, None)
    return TaskMark(
        task_id=line.task_id,
        broken=False,
        passed_acceptance=value > line.acceptance,
        passed_excellence=value > line.excellence,
        score=(value - line.acceptance) / (line.excellence - line.acceptance),
    )


def broken_lines(lines: Sequence[TaskLine]) -> list[str]:
    """Ids of the tasks whose excellence line is not above their acceptance line, in line order.

    Such tasks have no normalised score (see :func:`task_mark`); callers that can do without
    them (e.g. :func:`~gir_core.generality.degradation_bias` with ``skip_broken``) say which they
    left out.

    Example:
        >>> broken_lines([TaskLine("1", 30.0, 32.0), TaskLine("2", 25.0, 24.0)])
        ['2']
    """
    return [line.task_id for line in lines if line.broken]


def per_task(
    lines: Sequence[TaskLine], values: Mapping[str, float], what: str
) -> NDArray[np.float64]:
    """Values in line order, refusing missing, extra or non-finite entries by task id."""
    ids = [line.task_id for line in lines]
    if not ids:
        raise ParameterError("no task lines given; AR and ER need at least one task")
    if twice := sorted(t for t, n in Counter(ids).items() if n > 1):
        raise ParameterError(f"more than one line for {few(twice)}")
    missing = [t for t in ids if t not in values]
    if missing:
        raise ParameterError(f"{what} missing for {few(missing)}")
    extra = sorted(set(values) - set(ids))
    if extra:
        raise ParameterError(f"{what} given for {few(extra)} with no line")
    out = np.array([float(values[t]) for t in ids], dtype=np.float64)
    bad = [t for t, v in zip(ids, out, strict=True) if not math.isfinite(v)]
    if bad:
        raise ParameterError(f"{what} is not a finite number for {few(bad)}")
    return out


def few(ids: Sequence[str], limit: int = 5) -> str:
    """Task list for a message: enough to act on, short enough to read."""
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return f"task{'s' if len(ids) > 1 else ''} {', '.join(ids[:limit])}{more}"
