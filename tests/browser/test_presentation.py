"""How the pages read: dark theme contrast, print, keyboard tooltips, and no Content-Security-
Policy violations (no inline script or style sneaks in) on any page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import Stack
from tests.browser.seed import ADMIN, Account

pytestmark = pytest.mark.xdist_group("browser")

Shot = Callable[[Page, str], Path]
COLOURS = """() => {
  const body = getComputedStyle(document.body).backgroundColor;
  const text = getComputedStyle(document.querySelector('svg#chart-task-bias text')).fill;
  const main = getComputedStyle(document.body).color;
  return [body, text, main];
}"""


def _luminance(css: str) -> float:
    """Relative luminance (WCAG 2) of an ``rgb(r, g, b)`` colour."""
    parts = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _pages(stack: Stack) -> tuple[str, ...]:
    """The pages every visitor sees, on seeded rows."""
    seeded = stack.seeded
    return (
        "/",
        f"/submissions/{seeded.alpha}",
        f"/compare?a={seeded.alpha}&b={seeded.beta}",
        "/tasks",
        "/submit",
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chart_text_reads_in_both_themes(page: Page, stack: Stack, shot: Shot, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
    page.goto(stack.url(f"/submissions/{stack.seeded.alpha}"))
    background, chart_text, body_text = page.evaluate(COLOURS)
    assert _contrast(background, chart_text) >= 4.5, (background, chart_text)
    assert _contrast(background, body_text) >= 7, (background, body_text)
    dark = _luminance(background) < 0.2
    assert dark == (scheme == "dark")
    shot(page, f"model-{scheme}")


def test_printing_keeps_charts_and_drops_navigation(page: Page, stack: Stack) -> None:
    page.goto(stack.url(f"/submissions/{stack.seeded.alpha}"))
    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator("svg#chart-task-bias")).to_be_visible()
    expect(page.locator("table#task-table")).to_be_visible()


def test_keyboard_focus_on_a_chart_mark_shows_its_details(page: Page, stack: Stack) -> None:
    page.goto(stack.url("/"))
    point = page.locator("svg#chart-pareto [data-tip][tabindex='0']").first
    point.focus()
    tooltip = page.locator("#tooltip")
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("AR ")
    page.keyboard.press("Escape")
    expect(tooltip).to_be_hidden()


def test_no_page_breaks_its_content_security_policy(page: Page, stack: Stack) -> None:
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", record)
    for path in (*_pages(stack), "/login", "/register"):
        page.goto(stack.url(path))
        page.wait_for_load_state("networkidle")
    assert errors == []


def test_no_page_scrolls_sideways_at_phone_width(
    new_page: Callable[..., Page], stack: Stack, sign_in: Callable[[Page, Account], None]
) -> None:
    """Wide tables scroll inside their own box; the page itself never does."""
    page = new_page(phone=True)
    sign_in(page, ADMIN)
    for path in (*_pages(stack), "/account", "/admin"):
        page.goto(stack.url(path))
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], (path, widths)
