"""The upload form in Chromium: an oversize file is refused before a byte is sent, a file the
server refuses shows the server's sentence on the form (nothing is created), and without
JavaScript the same form still uploads (progressive enhancement)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.browser.conftest import Stack
from tests.browser.seed import BOB, Account
from tests.support.stack import onnx_model

pytestmark = pytest.mark.xdist_group("browser")

SignIn = Callable[[Page, Account], None]


def _uploads(page: Page) -> list[str]:
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and "/api/v1/submissions" in request.url:
            sent.append(request.url)

    page.on("request", record)
    return sent


def test_an_oversize_file_is_refused_in_the_browser(
    page: Page, stack: Stack, sign_in: SignIn
) -> None:
    sign_in(page, BOB)
    page.goto(stack.url("/submit"))
    form = page.locator("form#submit-form")
    # The limit comes from GIR_MAX_UPLOAD_MB; lower it in the page so a small file is too big.
    form.evaluate("f => { f.dataset.maxBytes = '1024'; }")
    sent = _uploads(page)
    form.locator("input[name=name]").fill("TooBig")
    form.locator("input[name=file]").set_input_files(
        {"name": "big.onnx", "mimeType": "application/octet-stream", "buffer": b"\0" * 4096}
    )
    error = page.locator("#upload-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("big.onnx is 4.0 KiB; the upload limit is 1.0 KiB.")
    form.locator("button[type=submit]").click()
    expect(error).to_be_visible()
    assert sent == [] and page.url == stack.url("/submit")


def test_a_file_the_server_refuses_shows_its_sentence(
    page: Page, stack: Stack, sign_in: SignIn
) -> None:
    sign_in(page, BOB)
    page.goto(stack.url("/submit"))
    sent = _uploads(page)
    form = page.locator("form#submit-form")
    form.locator("input[name=name]").fill("NotAModel")
    form.locator("input[name=file]").set_input_files(
        {"name": "notes.onnx", "mimeType": "text/plain", "buffer": b"these are my notes\n" * 50}
    )
    form.locator("button[type=submit]").click()
    error = page.locator("#upload-error")
    expect(error).to_contain_text("(HTTP 422)")
    expect(error).to_contain_text("ONNX")
    expect(form.locator("button[type=submit]")).to_be_enabled()
    assert len(sent) == 1 and page.url == stack.url("/submit")
    page.goto(stack.url("/account"))
    expect(page.locator("main")).not_to_contain_text("NotAModel")


def test_without_javascript_the_form_still_uploads(
    browser: Browser, stack: Stack, sign_in: SignIn
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        sign_in(page, BOB)  # the login form is a plain form too
        page.goto(stack.url("/submit"))
        form = page.locator("form#submit-form")
        form.locator("input[name=name]").fill("NoScriptNet")
        form.locator("select[name=visibility]").select_option("private")
        form.locator("input[name=file]").set_input_files(
            {"name": "m.onnx", "mimeType": "application/octet-stream",
             "buffer": onnx_model("identity", "no-script")}
        )  # fmt: skip
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert re.fullmatch(re.escape(stack.url("/submissions/")) + r"\d+", page.url), page.url
        expect(page.locator("h1")).to_have_text("NoScriptNet")
        expect(page.locator("span.tag")).to_contain_text("private")
    finally:
        context.close()
