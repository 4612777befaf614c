"""Server-side SVG charts: well-formed XML, the marks, classes and tips the pages rely on.

Every chart is parsed with ElementTree, so a stray ``<`` from an unescaped name fails the test
as surely as a wrong count does.
"""

from __future__ import annotations

import math
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup

from app.pages.charts import (
    DegradationItem,
    DiffBar,
    ParetoPoint,
    TaskBar,
    TimePoint,
    best_over_time,
    classify_difference,
    degradation_bias,
    difference,
    nice_ticks,
    pareto_front,
    pareto_scatter,
    task_bias,
)

NS = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert(1)</script>"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def marks(root: ET.Element, cls: str) -> list[ET.Element]:
    """Elements carrying class ``cls``, in document order."""
    return [e for e in root.iter() if cls in classes(e)]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in root.iter(f"{NS}text") if cls in classes(e)]


def assert_chart_root(root: ET.Element, svg_id: str) -> None:
    assert root.tag == f"{NS}svg"
    assert root.get("id") == svg_id
    assert root.get("class") == "chart"
    assert root.get("role") == "img"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("width") is None and root.get("height") is None
    assert root.get("aria-labelledby") == f"{svg_id}-title {svg_id}-desc"
    assert root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None
    assert "fill" not in str(ET.tostring(root)) and "style=" not in str(ET.tostring(root))


def assert_tooltips(elements: list[ET.Element]) -> None:
    """Each mark: a data-tip, focusable, with a matching <title> child as the no-JS fallback."""
    assert elements
    for element in elements:
        tip = element.get("data-tip")
        assert tip
        assert element.get("tabindex") == "0"
        title = element.find(f"{NS}title")
        assert title is not None and title.text == tip


# nice_ticks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "n", "expected"),
    [
        (0.0, 1.0, 5, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (24.3, 28.1, 4, [24.0, 25.0, 26.0, 27.0, 28.0, 29.0]),
        (-3.0, 3.0, 6, [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]),
        (0.31, 0.62, 5, [0.3, 0.4, 0.5, 0.6, 0.7]),
        (1.0, 0.0, 5, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.0, 0.0, 4, [-1.0, -0.5, 0.0, 0.5, 1.0]),
        (5.0, 5.0, 4, [4.5, 4.75, 5.0, 5.25, 5.5]),
        (0.0, 1000.0, 4, [0.0, 250.0, 500.0, 750.0, 1000.0]),
    ],
)
def test_nice_ticks_values(lo: float, hi: float, n: int, expected: list[float]) -> None:
    assert nice_ticks(lo, hi, n) == expected


def test_nice_ticks_refuses_non_finite_ranges() -> None:
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0.0, math.nan)


# Pareto scatter -------------------------------------------------------------------------------


def hand_made_points() -> list[ParetoPoint]:
    return [
        ParetoPoint("p25", 25.0, 0.3, url="/submissions/1"),
        ParetoPoint("p26", 26.0, 0.5, url="/submissions/2"),
        ParetoPoint("p27", 27.0, 0.4, url="/submissions/3"),
        ParetoPoint("p28", 28.0, 0.6, url="/submissions/4"),
        ParetoPoint("p24", 24.0, 0.6, url="/submissions/5", is_baseline=True),
    ]


def test_pareto_front_excludes_points_equal_on_one_axis_and_worse_on_the_other() -> None:
    # (28, 0.6) dominates (24, 0.6): higher x, equal y. It dominates every other point too.
    assert [p.name for p in pareto_front(hand_made_points())] == ["p28"]


def test_pareto_front_is_sorted_by_x_and_keeps_ties() -> None:
    points = [
        ParetoPoint("c", 28.0, 0.4),
        ParetoPoint("a", 24.0, 0.7),
        ParetoPoint("b", 26.0, 0.5),
        ParetoPoint("b-again", 26.0, 0.5),
        ParetoPoint("dominated", 25.0, 0.5),
    ]
    assert [p.name for p in pareto_front(points)] == ["a", "b", "b-again", "c"]


