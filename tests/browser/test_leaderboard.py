"""The leaderboard in Chromium: sorting by a column header, the filter form, exports, charts with
tooltips, and the phone-width layout, on the seeded rows (``tests/browser/seed.py``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Dialogs, Stack
from tests.browser.seed import XSS_NAME

pytestmark = pytest.mark.xdist_group("browser")

Shot = Callable[[Page, str], Path]
ROWS = "table#leaderboard tbody tr"


def _row_ids(page: Page) -> list[int]:
    ids: list[str] = page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.id)")
    return [int(value) for value in ids]


def _seeded_order(page: Page, stack: Stack) -> list[int]:
    """The seeded rows in the order the page shows them (the journey's upload may be there)."""
    return [row for row in _row_ids(page) if row in stack.seeded.ar]


def _public_by_ar(stack: Stack, *, descending: bool) -> list[int]:
    seeded = stack.seeded
    public = [row for row in seeded.ar if row != seeded.private]
    return sorted(public, key=lambda row: seeded.ar[row], reverse=descending)


def _sort_by_ar(page: Page) -> str:
    header = page.locator("table#leaderboard th[data-sort=ar]")
    with page.expect_navigation():
        header.locator("a").click()
    direction = header.get_attribute("aria-sort")
    assert direction in ("ascending", "descending"), direction
    others = page.locator("table#leaderboard th[aria-sort]")
    expect(others).to_have_count(1)
    return direction


def test_the_board_shows_public_rows_marks_baselines_and_hides_private_ones(
    page: Page, stack: Stack, shot: Shot
) -> None:
    page.goto(stack.url("/"))
    seeded = stack.seeded
    ids = _row_ids(page)
    assert {seeded.alpha, seeded.beta, seeded.xss, seeded.baseline} <= set(ids)
    assert seeded.private not in ids
    expect(page.locator(f"{ROWS}[data-id='{seeded.baseline}']")).to_have_class("baseline")
    link = page.locator(f"{ROWS}[data-id='{seeded.alpha}'] td.model a")
    expect(link).to_have_text("Alpha restorer")
    expect(link).to_have_attribute("href", f"/submissions/{seeded.alpha}")
    shot(page, "leaderboard")


def test_clicking_the_ar_header_sorts_and_clicking_again_reverses(page: Page, stack: Stack) -> None:
    page.goto(stack.url("/"))
    first = _sort_by_ar(page)
    assert "sort=ar" in page.url
    order = _seeded_order(page, stack)
    assert order == _public_by_ar(stack, descending=first == "descending")

    second = _sort_by_ar(page)
    assert second != first
    assert _seeded_order(page, stack) == order[::-1]


def test_the_filter_form_narrows_the_board_and_the_exports_follow_it(
    page: Page, stack: Stack
) -> None:
    seeded = stack.seeded
    page.goto(stack.url("/"))
    form = page.locator("form#filters")
    form.locator("input[name=q]").fill("Alpha")
    with page.expect_navigation():
        form.get_by_role("button", name="Apply").click()
    assert _row_ids(page) == [seeded.alpha]
    expect(form.locator("input[name=q]")).to_have_value("Alpha")

    export = page.locator("a#export-csv").get_attribute("href")
    assert export is not None and export.startswith("/api/v1/leaderboard.csv")
    body = page.request.get(stack.url(export)).text()
    names = [row["name"] for row in csv.DictReader(io.StringIO(body))]
    assert names == ["Alpha restorer"]

    page.goto(stack.url("/"))
    form.locator("select[name=format]").select_option("torchscript")
    with page.expect_navigation():
        form.get_by_role("button", name="Apply").click()
    ids = _row_ids(page)
    assert seeded.beta in ids and seeded.alpha not in ids and seeded.xss not in ids

    page.goto(stack.url("/"))
    form.locator("select[name=baselines]").select_option("false")
    with page.expect_navigation():
        form.get_by_role("button", name="Apply").click()
    ids = _row_ids(page)
    assert seeded.baseline not in ids and seeded.alpha in ids
    expect(page.locator(f"{ROWS}.baseline")).to_have_count(0)


def test_a_search_without_matches_says_so(page: Page, stack: Stack) -> None:
    page.goto(stack.url("/?q=no-such-model-anywhere"))
    expect(page.locator("p#empty-board")).to_be_visible()
    expect(page.locator("table#leaderboard")).to_have_count(0)


def test_charts_have_points_with_tooltips_drawn_as_text(
    page: Page, stack: Stack, dialogs: Dialogs
) -> None:
    page.goto(stack.url("/"))
    points = page.locator("svg#chart-pareto .point[data-tip]")
    assert points.count() >= 4
    expect(page.locator("svg#chart-pareto path.front")).to_have_count(1)
    assert page.locator("svg#chart-best-ar *").count() > 0

    tooltip = page.locator("#tooltip")
    expect(tooltip).to_be_hidden()
    tips: list[str] = points.evaluate_all("marks => marks.map(m => m.dataset.tip)")
    xss = next(i for i, tip in enumerate(tips) if tip.startswith(XSS_NAME))
    points.nth(xss).hover()
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text(XSS_NAME)
    assert dialogs.seen == []


def test_at_phone_width_the_board_fits_the_screen(
    new_page: Callable[..., Page], stack: Stack, shot: Shot
) -> None:
    page = new_page(phone=True)
    page.goto(stack.url("/"))
    expect(page.locator("table#leaderboard")).to_be_visible()
    expect(page.locator(f"{ROWS}[data-id='{stack.seeded.alpha}'] td.model a")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the phone's screen"
    shot(page, "leaderboard-phone")
