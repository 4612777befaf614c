"""The stratified hidden set (paper section 4.2): counts, coverage, no duplicates, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from gir_core.degradations import all_degradations, names
from gir_core.errors import ParameterError
from gir_core.hidden import hidden_tasks, random_degradations
from gir_core.tasks import Task, representative_tasks

WEATHER = {"rain", "haze", "snow"}
PUBLIC = {str(task) for task in representative_tasks()}
# resize's random range is ×4 only and alg.artifact has no parameters: their one single task is
# the public one, which a hidden task may never be.
FIXED = {"resize", "alg.artifact"}


def test_random_degradations_are_all_but_the_two_fixed_ones() -> None:
    assert {d.name for d in random_degradations()} == set(names()) - FIXED
    assert len(all_degradations()) == 10


@pytest.mark.parametrize("secret", range(0, 400, 7))
def test_ten_per_order_cover_every_random_degradation_and_never_repeat(secret: int) -> None:
    tasks = hidden_tasks(secret)
    assert [t.order for t in tasks] == [k for k in range(1, 6) for _ in range(10)]
    singles = Counter(t.names[0] for t in tasks[:10])
    assert set(singles) == set(names()) - FIXED  # the eight with a random range, each at least once
    assert sorted(singles.values()) == [1, 1, 1, 1, 1, 1, 2, 2]  # two of them a second time
    texts = [str(t) for t in tasks]
    assert len(set(texts)) == 50 and not set(texts) & PUBLIC
    for task in tasks:
        assert not set(task.names[1:]) & WEATHER  # Eq. (4): weather only as the first step
        assert Task.parse(str(task)) == task


def test_random_strengths_and_every_degradation_reaches_every_slot() -> None:
    first_steps: Counter[str] = Counter()
    later: Counter[str] = Counter()
    noise_sigmas = set()
    for secret in range(60):
        for task in hidden_tasks(secret, per_order=3):
            if task.order == 1 and task.names[0] == "noise":
                noise_sigmas.add(dict(task.steps[0].params)["sigma"])
            if task.order > 1:
                first_steps[task.names[0]] += 1
                later.update(task.names[1:])
    assert len(noise_sigmas) > 5  # strengths drawn, not the representative σ = 20
    assert set(first_steps) == set(names())  # orders 2..5 may start with any degradation
    assert set(later) == set(names()) - WEATHER


def test_small_sets_take_distinct_degradations_and_extend_to_larger_ones() -> None:
    for secret in range(50):
        small, large = hidden_tasks(secret, per_order=2), hidden_tasks(secret, per_order=10)
        assert small[0].names != small[1].names  # order 1 never repeats within a round
        for k in range(5):
            assert small[2 * k : 2 * k + 2] == large[10 * k : 10 * k + 2]
    eighteen = hidden_tasks(3, per_order=18)[:18]
    assert set(Counter(t.names[0] for t in eighteen).values()) == {2, 3}  # balanced rounds


def test_different_secrets_differ_and_avoid_is_respected() -> None:
    sets = {tuple(str(t) for t in hidden_tasks(secret, per_order=2)) for secret in range(30)}
    assert len(sets) == 30
    first = hidden_tasks(5, per_order=1)
    redrawn = hidden_tasks(5, per_order=1, avoid=[str(first[2])])
    assert redrawn[2] != first[2] and redrawn[2].order == 3
    assert [redrawn[i] for i in (0, 1, 3, 4)] == [first[i] for i in (0, 1, 3, 4)]


def test_the_same_secret_gives_the_same_list_in_another_process() -> None:
    here = [{"order": t.order, "text": str(t)} for t in hidden_tasks(20231, per_order=3)]
    for hash_seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-m", "gir_core.cli", "tasks", "--hidden", "--seed", "20231",
             "--per-order", "3", "--json"],
            capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
        )  # fmt: skip
        there = json.loads(out.stdout)
        assert [{"order": r["order"], "text": r["text"]} for r in there] == here
        assert [r["order"] for r in there] == sorted(r["order"] for r in there)


@pytest.mark.parametrize(
    ("secret", "per_order", "message"),
    [(-1, 10, "integer ≥ 0"), (1, 0, "1..1000"), (True, 10, "integer ≥ 0"), (1, 1001, "1..1000")],
)
def test_bad_arguments_are_sentences(secret: int, per_order: int, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        hidden_tasks(secret, per_order)