def test_pareto_scatter_marks_front_and_baselines() -> None:
    root = parse(pareto_scatter(hand_made_points()))
    assert_chart_root(root, "chart-pareto")
    points = marks(root, "point")
    assert len(points) == 5
    assert_tooltips(points)
    on_front = [p for p in points if "on-front" in classes(p)]
    assert [p.get("data-tip") for p in on_front] == ["p28\nAR 0.60\nmean PSNR 28.00 dB"]
    baselines = [p for p in points if "baseline" in classes(p)]
    assert [p.get("data-tip") for p in baselines] == ["p24\nAR 0.60\nmean PSNR 24.00 dB\nbaseline"]
    assert len(root.findall(f"{NS}path[@class='front']")) == 1
    links = root.findall(f"{NS}a")
    assert sorted(a.get("href", "") for a in links) == [f"/submissions/{i}" for i in range(1, 6)]


def test_pareto_front_path_goes_through_front_points_left_to_right() -> None:
    points = [ParetoPoint("a", 24.0, 0.7), ParetoPoint("b", 26.0, 0.5), ParetoPoint("c", 28.0, 0.4)]
    root = parse(pareto_scatter(points))
    path = root.find(f"{NS}path[@class='front']")
    assert path is not None
    d = path.get("d", "")
    assert d.startswith("M") and d.count("L") == 2
    xs = [float(step.split()[0]) for step in d.replace("M", "L").split("L")[1:]]
    assert xs == sorted(xs)
    assert len(marks(root, "on-front")) == 3


def test_pareto_scatter_tip_format_and_axis_labels() -> None:
    root = parse(pareto_scatter([ParetoPoint("net", 27.314, 0.6249)]))
    (point,) = marks(root, "point")
    assert point.get("data-tip") == "net\nAR 0.62\nmean PSNR 27.31 dB"
    assert "mean PSNR (dB)" in texts(root, "label")
    assert "AR" in texts(root, "label")
    assert texts(root, "tick")  # a single point still gets an axis with ticks


def test_pareto_scatter_skips_missing_values_and_drops_unsafe_links() -> None:
    points = [
        ParetoPoint("nan", math.nan, 0.5),
        ParetoPoint("none", 25.0, None),
        ParetoPoint("inf", 25.0, math.inf),
        ParetoPoint("ok", 25.0, 0.5, url="javascript:alert(1)"),
    ]
    root = parse(pareto_scatter(points))
    assert len(marks(root, "point")) == 1
    assert root.findall(f".//{NS}a") == []


def test_pareto_scatter_empty_and_all_missing_render_no_data() -> None:
    for points in ([], [ParetoPoint("x", None, None)]):
        root = parse(pareto_scatter(points))
        assert_chart_root(root, "chart-pareto")
        assert texts(root, "no-data") == ["no data"]
        assert marks(root, "point") == []


def test_names_are_escaped_everywhere() -> None:
    svg = str(pareto_scatter([ParetoPoint(EVIL, 27.0, 0.5, url="/submissions/1")]))
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = ET.fromstring(svg)
    (point,) = marks(root, "point")
    assert point.get("data-tip", "").startswith(EVIL)  # the parser decodes it back to text
    assert root.findall(f".//{NS}script") == []
    assert EVIL in (root.findtext(f"{NS}desc") or "")


# Best AR over time ----------------------------------------------------------------------------


def test_best_over_time_markers_at_each_new_best_in_time_order() -> None:
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    points = [
        TimePoint(start + timedelta(days=3), "third", 0.55, url="/submissions/3"),
        TimePoint(start, "first", 0.40, url="/submissions/1"),
        TimePoint(start + timedelta(days=1), "second", 0.35),
        TimePoint(start + timedelta(days=2), "tie", 0.40),
        TimePoint(start + timedelta(days=4), "none", None),
        TimePoint(start + timedelta(days=5), "nan", math.nan),
        TimePoint(start + timedelta(days=6), "worse", 0.50),
    ]
    root = parse(best_over_time(points))
    assert_chart_root(root, "chart-best-ar")
    records = marks(root, "point")
    assert_tooltips(records)
    assert [r.get("data-tip") for r in records] == [
        "2025-03-01\nfirst\nAR 0.40",
        "2025-03-04\nthird\nAR 0.55",
    ]
    path = root.find(f"{NS}path[@class='series']")
    assert path is not None
    # Start, one step (H then V) and the run on to the last submission ("worse", day 6).
    assert path.get("d", "").count("H") == 2 and path.get("d", "").count("V") == 1


