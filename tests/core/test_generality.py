"""Tests for gir_core.generality and ``gir generality``: Table 4 of the paper, s_t, bias, bootstrap.

The paper's tables are checked in under tests/data/paper (copied from the paper's appendix C).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner, Result

from gir_core.cli.generality_cmd import register
from gir_core.errors import ParameterError
from gir_core.generality import (
    TaskLine,
    bootstrap_ci,
    broken_lines,
    degradation_bias,
    degradation_profile,
    normalised_scores,
    summarize,
)

PAPER = Path(__file__).resolve().parent.parent / "data" / "paper"
LINES_CSV = PAPER / "table_c1_lines.csv"
SOURCES = {
    "c4_data_scale": PAPER / "table_c4_data_scale_psnr.csv",
    "c5_patch_size": PAPER / "table_c5_patch_size_psnr.csv",
    "c6_batch_size": PAPER / "table_c6_batch_size_psnr.csv",
}
REPRODUCED = tuple("abcdeghik")
INCONSISTENT = tuple("fjl")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _paper_lines() -> list[TaskLine]:
    """Table C.1 parsed here, independently of the CLI's reader."""
    return [
        TaskLine(
            task_id=row["task_id"],
            acceptance=float(row["acceptance_psnr"]),
            excellence=float(row["excellence_psnr"]),
            names=tuple(n.strip() for n in row["degradations"].split("+") if n.strip()),
        )
        for row in _read_csv(LINES_CSV)
    ]


def _paper_psnr(source: str, column: str) -> dict[str, float]:
    return {row["task_id"]: float(row[column]) for row in _read_csv(SOURCES[source])}


def _reported() -> dict[str, dict[str, str]]:
    return {row["row"]: row for row in _read_csv(PAPER / "table4_reported.csv")}


def _two(value: float) -> str:
    return f"{value:.2f}"


# --- Table 4 through the Python API ------------------------------------------------------------


@pytest.mark.parametrize("row", REPRODUCED)
def test_table4_row_is_reproduced_by_api(row: str) -> None:
    reported = _reported()[row]
    summary = summarize(_paper_lines(), _paper_psnr(reported["source_table"], reported["column"]))
    assert summary.n_tasks == 100
    assert _two(summary.ar) == _two(float(reported["reported_ar"]))
    assert _two(summary.er) == _two(float(reported["reported_er"]))
    assert _two(summary.mean_psnr) == _two(float(reported["reported_avg_psnr"]))


def test_rows_f_j_l_are_the_papers_own_inconsistencies() -> None:
    """f and j print AR 0.49 with row c's PSNRs (0.46); l prints ER 0.03 with six tasks above."""
    reported, lines = _reported(), _paper_lines()
    row_c = _paper_psnr("c4_data_scale", "All of DF2K")
    for row in ("f", "j"):
        psnr = _paper_psnr(reported[row]["source_table"], reported[row]["column"])
        assert psnr == row_c
        assert reported[row]["reported_ar"] == "0.49"
        summary = summarize(lines, psnr)
        assert summary.ar == pytest.approx(0.46)
        assert _two(summary.mean_psnr) == reported[row]["reported_avg_psnr"] == "25.67"
    summary = summarize(lines, _paper_psnr("c6_batch_size", "BS32"))
    assert reported["l"]["reported_er"] == "0.03"
    assert summary.er == pytest.approx(0.06)
    assert summary.excellent == ("10", "18", "38", "43", "60", "80")
    assert (_two(summary.ar), _two(summary.mean_psnr)) == ("0.57", "26.39")


def test_strict_comparison_is_what_reproduces_row_d() -> None:
    lines = _paper_lines()
    psnr = _paper_psnr("c4_data_scale", "ImageNet + DF2K")
    line_77 = next(line for line in lines if line.task_id == "77")
    assert psnr["77"] == line_77.acceptance == 27.02  # a tie at two decimals
    summary = summarize(lines, psnr)
    assert "77" not in summary.accepted
    assert summary.ar == pytest.approx(0.44)
    at_least = sum(psnr[line.task_id] >= line.acceptance for line in lines)
    assert at_least == 45  # ">=" would print 0.45, not the paper's 0.44


