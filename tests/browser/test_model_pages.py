"""A scored model's page (summary, charts with tooltips, tables), the compare page and the tasks
page in Chromium, on the seeded rows whose per-task values are known (``tests/browser/seed.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gir_core.tasks import Task
from tests.browser.conftest import Stack
from tests.support.stack import TASKS

pytestmark = pytest.mark.xdist_group("browser")

Shot = Callable[[Page, str], Path]
TASK_HEAD = re.compile(r"^task (\S+) \(k=\d+\)")
HIDDEN_SPECS = [str(Task.parse(spec)) for _, spec, kind, _ in TASKS if kind == "hidden"]


def _tips(page: Page, selector: str) -> list[str]:
    tips: list[str] = page.locator(selector).evaluate_all("marks => marks.map(m => m.dataset.tip)")
    return tips


def _task_of(tip: str) -> str:
    match = TASK_HEAD.match(tip)
    assert match is not None, tip
    return match.group(1)


def test_a_scored_model_page_has_its_summary_charts_and_tables(
    page: Page, stack: Stack, shot: Shot
) -> None:
    seeded = stack.seeded
    page.goto(stack.url(f"/submissions/{seeded.beta}"))
    expect(page.locator("h1")).to_have_text("Beta restorer")
    expect(page.locator("#status")).to_have_attribute("data-status", "scored")
    expect(page.locator("section#live")).to_have_count(0)
    expect(page.locator("section#summary")).to_be_visible()

    bars = "svg#chart-task-bias .bar[data-tip]"
    tips = _tips(page, bars)
    assert sorted(_task_of(tip) for tip in tips) == sorted(seeded.task_keys)
    names: list[str] = page.locator(bars).evaluate_all("m => m.map(e => e.className.baseVal)")
    classes = {_task_of(tip): name for tip, name in zip(tips, names, strict=True)}
    assert "fail" in classes["1"] and "fail" in classes["2"]
    assert "pass-exc" in classes["3"] and "pass-exc" in classes["h1"]
    assert page.locator("svg#chart-degradation-bias .bar[data-tip]").count() > 0

    expect(page.locator("table#task-table tbody tr")).to_have_count(len(seeded.task_keys))
    expect(page.locator("table#real-world")).to_contain_text("old photo")
    expect(page.locator("a#compare-link")).to_have_attribute(
        "href", re.compile(rf"/compare\?a={seeded.beta}\b")
    )
    content = page.content()
    assert not any(spec in content for spec in HIDDEN_SPECS)
    shot(page, "model-scored")


def test_hovering_a_task_bar_shows_its_tooltip(page: Page, stack: Stack) -> None:
    page.goto(stack.url(f"/submissions/{stack.seeded.alpha}"))
    tooltip = page.locator("#tooltip")
    expect(tooltip).to_be_hidden()
    bar = page.locator("svg#chart-task-bias .bar[data-tip]").first
    tip = bar.get_attribute("data-tip")
    assert tip is not None
    bar.hover()
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(f"task {_task_of(tip)} ")
    page.mouse.move(1, 1)
    expect(tooltip).to_be_hidden()


def test_compare_counts_wins_losses_and_ties_per_task(page: Page, stack: Stack, shot: Shot) -> None:
    seeded = stack.seeded
    page.goto(stack.url("/compare"))
    form = page.locator("form#compare-form")
    form.locator("input[name=a]").fill(str(seeded.alpha))
    form.locator("input[name=b]").fill(str(seeded.beta))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert f"a={seeded.alpha}" in page.url and f"b={seeded.beta}" in page.url

    # Alpha is better on tasks 1 and 2, Beta on 3; hidden h1's PSNR only each owner reads, so a
    # visitor's comparison leaves it out (SECURITY.md, covert channel).
    public = [key for key, _, kind, _ in TASKS if kind != "hidden"]
    counts = [int(page.locator(f"#{name}").inner_text()) for name in ("wins", "losses", "ties")]
    assert counts == [2, 1, 0]
    assert sum(counts) == len(public)
    bars = _tips(page, "svg#chart-compare .bar[data-tip]")
    assert sorted(_task_of(tip) for tip in bars) == sorted(public)
    summary = page.locator("table#compare-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("tbody tr").first).to_contain_text("+0.50")  # AR 1.00 − 0.50
    shot(page, "compare")


def test_the_tasks_page_shows_public_tasks_with_thumbnails_and_hides_hidden_specs(
    page: Page, stack: Stack, shot: Shot
) -> None:
    page.goto(stack.url("/tasks"))
    public = [key for key, _, kind, _ in TASKS if kind == "representative"]
    hidden = [key for key, _, kind, _ in TASKS if kind == "hidden"]
    rows = page.locator("table#representative-tasks tbody tr")
    expect(rows).to_have_count(len(public))
    thumbs = page.locator("table#representative-tasks img.thumb")
    expect(thumbs).to_have_count(len(public))
    for index in range(len(public)):
        thumbs.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#representative-tasks img.thumb')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    expect(page.locator("table#hidden-tasks tbody tr")).to_have_count(len(hidden))
    expect(page.locator("table#hidden-tasks")).to_contain_text(hidden[0])
    content = page.content()
    assert not any(spec in content for spec in HIDDEN_SPECS)
    shot(page, "tasks")