def test_best_over_time_single_point_naive_datetime_and_empty() -> None:
    root = parse(best_over_time([TimePoint(datetime(2025, 1, 2, 23, 30), "only", 0.62)]))
    assert [r.get("data-tip") for r in marks(root, "point")] == ["2025-01-02\nonly\nAR 0.62"]
    assert texts(root, "tick")
    empty = parse(best_over_time([TimePoint(datetime(2025, 1, 2), "x", None)]))
    assert texts(empty, "no-data") == ["no data"]


# Task bias ------------------------------------------------------------------------------------


def task(
    key: str, order: int, score: float | None, *, acc: bool = False, exc: bool = False
) -> TaskBar:
    return TaskBar(
        key=key,
        order=order,
        score=score,
        spec=f"spec {key}" if key != "h1" else None,
        psnr=27.31,
        acceptance=26.10 if score is not None else None,
        excellence=28.00 if score is not None else None,
        passed_acceptance=acc,
        passed_excellence=exc,
    )


def test_task_bias_classes_groups_and_lines() -> None:
    bars = [
        task("3", 2, 0.64, acc=True),
        task("1", 1, 1.2, acc=True, exc=True),
        task("2", 1, -0.5),
        task("h1", 3, None),
    ]
    root = parse(task_bias(bars))
    assert_chart_root(root, "chart-task-bias")
    drawn = marks(root, "bar")
    assert_tooltips(drawn)
    # Grouped by order, stable within a group.
    assert [b.get("data-tip", "").split("\n")[0] for b in drawn] == [
        "task 1 (k=1)",
        "task 2 (k=1)",
        "task 3 (k=2)",
        "task h1 (k=3)",
    ]
    outcome = [classes(b) - {"bar"} for b in drawn]
    assert outcome == [{"pass-exc"}, {"fail"}, {"pass-acc"}, {"broken"}]
    assert texts(root, "group") == ["k=1", "k=2", "k=3"]
    assert len(marks(root, "line-acc")) == 1 and len(marks(root, "line-exc")) == 1
    assert {"acceptance", "excellence"} <= set(texts(root, "label"))


def test_task_bias_leaves_a_gap_between_groups() -> None:
    root = parse(task_bias([task("1", 1, 0.1), task("2", 1, 0.2), task("3", 2, 0.3)]))
    lefts = [float(b.get("x", "")) for b in marks(root, "bar")]
    assert lefts[2] - lefts[1] == pytest.approx(2 * (lefts[1] - lefts[0]), abs=0.2)


def test_task_bias_tips() -> None:
    bars = [task("12", 2, 0.64, acc=True), task("h1", 3, None)]
    tips = [b.get("data-tip") for b in marks(parse(task_bias(bars)), "bar")]
    assert tips == [
        "task 12 (k=2)\nspec 12\nPSNR 27.31 dB\nacceptance 26.10 · excellence 28.00\ns = 0.64",
        "task h1 (k=3)\nhidden\nPSNR 27.31 dB\nlines undefined\ns undefined",
    ]


def test_task_bias_tip_of_a_task_with_broken_lines_says_so() -> None:
    broken = TaskBar(key="7", order=1, score=None, spec="spec 7", psnr=27.31, acceptance=28.0,
                     excellence=26.0, passed_acceptance=None, passed_excellence=None)  # fmt: skip
    tip = marks(parse(task_bias([broken])), "bar")[0].get("data-tip")
    assert tip == (
        "task 7 (k=1)\nspec 7\nPSNR 27.31 dB\nacceptance 28.00 · excellence 26.00\n"
        "line broken: excellence not above acceptance, so no s"
    )