def test_paper_bias_covers_every_degradation_of_the_representative_tasks() -> None:
    lines = _paper_lines()
    bias = degradation_bias(lines, _paper_psnr("c4_data_scale", "All of DF2K"))
    assert list(bias)[:4] == ["resize", "blur", "noise", "compression"]
    assert sum(1 for line in lines if "haze" in line.names) == bias["haze"].n_tasks
    scores = normalised_scores(lines, _paper_psnr("c4_data_scale", "All of DF2K"))
    haze = [scores[line.task_id] for line in lines if "haze" in line.names]
    assert bias["haze"].mean_score == pytest.approx(sum(haze) / len(haze))


# --- Table 4 through the CLI -------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root, so that ``generality`` stays a named subcommand as in ``gir``."""

    register(app)
    return app


def _run(*args: str | Path) -> Result:
    return CliRunner().invoke(_app(), ["generality", *map(str, args)])


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_table4_rows_are_reproduced_by_cli_json(source: str) -> None:
    result = _run("--lines", LINES_CSV, "--results", SOURCES[source], "--json")
    assert result.exit_code == 0, result.stderr
    by_model = {item["model"]: item for item in json.loads(result.stdout)}
    rows = {k: r for k, r in _reported().items() if r["source_table"] == source}
    assert len(by_model) == len(rows) == 4
    for key, reported in rows.items():
        item = by_model[reported["column"]]
        assert item["n_tasks"] == 100
        ours = (_two(item["ar"]), _two(item["er"]), _two(item["mean_psnr"]))
        paper = tuple(
            _two(float(reported[c])) for c in ("reported_ar", "reported_er", "reported_avg_psnr")
        )
        if key in REPRODUCED:
            assert ours == paper, key
        else:
            assert key in INCONSISTENT and ours != paper
        assert "ar_rep" not in item  # Table C.1 has no kind column: no invented split


def test_cli_json_lists_the_tasks_behind_row_l() -> None:
    result = _run("--lines", LINES_CSV, "--results", SOURCES["c6_batch_size"], "--json")
    item = next(i for i in json.loads(result.stdout) if i["model"] == "BS32")
    assert item["excellent_tasks"] == ["10", "18", "38", "43", "60", "80"]
    assert (item["ar"], item["er"]) == (0.57, 0.06)


def test_cli_table_prints_two_decimals() -> None:
    result = _run("--lines", LINES_CSV, "--results", SOURCES["c6_batch_size"])
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["model", "tasks", "AR", "ER", "mean", "PSNR"]
    assert rows[1:] == [
        ["BS4", "100", "0.35", "0.00", "25.16"],
        ["BS8", "100", "0.46", "0.00", "25.67"],
        ["BS16", "100", "0.54", "0.02", "26.00"],
        ["BS32", "100", "0.57", "0.06", "26.39"],
    ]


def test_cli_kind_column_adds_split_and_gap(tmp_path: Path) -> None:
    lines = _write(
        tmp_path / "lines.csv",
        "task_id,acceptance_psnr,excellence_psnr,kind\n"
        "1,20,21,representative\n2,20,21,representative\n3,30,31,hidden\n4,30,31,Hidden\n",
    )
    results = _write(tmp_path / "r.csv", "task_id,m\n1,22\n2,20.5\n3,29\n4,30.5\n")
    item = json.loads(_run("--lines", lines, "--results", results, "--json").stdout)[0]
    assert (item["ar"], item["er"], item["mean_psnr"]) == (0.75, 0.25, 25.5)
    assert (item["n_tasks_rep"], item["ar_rep"], item["er_rep"]) == (2, 1.0, 0.5)
    assert (item["n_tasks_hidden"], item["ar_hidden"], item["er_hidden"]) == (2, 0.5, 0.0)
    assert (item["ar_gap"], item["mean_psnr_gap"]) == (0.5, 21.25 - 29.75)
    table = _run("--lines", lines, "--results", results).stdout
    assert "AR rep" in table and "0.50" in table.splitlines()[1]


# --- malformed tables --------------------------------------------------------------------------

GOOD_LINES = "task_id,acceptance_psnr,excellence_psnr\n1,20,21\n2,30,31\n3,25,26\n"
GOOD_RESULTS = "task_id,m1,m2\n1,20.5,19\n2,31.5,29\n3,25,27\n"

