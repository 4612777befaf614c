"""A researcher's first visit, end to end in Chromium: register, make an API token, upload a
model through the submit form, watch it validated and scored live, find it on the leaderboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from app.auth.security import TOKEN_PREFIX
from tests.browser.conftest import Stack
from tests.browser.seed import PASSWORD
from tests.support.stack import TASKS, slow_model

pytestmark = pytest.mark.xdist_group("browser")

SPINS = 20000  # about 0.6 s per image: scoring takes seconds, so progress is seen moving
SCORED_TIMEOUT_MS = 120_000
Shot = Callable[[Page, str], Path]

# Records each (status, progress text) the page shows, through DOM mutations, so the test sees
# every state the polling script drew — including after <main> is replaced.
RECORD_STATES = """() => {
  window.__states = [];
  const note = () => {
    const status = document.getElementById("status");
    const text = document.getElementById("progress-text");
    const state = [status ? status.dataset.status : "", text ? text.textContent.trim() : ""];
    const last = window.__states[window.__states.length - 1];
    if (!last || last[0] !== state[0] || last[1] !== state[1]) window.__states.push(state);
  };
  note();
  new MutationObserver(note).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
}"""


def _register(page: Page, stack: Stack, shot: Shot) -> None:
    page.goto(stack.url("/register"))
    form = page.locator("form#register-form")
    form.locator("input[name=email]").fill("researcher@example.org")
    form.locator("input[name=name]").fill("Researcher")
    form.locator("input[name=password]").fill(PASSWORD)
    shot(page, "register")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.url == stack.url("/account")


def _create_token(page: Page, stack: Stack, shot: Shot) -> str:
    form = page.locator("form#token-form")
    form.locator("input[name=name]").fill("ci")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    token = page.locator("code#new-token").inner_text().strip()
    assert token.startswith(TOKEN_PREFIX), token
    expect(page.locator("button#copy-token")).to_be_visible()
    expect(page.locator("table#tokens")).to_contain_text("ci")
    shot(page, "account-new-token")
    page.goto(stack.url("/account"))
    expect(page.locator("code#new-token")).to_have_count(0)  # shown once
    expect(page.locator("table#tokens tbody tr")).to_have_count(1)
    shot(page, "account")
    return token


def _upload(page: Page, stack: Stack, shot: Shot, model: Path) -> int:
    page.goto(stack.url("/submit"))
    expect(page.locator("#quota")).to_be_visible()
    form = page.locator("form#submit-form")
    form.locator("input[name=file]").set_input_files(model)
    form.locator("input[name=name]").fill("Slow identity")
    form.locator("textarea[name=description]").fill("The identity, after a long think.")
    shot(page, "submit")
    form.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/submissions/\d+$"), timeout=30_000)
    return int(page.url.rsplit("/", 1)[1])


def _watch_until_scored(page: Page, shot: Shot) -> list[list[str]]:
    """The states the page showed while it polled; asserts it never navigated."""
    url = page.url
    page.evaluate("window.__test_marker = 'same document'")
    loaded_once = page.evaluate("window.__loaded_once")
    page.evaluate(RECORD_STATES)
    expect(page.locator("section#live")).to_be_visible()
    shot(page, "model-live")
    expect(page.locator("#status")).to_have_attribute(
        "data-status", "scored", timeout=SCORED_TIMEOUT_MS
    )
    assert page.url == url
    assert page.evaluate("window.__test_marker") == "same document"
    assert page.evaluate("window.__loaded_once") == loaded_once
    states: list[list[str]] = page.evaluate("window.__states")
    return states


def _assert_examples_load(page: Page) -> None:
    """Input, output and ground truth of each public task, all served as real images."""
    public = [key for key, _, kind, _ in TASKS if kind == "representative"]
    figures = page.locator("section#examples figure.example")
    expect(figures).to_have_count(len(public))
    expect(figures.locator("img")).to_have_count(3 * len(public))
    for index in range(3 * len(public)):
        figures.locator("img").nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.example img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )


def test_register_token_upload_watch_live_and_find_it_on_the_leaderboard(
    page: Page, stack: Stack, shot: Shot, tmp_path: Path
) -> None:
    _register(page, stack, shot)
    token = _create_token(page, stack, shot)
    me = httpx.get(stack.url("/api/v1/me"), headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == "researcher@example.org"

    model = tmp_path / "slow-identity.pt"
    model.write_bytes(slow_model(tmp_path, spins=SPINS))
    submission_id = _upload(page, stack, shot, model)
    expect(page.locator("h1")).to_have_text("Slow identity")

    states = _watch_until_scored(page, shot)
    active = [state for state in states if state[0] in ("queued", "validating", "running")]
    progress = {text for status, text in active if status == "running"}
    assert len(set(map(tuple, active))) >= 2, f"the page never updated while live: {states}"
    assert len(progress) >= 2, f"progress text never moved while running: {states}"
    assert states[-1][0] == "scored", states
    expect(page.locator("section#summary")).to_be_visible()
    expect(page.locator("svg#chart-task-bias .bar")).to_have_count(len(stack.seeded.task_keys))
    _assert_examples_load(page)
    shot(page, "model-scored")

    page.goto(stack.url("/"))
    row = page.locator(f"table#leaderboard tbody tr[data-id='{submission_id}']")
    expect(row.locator("td.model a")).to_have_text("Slow identity")
    expect(row.locator("td.model a")).to_have_attribute("href", f"/submissions/{submission_id}")
    shot(page, "leaderboard")