def test_task_bias_clips_extreme_scores_and_says_so() -> None:
    root = parse(task_bias([task("1", 1, -7.2), task("2", 1, 0.5, acc=True)]))
    low, _ = marks(root, "bar")
    assert "clipped" in classes(low)
    assert low.get("data-tip", "").endswith("s = -7.20 (off the chart, drawn at -3)")
    ticks = [float(t) for t in texts(root, "tick")]
    assert min(ticks) == -3.0 and max(ticks) == 1.0


def test_task_bias_nan_score_is_broken_and_empty_is_no_data() -> None:
    root = parse(task_bias([task("1", 1, math.nan)]))
    (bar,) = marks(root, "bar")
    assert "broken" in classes(bar)
    assert texts(parse(task_bias([])), "no-data") == ["no data"]


def test_task_bias_escapes_specs() -> None:
    bar = TaskBar("1", 1, 0.5, EVIL, 27.0, 26.0, 28.0, True, False)
    svg = str(task_bias([bar]))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    (mark,) = marks(ET.fromstring(svg), "bar")
    assert mark.get("data-tip", "").split("\n")[1] == EVIL


# Degradation bias -----------------------------------------------------------------------------


def test_degradation_bias_bars_tips_and_lines() -> None:
    items = [
        DegradationItem("blur", 0.42, 7),
        DegradationItem("noise", 1.3, 1),
        DegradationItem("jpeg", -0.8, 3),
        DegradationItem("haze", None, 0),
    ]
    root = parse(degradation_bias(items))
    assert_chart_root(root, "chart-degradation-bias")
    drawn = marks(root, "bar")
    assert_tooltips(drawn)
    assert [b.get("data-tip") for b in drawn] == [
        "blur\nmean s = 0.42 over 7 tasks (old measure: all tasks)",
        "noise\nmean s = 1.30 over 1 task (old measure: all tasks)",
        "jpeg\nmean s = -0.80 over 3 tasks (old measure: all tasks)",
        "haze\nmean s undefined over 0 tasks (old measure: all tasks)",
    ]
    assert [classes(b) - {"bar"} for b in drawn] == [
        {"pass-acc"},
        {"pass-exc"},
        {"fail"},
        {"broken"},
    ]
    assert len(marks(root, "line-acc")) == 1 and len(marks(root, "line-exc")) == 1
    assert {"blur", "noise", "jpeg", "haze"} <= set(texts(root, "tick"))
    # Horizontal bars: the bar of a positive mean starts at the acceptance (0) line.
    zero = marks(root, "line-acc")[0].get("x1")
    assert drawn[0].get("x") == zero


def test_degradation_profile_bars_are_medians_with_the_single_task_marked() -> None:
    items = [
        DegradationItem("noise", -0.75, 4, True, 0.9, 0.25, 1, -4.07),
        DegradationItem("rain", None, 0, True, 0.4, None, 0, 0.4),
    ]
    root = parse(degradation_bias(items))
    assert_chart_root(root, "chart-degradation-bias")
    bars, singles = marks(root, "bar"), marks(root, "single-task")
    assert_tooltips(bars + singles)
    assert bars[0].get("data-tip") == (
        "noise\nalone: s = 0.90\nin 4 mixtures: median s = -0.75, 25% above acceptance\n"
        "1 task with broken lines left out\nold measure, mean s over all tasks = -4.07"
    )
    assert bars[1].get("data-tip") == (
        "rain\nalone: s = 0.40\nin 0 mixtures: no median\nold measure, mean s over all tasks = 0.40"
    )
    assert [classes(b) - {"bar"} for b in bars] == [{"fail"}, {"broken"}]
    assert [s.get("data-tip") for s in singles] == [
        "noise\nalone: s = 0.90",
        "rain\nalone: s = 0.40",
    ]
    # The diamond is centred on s = 0.9, between the acceptance (0) and excellence (1) lines.
    zero = float(marks(root, "line-acc")[0].get("x1") or 0)
    one = float(marks(root, "line-exc")[0].get("x1") or 0)
    centre = float((singles[0].get("points") or "").split()[0].split(",")[0])
    assert centre == pytest.approx(zero + 0.9 * (one - zero), abs=0.5)
    desc = root.find(f"{NS}desc")
    assert desc is not None and (desc.text or "").startswith("Median s over mixtures of 2")


