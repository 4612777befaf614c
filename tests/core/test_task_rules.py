"""Task rules of SPEC §2.1 and DEGRADATIONS.md, checked from the spec rather than from the code.

A task is an ordered composition of 1-5 steps; rain, haze and snow only as the first step; its
canonical text round-trips through the parser; its id is a hash of that text; applying it is a
pure function of (task, image, seed, image index). The representative tasks are Table C.1's, and
the registry's metadata (ids, first-only, representative values, random ranges) is the spec's table.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gir_core.degradations import NAMES, ImageContext, get
from gir_core.errors import GirError, ImageError, TaskSyntaxError
from gir_core.tasks import (
    DEGRADATION_VERSION,
    Step,
    Task,
    representative_tasks,
    sample_task,
)

TABLE = Path(__file__).resolve().parents[2] / "gir_core" / "data" / "table_c1_lines.csv"
WEATHER = ("rain", "haze", "snow")
# Random ranges of the DEGRADATIONS.md table: (low, high, kind), both ends inclusive.
RANGES: dict[str, dict[str, tuple[float, float, str]]] = {
    "resize": {"scale": (4, 4, "int")},
    "blur": {"k": (7, 23, "odd"), "sigma": (0.2, 3.0, "2dp")},
    "noise": {"sigma": (1, 30, "integral")},
    "compression": {"q": (30, 95, "int")},
    "damage": {"n": (5, 10, "int"), "t": (5, 10, "int")},
    "ringing": {"k": (7, 23, "odd"), "omega": (math.pi / 3, math.pi, "float")},
    "alg.artifact": {},
    "rain": {"value": (50, 99, "int")},
    "haze": {"A": (0.8, 1.0, "2dp"), "beta": (0.5, 2.5, "2dp")},
    "snow": {"A": (0.8, 0.95, "2dp"), "beta": (0.5, 1.0, "2dp")},
}
REPRESENTATIVE: dict[str, dict[str, float]] = {
    "resize": {"scale": 4},
    "blur": {"k": 15, "sigma": 2},
    "noise": {"sigma": 20},
    "compression": {"q": 50},
    "damage": {"n": 10, "t": 7},
    "ringing": {"k": 15, "omega": 1.2},
    "alg.artifact": {},
    "rain": {"value": 75},
    "haze": {"A": 0.9, "beta": 1.8},
    "snow": {"A": 0.9, "beta": 0.75},
}
LATER = tuple(n for n in RANGES if n not in WEATHER)


def in_range(name: str, params: dict[str, float]) -> bool:
    """Whether sampled ``params`` lie in the random ranges of ``name``."""
    spec = RANGES[name]
    if list(params) != list(spec):  # canonical order = the spec's order
        return False
    for key, (low, high, kind) in spec.items():
        value = params[key]
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "odd": isinstance(value, int) and value % 2 == 1,
            "integral": float(value).is_integer(),
            "2dp": abs(value * 100 - round(value * 100)) < 1e-6,
            "float": True,
        }[kind]
        if not (ok and low <= value <= high):
            return False
    return True


def image(h: int = 32, w: int = 32, seed: int = 0) -> np.ndarray:
    """A random clean image on the 1/255 grid, as the benchmark's GT images are."""
    rng = np.random.default_rng(seed)
    return (np.round(rng.random((h, w, 3)) * 255) / 255).astype(np.float32)


# --- registry metadata ------------------------------------------------------------------------


def test_registry_follows_table_c1() -> None:
    assert tuple(NAMES) == tuple(RANGES)
    assert [get(n).id for n in RANGES] == list(range(1, 11))
    assert {n for n in RANGES if get(n).first_only} == set(WEATHER)
    for name, params in REPRESENTATIVE.items():
        assert dict(get(name).representative) == params, name


@pytest.mark.parametrize("name", list(RANGES))
def test_sampled_params_stay_in_and_cover_the_random_ranges(name: str) -> None:
    rng = np.random.default_rng(2024)
    draws = [get(name).sample(rng) for _ in range(500)]
    for params in draws:
        assert in_range(name, params), params
    for key, (low, high, kind) in RANGES[name].items():
        values = [d[key] for d in draws]
        if kind == "odd":
            assert set(values) == set(range(int(low), int(high) + 1, 2))
        elif kind in ("int", "integral"):
            assert set(values) == set(range(int(low), int(high) + 1))
        else:
            slack = 0.03 * (high - low)
            assert min(values) < low + slack and max(values) > high - slack


# --- representative tasks -----------------------------------------------------------------------