BAD_TABLES = {
    "lines missing column": (
        "task_id,acceptance_psnr\n1,20\n",
        GOOD_RESULTS,
        "missing column 'excellence_psnr'",
    ),
    "results missing task_id": ("", "id,m1\n1,20\n", "missing column 'task_id'"),
    "results missing a task": ("", "task_id,m1\n1,20\n2,30\n", "no row for task_id '3'"),
    "results extra task": ("", GOOD_RESULTS + "4,1,1\n", "rows for task_id '4', which lines"),
    "lines not a number": (
        GOOD_LINES.replace("2,30,31", "2,abc,31"),
        "",
        "line 3, column 'acceptance_psnr': 'abc' is not a number",
    ),
    "results nan": ("", GOOD_RESULTS.replace("2,31.5", "2,nan"), "column 'm1': 'nan' is not"),
    "results empty cell": ("", GOOD_RESULTS.replace("25,27", "25,"), "column 'm2': the cell is"),
    "lines duplicate id": (GOOD_LINES + "2,1,2\n", "", "line 5: task_id '2' repeats line 3"),
    "results duplicate id": ("", GOOD_RESULTS + "1,1,1\n", "task_id '1' repeats line 2"),
    "lines empty file": ("\n", "", "lines file '{lines}' is empty"),
    "results header only": ("", "task_id,m1\n", "results file '{results}' has a header but no"),
    "lines ragged row": (GOOD_LINES + "4,5\n", "", "line 5: 2 fields, but the header has 3"),
    "results no model": ("", "task_id\n1\n2\n3\n", "has no model column besides 'task_id'"),
    "results column twice": ("", "task_id,m,m\n1,1,1\n", "column 'm' appears twice"),
    "lines empty task id": (GOOD_LINES + ",1,2\n", "", "column 'task_id': empty task id"),
    "lines bad kind": (
        "task_id,acceptance_psnr,excellence_psnr,kind\n1,20,21,public\n2,30,31,hidden\n"
        "3,25,26,hidden\n",
        "",
        "'public' is not one of representative, hidden",
    ),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_malformed_table_exits_2_with_specific_message(tmp_path: Path, case: str) -> None:
    lines_text, results_text, expected = BAD_TABLES[case]
    lines = _write(tmp_path / "lines.csv", lines_text or GOOD_LINES)
    results = _write(tmp_path / "results.csv", results_text or GOOD_RESULTS)
    result = _run("--lines", lines, "--results", results, "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert expected.format(lines=lines, results=results) in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_good_tables_pass(tmp_path: Path) -> None:
    lines = _write(tmp_path / "lines.csv", "\ufeff" + GOOD_LINES + "\n\n")  # BOM, blank lines
    results = _write(tmp_path / "results.csv", GOOD_RESULTS)
    result = _run("--lines", lines, "--results", results, "--json")
    assert result.exit_code == 0, result.stderr
    assert [(i["model"], i["ar"], i["er"]) for i in json.loads(result.stdout)] == [
        ("m1", 2 / 3, 1 / 3),
        ("m2", 1 / 3, 1 / 3),
    ]


@pytest.mark.parametrize("which", ["missing", "directory", "not utf-8"])
def test_unreadable_file_exits_2(tmp_path: Path, which: str) -> None:
    bad = {
        "missing": tmp_path / "nope.csv",
        "directory": tmp_path,
        "not utf-8": tmp_path / "latin1.csv",
    }[which]
    if which == "not utf-8":
        bad.write_bytes("task_id,m\n1,2\u00e9\n".encode("latin-1"))
    result = _run("--lines", _write(tmp_path / "l.csv", GOOD_LINES), "--results", bad)
    assert result.exit_code == 2
    expected = "is not UTF-8 text" if which == "not utf-8" else f"cannot read results file '{bad}'"
    assert expected in result.stderr


# --- summarize: unit cases ---------------------------------------------------------------------


def _lines(kinds: tuple[str | None, ...] = (None, None, None)) -> list[TaskLine]:
    return [
        TaskLine("a", 20.0, 22.0, kinds[0]),  # type: ignore[arg-type]
        TaskLine("b", 30.0, 31.0, kinds[1]),  # type: ignore[arg-type]
        TaskLine("c", 25.0, 27.0, kinds[2]),  # type: ignore[arg-type]
    ]


def test_summarize_counts_strictly_and_averages() -> None:
    summary = summarize(_lines(), {"a": 22.0, "b": 31.5, "c": 25.0}, {"a": 0.5, "b": 0.9, "c": 0.7})
    assert summary.accepted == ("a", "b")  # c ties its acceptance line: not counted
    assert summary.excellent == ("b",)  # a ties its excellence line: not counted
    assert (summary.ar, summary.er) == pytest.approx((2 / 3, 1 / 3))
    assert summary.mean_psnr == pytest.approx(78.5 / 3)
    assert summary.mean_ssim == pytest.approx(0.7)
    assert summary.representative is None and summary.hidden is None and summary.gap is None


def test_summarize_splits_by_kind() -> None:
    lines = _lines(("representative", "hidden", "representative"))
    summary = summarize(lines, {"a": 23.0, "b": 30.5, "c": 24.0}, {"a": 0.8, "b": 0.6, "c": 0.6})
    rep, hidden, gap = summary.representative, summary.hidden, summary.gap
    assert rep is not None and hidden is not None and gap is not None
    assert (rep.n_tasks, rep.ar, rep.er, rep.mean_psnr) == (2, 0.5, 0.5, 23.5)
    assert (hidden.n_tasks, hidden.ar, hidden.er, hidden.mean_psnr) == (1, 1.0, 0.0, 30.5)
    assert (gap.ar, gap.er, gap.mean_psnr) == (-0.5, 0.5, -7.0)
    assert gap.mean_ssim == pytest.approx(0.1)


def test_summarize_with_one_kind_has_no_gap() -> None:
    summary = summarize(_lines(("hidden",) * 3), {"a": 21.0, "b": 29.0, "c": 26.0})
    assert summary.representative is None and summary.gap is None
    assert summary.hidden is not None and summary.hidden.ar == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("psnr", "message"),
    [
        ({"a": 1.0, "b": 2.0}, "PSNR missing for task c"),
        ({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, "PSNR given for task d with no line"),
        ({"a": 1.0, "b": float("nan"), "c": 3.0}, "not a finite number for task b"),
        ({"a": 1.0, "b": float("inf"), "c": 3.0}, "not a finite number for task b"),
    ],
)
def test_summarize_refuses_inconsistent_results(psnr: dict[str, float], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        summarize(_lines(), psnr)


def test_summarize_refuses_bad_line_sets() -> None:
    with pytest.raises(ParameterError, match="at least one task"):
        summarize([], {})
    with pytest.raises(ParameterError, match="more than one line for task a"):
        summarize([*_lines(), TaskLine("a", 1.0, 2.0)], {"a": 1.0, "b": 1.0, "c": 1.0})
    with pytest.raises(ParameterError, match="no kind for task c"):
        summarize(_lines(("hidden", "hidden", None)), {"a": 1.0, "b": 1.0, "c": 1.0})
    with pytest.raises(ParameterError, match="SSIM missing for task b"):
        summarize(_lines(), {"a": 1.0, "b": 1.0, "c": 1.0}, {"a": 0.5, "c": 0.5})


def test_task_line_validates_itself() -> None:
    with pytest.raises(ParameterError, match="acceptance must be finite"):
        TaskLine("1", float("nan"), 2.0)
    with pytest.raises(ParameterError, match="kind must be one of representative, hidden"):
        TaskLine("1", 1.0, 2.0, "public")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="non-empty string"):
        TaskLine("", 1.0, 2.0)


# --- normalised score and bias -----------------------------------------------------------------


def test_normalised_score_places_lines_at_zero_and_one() -> None:
    lines = [TaskLine("a", 20.0, 22.0), TaskLine("b", 30.0, 31.0), TaskLine("c", 25.0, 29.0)]
    scores = normalised_scores(lines, {"a": 20.0, "b": 31.0, "c": 24.0})
    assert scores == {"a": 0.0, "b": 1.0, "c": -0.25}
    assert normalised_scores(lines, {"a": 21.5, "b": 32.0, "c": 30.0}) == {
        "a": 0.75,
        "b": 2.0,
        "c": 1.25,
    }


@pytest.mark.parametrize("excellence", [25.0, 24.0])
def test_normalised_score_refuses_lines_without_a_scale(excellence: float) -> None:
    lines = [TaskLine("ok", 20.0, 22.0), TaskLine("flat", 25.0, excellence)]
    with pytest.raises(ParameterError, match="not above acceptance line for task flat"):
        normalised_scores(lines, {"ok": 21.0, "flat": 26.0})


def test_bias_averages_scores_per_degradation_in_table_order() -> None:
    lines = [
        TaskLine("1", 20.0, 22.0, names=("noise", "compression", "noise")),
        TaskLine("2", 30.0, 31.0, names=("haze", "noise")),
        TaskLine("3", 25.0, 29.0, names=("resize",)),
        TaskLine("4", 10.0, 11.0),  # hidden, names unknown: left out
    ]
    bias = degradation_bias(lines, {"1": 21.0, "2": 32.0, "3": 24.0, "4": 99.0})
    assert list(bias) == ["resize", "noise", "compression", "haze"]
    assert [(b.n_tasks, b.mean_score) for b in bias.values()] == [
        (1, -0.25),
        (2, 1.25),  # task 1 counts once although it has noise twice: (0.5 + 2.0) / 2
        (1, 0.5),
        (1, 2.0),
    ]


@pytest.mark.parametrize("excellence", [25.0, 24.0])
def test_bias_refuses_broken_lines_unless_asked_to_skip_them(excellence: float) -> None:
    lines = [
        TaskLine("1", 20.0, 22.0, names=("noise", "blur")),
        TaskLine("2", 25.0, excellence, names=("noise",)),  # broken: s_t undefined
        TaskLine("3", 30.0, 34.0, names=("blur",)),
    ]
    psnr = {"1": 21.0, "2": 40.0, "3": 33.0}
    with pytest.raises(ParameterError, match="not above acceptance line for task 2"):
        degradation_bias(lines, psnr)
    bias = degradation_bias(lines, psnr, skip_broken=True)
    assert [(b.name, b.n_tasks, b.mean_score) for b in bias.values()] == [
        ("blur", 2, 0.625),  # (0.5 + 0.75) / 2
        ("noise", 1, 0.5),  # task 2 is left out, not scored
    ]
    # The broken task's PSNR may also be absent; with every line broken the result is empty.
    without = {"1": 21.0, "3": 33.0}
    assert degradation_bias(lines, without, skip_broken=True) == bias
    assert degradation_bias(lines[1:2], {"2": 1.0}, skip_broken=True) == {}
    assert broken_lines(lines) == ["2"]


def test_bias_without_broken_lines_is_the_same_either_way() -> None:
    lines = [TaskLine("1", 20.0, 22.0, names=("noise",)), TaskLine("2", 5.0, 9.0, names=("haze",))]
    psnr = {"1": 23.0, "2": 6.0}
    assert degradation_bias(lines, psnr, skip_broken=True) == degradation_bias(lines, psnr)


def test_bias_refuses_unknown_degradation() -> None:
    with pytest.raises(ParameterError, match="did you mean 'noise'"):
        degradation_bias([TaskLine("1", 1.0, 2.0, names=("noize",))], {"1": 1.5})


# --- bootstrap ---------------------------------------------------------------------------------


def _per_image(n_images: int, seed: int = 1) -> tuple[list[TaskLine], dict[str, np.ndarray]]:
    """20 tasks whose mean PSNR sits near their acceptance line, with image-to-image spread."""
    rng = np.random.default_rng(seed)
    lines = [TaskLine(str(t), 25.0 + t * 0.1, 27.0 + t * 0.1) for t in range(20)]
    psnr = {
        line.task_id: line.acceptance + rng.normal(0.2 * (t % 3 - 1), 2.0, n_images)
        for t, line in enumerate(lines)
    }
    return lines, psnr


def test_bootstrap_interval_contains_estimate_and_matches_summary() -> None:
    lines, psnr = _per_image(30)
    ci = bootstrap_ci(lines, psnr, n_boot=500, seed=3)
    point = summarize(lines, {t: float(np.mean(v)) for t, v in psnr.items()})
    assert ci.ar.estimate == point.ar and ci.mean_psnr.estimate == pytest.approx(point.mean_psnr)
    assert ci.ar.low <= ci.ar.estimate <= ci.ar.high and ci.ar.low < ci.ar.high
    assert ci.mean_psnr.low < ci.mean_psnr.estimate < ci.mean_psnr.high
    assert ci.er.estimate == point.er and ci.er.low <= ci.er.estimate <= ci.er.high
    assert (ci.level, ci.n_boot, ci.n_images) == (0.95, 500, 30)


def test_bootstrap_matches_a_naive_loop_over_the_same_draws() -> None:
    lines, psnr = _per_image(12)
    # Excellence lines just above acceptance, so replicates cross both and ER varies too.
    lines = [TaskLine(x.task_id, x.acceptance, x.acceptance + 0.3) for x in lines]
    ci = bootstrap_ci(lines, psnr, n_boot=200, level=0.9, seed=7)
    matrix = np.stack([psnr[line.task_id] for line in lines])
    acc = np.array([line.acceptance for line in lines])
    exc = np.array([line.excellence for line in lines])
    draws = np.random.default_rng(7).integers(0, 12, size=(200, 12))
    means = np.array([matrix[:, idx].mean(axis=1) for idx in draws])
    ar = np.quantile((means > acc).mean(axis=1), [0.05, 0.95])
    er = np.quantile((means > exc).mean(axis=1), [0.05, 0.95])
    mean_psnr = np.quantile(means.mean(axis=1), [0.05, 0.95])
    assert (ci.ar.low, ci.ar.high) == pytest.approx(tuple(ar))
    assert (ci.er.low, ci.er.high) == pytest.approx(tuple(er))
    assert ci.er.low < ci.er.high  # ER varies across replicates: the check has teeth
    assert (ci.mean_psnr.low, ci.mean_psnr.high) == pytest.approx(tuple(mean_psnr))


def test_bootstrap_narrows_with_more_images_and_widens_with_level() -> None:
    few = bootstrap_ci(*_per_image(10), seed=0)
    many = bootstrap_ci(*_per_image(250), seed=0)
    assert many.mean_psnr.high - many.mean_psnr.low < 0.5 * (few.mean_psnr.high - few.mean_psnr.low)
    assert many.ar.high - many.ar.low < few.ar.high - few.ar.low
    narrow = bootstrap_ci(*_per_image(10), level=0.5, seed=0)
    assert narrow.mean_psnr.high - narrow.mean_psnr.low < few.mean_psnr.high - few.mean_psnr.low


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    lines, psnr = _per_image(15)
    first = bootstrap_ci(lines, psnr, n_boot=100, seed=11)
    assert bootstrap_ci(lines, psnr, n_boot=100, seed=11) == first
    assert bootstrap_ci(lines, psnr, n_boot=100, seed=np.random.default_rng(11)) == first
    assert bootstrap_ci(lines, psnr, n_boot=100, seed=12) != first


def test_bootstrap_of_identical_images_has_no_width() -> None:
    lines = [TaskLine("1", 20.0, 21.0), TaskLine("2", 30.0, 31.0)]
    ci = bootstrap_ci(lines, {"1": [20.5] * 4, "2": [29.0] * 4}, n_boot=50)
    assert (ci.ar.low, ci.ar.estimate, ci.ar.high) == (0.5, 0.5, 0.5)
    assert ci.mean_psnr.low == pytest.approx(24.75) == ci.mean_psnr.high


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        ({"1": [1.0, 2.0], "2": [1.0]}, {}, r"task 1 has shape \(2,\), task 2 \(1,\)"),
        ({"1": [], "2": []}, {}, "non-empty 1-D"),
        ({"1": [1.0], "2": [float("nan")]}, {}, "not finite for task 2"),
        ({"1": [1.0]}, {}, "missing for task 2"),
        ({"1": ["x"], "2": [1.0]}, {}, "must be numbers"),
        ({"1": [1.0], "2": [1.0]}, {"level": 1.0}, r"level must be a number in \(0, 1\)"),
        ({"1": [1.0], "2": [1.0]}, {"n_boot": 0}, "n_boot must be an integer >= 1"),
    ],
)
def test_bootstrap_refuses_bad_input(
    data: dict[str, list[float]], kwargs: dict[str, float], message: str
) -> None:
    lines = [TaskLine("1", 20.0, 21.0), TaskLine("2", 30.0, 31.0)]
    with pytest.raises(ParameterError, match=message):
        bootstrap_ci(lines, data, **kwargs)  # type: ignore[arg-type]


