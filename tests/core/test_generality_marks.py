"""Tests for gir_core.generality.task_mark: the one rule for passes, score and broken lines.

The service shows these marks as they are (pages and API, tests/app/test_pass_marks.py), so the
rule is pinned here at its edges: exactly on a line, equal lines, reversed lines.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gir_core import generality
from gir_core.errors import ParameterError
from gir_core.generality import TaskLine, TaskMark, task_mark


def test_above_both_lines_passes_both() -> None:
    assert task_mark(TaskLine("1", 30.0, 32.0), 33.0) == TaskMark("1", False, True, True, 1.5)


def test_between_the_lines_passes_acceptance_only() -> None:
    mark = task_mark(TaskLine("1", 30.0, 32.0), 31.5)
    assert (mark.passed_acceptance, mark.passed_excellence, mark.score) == (True, False, 0.75)
    assert not mark.broken


def test_below_acceptance_fails_both_with_a_negative_score() -> None:
    mark = task_mark(TaskLine("1", 30.0, 32.0), 29.0)
    assert (mark.passed_acceptance, mark.passed_excellence, mark.score) == (False, False, -0.5)


def test_exactly_on_a_line_does_not_pass_it() -> None:
    """Strict, as AR: a tie is not "surpass" (Table 4 row d needs it)."""
    line = TaskLine("1", 30.0, 32.0)
    on_acceptance, on_excellence = task_mark(line, 30.0), task_mark(line, 32.0)
    assert (on_acceptance.passed_acceptance, on_acceptance.score) == (False, 0.0)
    assert (on_excellence.passed_acceptance, on_excellence.passed_excellence) == (True, False)
    assert on_excellence.score == 1.0
    nudged = task_mark(line, math.nextafter(30.0, math.inf))
    assert nudged.passed_acceptance is True


@pytest.mark.parametrize(("acceptance", "excellence"), [(30.0, 30.0), (30.0, 29.0), (30.0, 0.5)])
@pytest.mark.parametrize("psnr", [20.0, 29.5, 30.0, 40.0])
def test_broken_lines_get_no_marks_whatever_the_psnr(
    acceptance: float, excellence: float, psnr: float
) -> None:
    mark = task_mark(TaskLine("7", acceptance, excellence), psnr)
    assert mark == TaskMark("7", True, None, None, None)


def test_a_hair_of_spread_is_not_broken() -> None:
    """Broken is "not strictly above"; a tiny positive spread is weak (line_quality) only."""
    mark = task_mark(TaskLine("1", 30.0, 30.001), 30.0005)
    assert not mark.broken and mark.passed_acceptance is True
    assert mark.score == pytest.approx(0.5)


@pytest.mark.parametrize("psnr", [math.nan, math.inf, -math.inf])
def test_non_finite_psnr_is_refused(psnr: float) -> None:
    with pytest.raises(ParameterError, match="task 1: mean PSNR must be finite"):
        task_mark(TaskLine("1", 30.0, 32.0), psnr)


def test_marks_agree_with_summary_scores_and_broken_lines() -> None:
    """On random lines (some equal, some reversed) every consumer in the package agrees."""
    rng = np.random.default_rng(3)
    acceptance = rng.uniform(20.0, 30.0, 40)
    spread = rng.choice([-1.0, 0.0, 0.05, 1.0, 2.5], 40)
    lines = [
        TaskLine(str(i), float(a), float(a + d))
        for i, (a, d) in enumerate(zip(acceptance, spread, strict=True))
    ]
    psnr = {line.task_id: float(line.acceptance + rng.uniform(-2.0, 3.0)) for line in lines}
    psnr["0"] = lines[0].acceptance  # one exact tie
    marks = {line.task_id: task_mark(line, psnr[line.task_id]) for line in lines}
    broken = generality.broken_lines(lines)
    assert 0 < len(broken) < len(lines)
    assert broken == [t for t, mark in marks.items() if mark.broken]
    sound = [line for line in lines if not line.broken]
    sound_psnr = {line.task_id: psnr[line.task_id] for line in sound}
    summary = generality.summarize(sound, sound_psnr)
    assert summary.accepted == tuple(t for t, m in marks.items() if m.passed_acceptance)
    assert summary.excellent == tuple(t for t, m in marks.items() if m.passed_excellence)
    scores = generality.normalised_scores(sound, sound_psnr)
    assert scores == {t: m.score for t, m in marks.items() if not m.broken}


def test_the_package_keeps_its_public_names() -> None:
    """Callers use ``from gir_core import generality; generality.summarize(...)``."""
    for name in generality.__all__:
        assert getattr(generality, name) is not None
    assert generality.summarize.__module__ == "gir_core.generality.summary"
    assert generality.task_mark.__module__ == "gir_core.generality.lines"
