"""The line-quality rule: a line is worth measuring against only if it is above doing nothing.

For every task, input PSNR < acceptance < excellence with excellence − acceptance ≥
:data:`MIN_SPREAD_DB` (issue #11 §1), all measured under the same metric convention (the input
is the degraded image itself, i.e. what the identity model scores). A line that fails is never
used silently: the admin CLI, the tasks page and the leaderboard show these marks, and freezing
a version with such lines needs ``--allow-weak-lines``.

Example:
    >>> line_problems(24.0, 23.5, 23.55)
    ('below the input', 'excellence not above acceptance')
    >>> line_problems(24.0, 24.5, 25.0)
    ()
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("acceptance", "excellence")
"""The two lines of a task (as in :mod:`gir_core.baselines`, without importing torch)."""

MIN_SPREAD_DB = 0.1
"""Smallest excellence − acceptance gap (dB) for the two lines to tell models apart."""

BELOW_INPUT = "below the input"
NOT_ABOVE = "excellence not above acceptance"


def line_problems(
    input_psnr: float | None, acceptance: float | None, excellence: float | None
) -> tuple[str, ...]:
    """The marks of one task's lines (empty when they are fine or not there yet).

    An unknown input PSNR (lines imported without it) checks only the spread.
    """
    if acceptance is None or excellence is None:
        return ()
    problems = []
    if input_psnr is not None and acceptance <= input_psnr:
        problems.append(BELOW_INPUT)
    if excellence - acceptance < MIN_SPREAD_DB:
        problems.append(NOT_ABOVE)
    return tuple(problems)


@dataclass(frozen=True)
class WeakLine:
    """A task whose lines break the rule, and how."""

    key: str
    problems: tuple[str, ...]

    def sentence(self) -> str:
        """e.g. ``task 3: below the input``."""
        return f"task {self.key}: {', '.join(self.problems)}"


def weak_lines(
    rows: Iterable[tuple[str, float | None, float | None, float | None]],
) -> list[WeakLine]:
    """The weak tasks of (key, input PSNR, acceptance, excellence) rows, in the given order."""
    found = []
    for key, given, acceptance, excellence in rows:
        problems = line_problems(given, acceptance, excellence)
        if problems:
            found.append(WeakLine(key, problems))
    return found
