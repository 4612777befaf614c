"""What a browser must never be able to do: run a model name as script, forge a form post, see
someone's private model, reach the admin page without the role."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Dialogs, Stack
from tests.browser.seed import ADMIN, ALICE, BOB, XSS_DESCRIPTION, XSS_NAME, Account

pytestmark = pytest.mark.xdist_group("browser")

Shot = Callable[[Page, str], Path]
SignIn = Callable[[Page, Account], None]

# A same-origin script that knows the cookies but not the token: what an injected script or a
# careless page would send.
FETCH_WITHOUT_TOKEN = """async (path) => {
  const response = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "name=forged-fetch",
  });
  return [response.status, await response.text()];
}"""
# The same as an HTML form posted by the page (a navigation, so the answer is the error page).
FORM_WITHOUT_TOKEN = """(path) => {
  const form = document.createElement("form");
  form.method = "post"; form.action = path;
  const name = document.createElement("input");
  name.name = "name"; name.value = "forged-form";
  form.append(name); document.body.append(form); form.submit();
}"""


def test_a_model_named_like_a_script_renders_as_text_everywhere(
    page: Page, stack: Stack, dialogs: Dialogs
) -> None:
    xss = stack.seeded.xss
    page.goto(stack.url(f"/submissions/{xss}"))
    assert page.locator("h1").inner_text() == XSS_NAME
    expect(page.locator("pre.description, .description").first).to_have_text(XSS_DESCRIPTION)
    expect(page.locator("img[src=x]")).to_have_count(0)
    page.locator("svg#chart-task-bias .bar[data-tip]").first.hover()  # tips are text too

    page.goto(stack.url("/"))
    expect(page.locator(f"table#leaderboard tr[data-id='{xss}'] td.model a")).to_have_text(XSS_NAME)
    page.goto(stack.url(f"/compare?a={xss}&b={stack.seeded.alpha}"))
    expect(page.locator("main")).to_contain_text(XSS_NAME)
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    assert dialogs.seen == []


def _token_names(page: Page, stack: Stack) -> list[str]:
    page.goto(stack.url("/account"))
    names: list[str] = page.locator("table#tokens tbody tr th").all_inner_texts()
    return names


def test_forged_posts_without_the_csrf_token_are_refused_and_change_nothing(
    page: Page, stack: Stack, sign_in: SignIn
) -> None:
    sign_in(page, BOB)
    before = _token_names(page, stack)

    status, body = page.evaluate(FETCH_WITHOUT_TOKEN, "/account/tokens")
    assert status == 403 and "CSRF" in body, (status, body)

    answer = page.request.post(stack.url("/account/tokens"), form={"name": "forged-request"})
    assert answer.status == 403 and "CSRF" in answer.text()

    with page.expect_navigation():
        page.evaluate(FORM_WITHOUT_TOKEN, "/account/tokens")
    expect(page.locator("h1")).to_contain_text("403")
    expect(page.locator("p.error-message")).to_contain_text("CSRF")

    logout = page.request.post(stack.url("/logout"))
    assert logout.status == 403
    assert _token_names(page, stack) == before
    expect(page.locator("form#logout-form")).to_be_visible()  # still signed in


def test_a_cross_site_form_cannot_post_with_the_users_cookies(
    page: Page, stack: Stack, sign_in: SignIn
) -> None:
    sign_in(page, BOB)
    before = _token_names(page, stack)
    action = json.dumps(stack.url("/account/tokens"))
    attacker = (
        "data:text/html,<form method=post action=" + action + ">"
        "<input name=name value=cross-site></form><script>document.forms[0].submit()</script>"
    )
    with page.expect_navigation(url=stack.url("/account/tokens")) as navigation:
        page.goto(attacker)
    response = navigation.value
    assert response is not None and response.status in (401, 403)
    assert _token_names(page, stack) == before


def test_a_private_model_is_404_to_others_and_shown_to_its_owner(
    page: Page, stack: Stack, sign_in: SignIn, new_page: Callable[..., Page]
) -> None:
    path = f"/submissions/{stack.seeded.private}"
    anonymous = page.goto(stack.url(path))
    assert anonymous is not None and anonymous.status == 404

    sign_in(page, BOB)
    other = page.goto(stack.url(path))
    assert other is not None and other.status == 404
    expect(page.locator("h1")).to_contain_text("404")
    assert "Private restorer" not in page.content()

    owner_page = new_page()
    sign_in(owner_page, ALICE)
    owner = owner_page.goto(stack.url(path))
    assert owner is not None and owner.status == 200
    expect(owner_page.locator("h1")).to_have_text("Private restorer")


def test_the_admin_page_is_for_admins_only(
    page: Page, stack: Stack, sign_in: SignIn, new_page: Callable[..., Page], shot: Shot
) -> None:
    page.goto(stack.url("/admin"))
    assert "/login" in page.url and "next=/admin" in page.url.replace("%2F", "/")
    expect(page.locator("form#login-form")).to_be_visible()

    sign_in(page, BOB)
    refused = page.goto(stack.url("/admin"))
    assert refused is not None and refused.status == 403
    expect(page.locator("h1")).to_contain_text("403")
    expect(page.locator("table#queue")).to_have_count(0)
    expect(page.locator("header a[href='/admin']")).to_have_count(0)

    admin = new_page()
    sign_in(admin, ADMIN)
    admin.locator("header a[href='/admin']").click()
    expect(admin.locator("table#queue")).to_be_visible()
    expect(admin.locator("table#versions")).to_contain_text("test")
    expect(admin.locator("table#lines tbody tr")).to_have_count(len(stack.seeded.task_keys))
    shot(admin, "admin")


def test_the_submit_page_asks_anonymous_visitors_to_sign_in(
    page: Page, stack: Stack, shot: Shot
) -> None:
    page.goto(stack.url("/submit"))
    expect(page.locator("form#submit-form")).to_have_count(0)
    link = page.locator("main a[href^='/login']").first
    expect(link).to_be_visible()
    shot(page, "submit-anonymous")
    with page.expect_navigation():
        link.click()
    expect(page.locator("form#login-form")).to_be_visible()


def test_the_api_docs_render_offline_under_the_csp(page: Page, stack: Stack) -> None:
    violations: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: violations.append(message.text))
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(stack.url("/")) else elsewhere.append(request.url)
        ),
    )
    page.goto(stack.url("/docs"))
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(
        page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/submissions").first
    ).to_be_visible()
    assert elsewhere == []  # no CDN, no fonts, nothing from another host
    assert [text for text in violations if "Content Security Policy" in text] == []