def test_degradation_bias_escapes_names_and_handles_empty() -> None:
    svg = str(degradation_bias([DegradationItem(EVIL, 0.1, 2)]))
    assert "<script>" not in svg
    assert marks(ET.fromstring(svg), "bar")[0].get("data-tip", "").startswith(EVIL)
    assert texts(parse(degradation_bias([])), "no-data") == ["no data"]


# Difference -----------------------------------------------------------------------------------


def test_difference_classes_tips_and_groups() -> None:
    bars = [
        DiffBar("12", 2, "blur + noise", 27.31, 26.90),
        DiffBar("1", 1, None, 25.0, 26.0),
        DiffBar("2", 1, "jpeg", 27.313, 27.31),
        DiffBar("3", 2, "haze", None, 26.0),
    ]
    root = parse(difference(bars))
    assert_chart_root(root, "chart-compare")
    drawn = marks(root, "bar")
    assert_tooltips(drawn)
    assert [classes(b) - {"bar"} for b in drawn] == [{"neg"}, {"zero"}, {"pos"}, {"broken"}]
    assert [b.get("data-tip") for b in drawn] == [
        "task 1 (k=1)\nhidden\nA 25.00 dB · B 26.00 dB\nΔ -1.00 dB",
        "task 2 (k=1)\njpeg\nA 27.31 dB · B 27.31 dB\nΔ +0.00 dB",
        "task 12 (k=2)\nblur + noise\nA 27.31 dB · B 26.90 dB\nΔ +0.41 dB",
        "task 3 (k=2)\nhaze\nA n/a · B 26.00 dB\nΔ undefined",
    ]
    assert texts(root, "group") == ["k=1", "k=2"]


def test_difference_ticks_are_symmetric_and_ties_only_is_valid() -> None:
    root = parse(difference([DiffBar("1", 1, "a", 27.0, 25.5)]))
    ticks = [float(t) for t in texts(root, "tick")]
    assert ticks[0] == -ticks[-1] == -1.5
    tie = parse(difference([DiffBar("1", 1, "a", 27.0, 27.0)]))
    (bar,) = marks(tie, "bar")
    assert "zero" in classes(bar) and bar.get("data-tip", "").endswith("Δ +0.00 dB")
    assert texts(parse(difference([])), "no-data") == ["no data"]


def test_classify_difference_tie_threshold() -> None:
    assert [classify_difference(d) for d in (0.006, -0.006, 0.005, -0.005, 0.0)] == [
        "pos",
        "neg",
        "zero",
        "zero",
        "zero",
    ]


def test_custom_svg_id_is_used_and_escaped() -> None:
    root = parse(task_bias([task("1", 1, 0.5)], svg_id='x" onload="y'))
    assert root.get("id") == 'x" onload="y'
    assert root.get("onload") is None


def _dominated(p: ParetoPoint, points: list[ParetoPoint]) -> bool:
    assert p.x is not None and p.y is not None
    return any(
        q.x is not None and q.y is not None and q.x >= p.x and q.y >= p.y
        and (q.x > p.x or q.y > p.y)
        for q in points
    )  # fmt: skip


def test_the_front_sweep_matches_the_definition_on_random_boards() -> None:
    rng = random.Random(5)
    for _ in range(200):
        # Coarse values, so ties in either axis and duplicates are common.
        points = [
            ParetoPoint(str(i), rng.randint(0, 6) / 2, rng.randint(0, 6) / 6)
            for i in range(rng.randint(0, 30))
        ]
        expected = {p.name for p in points if not _dominated(p, points)}
        assert {p.name for p in pareto_front(points)} == expected