def test_representative_tasks_are_table_c1_in_order() -> None:
    with TABLE.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if 1 <= int(r["task_id"]) <= 50]
    assert [int(r["task_id"]) for r in rows] == list(range(1, 51))
    tasks = representative_tasks()
    assert len(tasks) == 50
    for row, task in zip(rows, tasks, strict=True):
        assert task.names == tuple(row["degradations"].split(" + ")), row["task_id"]
        assert task.order == len(task.names)
        for step in task.steps:
            assert dict(step.params) == REPRESENTATIVE[step.name]


def test_canonical_text_of_the_spec_example() -> None:
    task = Task.parse("haze + noise")
    assert str(task) == "haze(A=0.9,beta=1.8) + noise(sigma=20)"
    assert task.names == ("haze", "noise") and task.order == 2
    assert task.id == hashlib.sha256(str(task).encode()).hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", task.id)
    assert isinstance(DEGRADATION_VERSION, str) and DEGRADATION_VERSION


@pytest.mark.parametrize("name", list(RANGES))
def test_bare_name_means_representative_params(name: str) -> None:
    task = Task.parse(name)
    assert task.names == (name,)
    assert dict(task.steps[0].params) == REPRESENTATIVE[name]
    assert Task.parse(str(task)) == task


# --- sampled tasks ------------------------------------------------------------------------------


def test_sampled_tasks_obey_the_rules() -> None:
    tasks = [sample_task(i) for i in range(1000)]
    orders = Counter(t.order for t in tasks)
    assert set(orders) == {1, 2, 3, 4, 5}
    assert all(130 <= c <= 270 for c in orders.values()), orders  # uniform: 200 ± 5 sd
    first: Counter[str] = Counter()
    later: Counter[str] = Counter()
    for i, task in enumerate(tasks):
        assert 1 <= task.order <= 5 and task.order == len(task.steps)
        first[task.names[0]] += 1
        later.update(task.names[1:])
        for step in task.steps:
            assert in_range(step.name, dict(step.params)), (i, str(task))
        assert Task.parse(str(task)) == task
        assert Task.parse(str(task)).id == task.id
    assert set(first) == set(RANGES) and set(later) == set(LATER)  # weather only as step 1
    assert len({t.id for t in tasks}) == len({str(t) for t in tasks}) > 900  # id ⇔ text


def test_sampled_tasks_are_stable() -> None:
    for seed in (0, 1, 123456, (5, 7)):
        assert sample_task(seed) == sample_task(seed)
        assert sample_task(seed).id == sample_task(seed).id
    assert len({str(sample_task(i)) for i in range(20)}) >= 18


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_sample_task_with_fixed_order_and_representative_strengths(order: int) -> None:
    tasks = [sample_task(i, order, strengths="representative") for i in range(40)]
    assert {t.order for t in tasks} == {order}
    for task in tasks:
        assert not set(task.names[1:]) & set(WEATHER)
        for step in task.steps:
            assert dict(step.params) == REPRESENTATIVE[step.name]
    if order > 1:
        assert len({t.names for t in tasks}) > 10  # the sequence is still random


# --- round trip (property) ----------------------------------------------------------------------


def _value(low: float, high: float, kind: str) -> st.SearchStrategy[float]:
    if kind == "odd":
        return st.sampled_from(range(int(low), int(high) + 1, 2))
    if kind == "int":
        return st.integers(int(low), int(high))
    if kind == "integral":
        return st.integers(int(low), int(high)).map(float)
    return st.floats(low, high, allow_nan=False)  # any float must survive printing


@st.composite
def steps(draw: st.DrawFn, names: tuple[str, ...]) -> Step:
    name = draw(st.sampled_from(names))
    params = tuple((key, draw(_value(*spec))) for key, spec in RANGES[name].items())
    return Step(name, params)


tasks_strategy = st.builds(
    lambda head, tail: Task((head, *tail)),
    steps(tuple(RANGES)),
    st.lists(steps(LATER), max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(tasks_strategy)
def test_parse_print_round_trip(task: Task) -> None:
    text = str(task)
    again = Task.parse(text)
    assert again == task
    assert again.id == task.id
    assert str(again) == text


# --- accepted and rejected text -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "haze+noise",
        "  haze  +  noise  ",
        "haze(A=0.9,beta=1.8) + noise(sigma=20)",
        "haze( A = 0.9 , beta = 1.8 )+noise ( sigma=20 )",
        "\thaze\n + noise(sigma=20.0)",
        "haze(beta=1.8, A=0.9) + noise(sigma=2e1)",
    ],
)
def test_whitespace_and_spelling_variants_parse_to_one_task(text: str) -> None:
    assert Task.parse(text) == Task.parse("haze + noise")
    assert str(Task.parse(text)) == "haze(A=0.9,beta=1.8) + noise(sigma=20)"