# --- per-degradation profile (#10 §5) ----------------------------------------------------------


def _profile_table() -> tuple[list[TaskLine], dict[str, float]]:
    """A strong denoiser by hand: noise alone near excellence, noise mixtures mostly failed, one
    mixture with a 0.05 dB gap between its lines (an outlier for any mean of s)."""
    lines = [
        TaskLine("n1", 30.0, 32.0, "representative", ("noise",)),  # s = 0.9
        TaskLine("b1", 28.0, 30.0, "representative", ("blur",)),  # s = 0.5
        TaskLine("m1", 25.0, 27.0, "representative", ("noise", "blur")),  # s = -0.5, fails
        TaskLine("m2", 24.0, 24.05, "representative", ("noise", "compression")),  # s = -20
        TaskLine("m3", 22.0, 26.0, "hidden", ("blur", "noise", "noise")),  # s = 0.25, passes
        TaskLine("m4", 26.0, 28.0, "hidden", ("compression", "noise")),  # s = -1.0, fails
        TaskLine("x1", 21.0, 20.5, "hidden", ("noise", "resize")),  # broken: exc < acc
    ]
    psnr = {"n1": 31.8, "b1": 29.0, "m1": 24.0, "m2": 23.0, "m3": 23.0, "m4": 24.0}
    return lines, psnr


