"""Badges in Chromium: the SVG renders (as an image on the model page and opened on its own),
its accessible title names the model, a hostile name stays text, and the snippet can be copied."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from app.badges.svg import colour
from tests.browser.conftest import Dialogs, Stack
from tests.browser.seed import XSS_NAME

pytestmark = pytest.mark.xdist_group("browser")

Shot = Callable[[Page, str], Path]
PALETTE = {(0x44, 0xCC, 0x11): "#4c1", (0xA4, 0xA6, 0x1D): "#a4a61d",
           (0xFE, 0x7D, 0x37): "#fe7d37", (0xE0, 0x5D, 0x44): "#e05d44"}  # fmt: skip
"""The badge colours (:func:`app.badges.svg.colour`) as RGB, to name a rendered pixel."""


def _summary(stack: Stack, submission_id: int) -> dict[str, float]:
    body = httpx.get(stack.url(f"/api/v1/submissions/{submission_id}")).json()
    summary: dict[str, float] = body["summary"]
    return summary


def test_the_model_page_shows_the_badge_and_its_markdown(
    page: Page, stack: Stack, shot: Shot
) -> None:
    beta = stack.seeded.beta
    page.goto(stack.url(f"/submissions/{beta}"))
    image = page.locator("img#badge-image")
    expect(image).to_be_visible()
    width = image.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 100  # loaded and decoded under the page's CSP (img-src 'self')
    snippet = page.locator("code#badge-snippet")
    expect(snippet).to_contain_text(f"{stack.base_url}/api/v1/models/Beta%20restorer/badge.svg")
    expect(snippet).to_contain_text(f"]({stack.base_url}/submissions/{beta})")
    page.locator("button#copy-badge").click()
    expect(page.locator("button#copy-badge")).to_have_text(re.compile("Copied|Selected"))
    shot(page, "badge-on-model-page")


def test_the_badge_svg_renders_on_its_own_with_the_summary(page: Page, stack: Stack) -> None:
    beta = stack.seeded.beta
    summary = _summary(stack, beta)
    page.goto(stack.url(f"/api/v1/submissions/{beta}/badge.svg"))
    svg = page.locator("svg")
    box = svg.bounding_box()
    assert box is not None and box["height"] == 20 and box["width"] > 100
    texts = svg.locator("text").all_text_contents()
    assert texts[-1] == f"AR {summary['ar']:.2f} · ER {summary['er']:.2f}"
    title = page.locator("svg > title").text_content()
    assert title == f"GIR Bench: Beta restorer — AR {summary['ar']:.2f}, ER {summary['er']:.2f}"
    # The value's text fits inside its coloured half (shields.io's look: nothing clipped).
    value = svg.locator("text").last.bounding_box()
    assert value is not None and value["x"] + value["width"] <= box["x"] + box["width"]
    # Drawn, not just parsed: grey label on the left, the AR colour on the right.
    pixels = Image.open(io.BytesIO(svg.screenshot())).convert("RGB")
    label, right = pixels.getpixel((2, 10)), pixels.getpixel((pixels.width - 3, 10))
    assert max(label) - min(label) < 12 and 70 < label[0] < 110, label
    nearest = min(PALETTE, key=lambda rgb: sum(abs(a - b) for a, b in zip(rgb, right, strict=True)))
    assert PALETTE[nearest] == colour(summary["ar"]), right


def test_a_hostile_model_name_stays_text_in_the_badge(
    page: Page, stack: Stack, dialogs: Dialogs
) -> None:
    page.goto(stack.url(f"/api/v1/submissions/{stack.seeded.xss}/badge.svg"))
    title = page.locator("svg > title").text_content()
    assert title is not None and title.startswith(f"GIR Bench: {XSS_NAME} — AR ")
    assert page.locator("script").count() == 0
    assert dialogs.seen == []