@pytest.mark.parametrize(
    ("text", "token", "suggestion"),
    [
        ("blurr", "blurr", "blur"),
        ("haze + noize(sigma=5)", "noize", "noise"),
        ("rian + blur", "rian", "rain"),
        ("compresion", "compresion", "compression"),
        ("blur + alg_artifact", "alg_artifact", "alg.artifact"),
    ],
)
def test_unknown_name_names_the_token_and_a_suggestion(
    text: str, token: str, suggestion: str
) -> None:
    with pytest.raises(TaskSyntaxError) as info:
        Task.parse(text)
    message = str(info.value)
    assert token in message and f"'{suggestion}'" in message


@pytest.mark.parametrize(
    "text", ["", "   ", "blur +", "+ blur", "blur ++ noise", "blur(k=15", "blur k=15)", "blur)("]
)
def test_malformed_text_is_a_syntax_error(text: str) -> None:
    with pytest.raises(TaskSyntaxError):
        Task.parse(text)


@pytest.mark.parametrize(
    ("text", "param"),
    [
        ("blur(kk=15)", "kk"),
        ("noise(sgima=20)", "sgima"),
        ("blur(k=14)", "k"),
        ("blur(k=15.5)", "k"),
        ("blur(sigma=-1)", "sigma"),
        ("noise(sigma=abc)", "sigma"),
        ("noise(sigma=)", "sigma"),
        ("compression(q=50.5)", "q"),
        ("haze(A=1.5)", "A"),
        ("damage(n=10,n=5)", "n"),
        ("alg.artifact(x=1)", "x"),
    ],
)
def test_bad_parameter_is_an_error_naming_it(text: str, param: str) -> None:
    with pytest.raises(GirError) as info:
        Task.parse(text)
    assert re.search(rf"\b{re.escape(param)}\b", str(info.value)), str(info.value)


def test_misspelt_parameter_gets_a_suggestion() -> None:
    with pytest.raises(GirError, match="sigma") as info:
        Task.parse("noise(sgima=20)")
    assert "sgima" in str(info.value)


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("noise + rain", "rain"),
        ("haze + snow", "snow"),
        ("blur + haze + noise", "haze"),
        ("blur + blur + blur + blur + blur + blur", "5"),
    ],
)
def test_composition_rules_are_enforced(text: str, token: str) -> None:
    with pytest.raises(GirError, match=re.escape(token)):
        Task.parse(text)


# --- applying a task ----------------------------------------------------------------------------


def test_apply_is_deterministic_and_seeded_per_image() -> None:
    task, clean = Task.parse("noise"), image()
    out = task.apply(clean, 3)
    assert out.tobytes() == task.apply(clean.copy(), 3).tobytes()
    assert out.tobytes() == task.apply(clean, 3, image_index=0).tobytes()
    assert out.tobytes() != task.apply(clean, 3, image_index=1).tobytes()
    assert out.tobytes() != task.apply(clean, 4).tobytes()
    np.testing.assert_array_equal(clean, image())  # the input is not modified


def test_step_generators_follow_the_seed_sequence_recipe() -> None:
    task, clean = Task.parse("noise(sigma=12) + damage"), image()
    seed, index, ctx = 9, 4, ImageContext()
    out = clean
    for step_index, step in enumerate(task.steps):
        entropy = [seed, index, int(task.id, 16), step_index]
        rng = np.random.default_rng(np.random.SeedSequence(entropy))
        out = get(step.name).apply(out, dict(step.params), rng, ctx)
    assert task.apply(clean, seed, image_index=index).tobytes() == out.tobytes()


def test_formula_steps_compose_left_to_right() -> None:
    clean, rng = image(48, 48, seed=1), np.random.default_rng(0)
    out = clean
    for name in ("blur", "resize", "alg.artifact", "compression"):
        out = get(name).apply(out, dict(get(name).representative), rng, ImageContext())
    task = Task.parse("blur + resize + alg.artifact + compression")
    assert task.apply(clean, 0).tobytes() == out.tobytes()
    reverse = Task.parse("compression + alg.artifact + resize + blur")
    assert reverse.apply(clean, 0).tobytes() != out.tobytes()  # order matters


def test_five_step_output_contract() -> None:
    task = Task.parse("snow + ringing + damage + resize + noise")
    out = task.apply(image(64, 48, seed=2), 1, image_index=7)
    assert out.shape == (64, 48, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    scaled = out.astype(np.float64) * 255
    assert np.abs(scaled - np.round(scaled)).max() < 1e-4


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((32, 32, 3), np.uint8),
        np.zeros((32, 32), np.float32),
        np.full((32, 32, 3), 1.5, np.float32),
    ],
)
def test_apply_rejects_images_outside_the_contract(bad: np.ndarray) -> None:
    with pytest.raises(ImageError):
        Task.parse("blur").apply(bad, 0)