def test_profile_reports_single_task_median_pass_rate_and_count() -> None:
    lines, psnr = _profile_table()
    profile = degradation_profile(lines, psnr)
    assert list(profile) == ["resize", "blur", "noise", "compression"]  # Table C.1 order
    noise = profile["noise"]
    assert noise.single_score == pytest.approx(0.9)
    assert noise.n_single == 1 and noise.n_mixtures == 4 and noise.n_broken == 1
    # mixtures: -0.5, -20, 0.25 (noise twice, counted once), -1.0 → median of the middle two
    assert noise.median_score == pytest.approx((-0.5 + -1.0) / 2)
    assert noise.pass_rate == pytest.approx(1 / 4)
    # The old mean over every task is dragged to −4.07 by the 0.05 dB outlier.
    assert noise.mean_score == pytest.approx((0.9 - 0.5 - 20 + 0.25 - 1.0) / 5)
    blur = profile["blur"]
    assert (blur.single_score, blur.n_mixtures, blur.pass_rate) == (0.5, 2, 0.5)
    assert blur.median_score == pytest.approx((-0.5 + 0.25) / 2)
    compression = profile["compression"]
    assert compression.single_score is None and compression.n_single == 0
    assert compression.median_score == pytest.approx(-10.5) and compression.pass_rate == 0.0
    resize = profile["resize"]  # only in the broken task: left out, but counted
    assert (resize.n_broken, resize.n_mixtures, resize.median_score, resize.mean_score) == (
        1,
        0,
        None,
        None,
    )


def test_profile_takes_the_median_of_several_single_tasks_and_strict_passes() -> None:
    lines = [
        TaskLine("a", 30.0, 32.0, names=("noise",)),
        TaskLine("b", 30.0, 31.0, names=("noise",)),
        TaskLine("c", 30.0, 34.0, names=("noise",)),
        TaskLine("d", 20.0, 21.0, names=("noise", "blur")),
    ]
    profile = degradation_profile(lines, {"a": 31.0, "b": 31.0, "c": 30.0, "d": 20.0})
    assert profile["noise"].single_score == 0.5 and profile["noise"].n_single == 3
    assert profile["noise"].pass_rate == 0.0  # 20.0 ties the acceptance line: no pass
    assert profile["blur"].median_score == 0.0


def test_profile_refuses_missing_psnr_and_unknown_names() -> None:
    lines, psnr = _profile_table()
    del psnr["m3"]
    with pytest.raises(ParameterError, match="PSNR missing for task m3"):
        degradation_profile(lines, psnr)
    with pytest.raises(ParameterError, match="did you mean 'noise'"):
        degradation_profile([TaskLine("1", 1.0, 2.0, names=("noize",))], {"1": 1.5})
    assert degradation_profile([TaskLine("1", 1.0, 2.0)], {"1": 1.5}) == {}  # no names
    # A task without names needs no PSNR: it is left out, not a KeyError.
    noise = degradation_profile([TaskLine("1", 30, 32, names=("noise",)), TaskLine("2", 20, 22)],
                                {"1": 31.0})  # fmt: skip
    assert list(noise) == ["noise"] and noise["noise"].single_score == 0.5
