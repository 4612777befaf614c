"""Browser test fixtures: the whole service running live, and Debian's Chromium driving it.

One stack per test session: a PostgreSQL database, Redis database and storage folder of its
own, the tiny test benchmark, seeded accounts and scored submissions (``tests/browser/seed.py``),
a real Celery worker (with beat) and the API served by uvicorn on a free port — all processes
killed and the database dropped at the end. Every browser test module is marked
``xdist_group("browser")``, so under ``pytest -n 2 --dist loadgroup`` the stack is built once.

Chromium is Debian's ``/usr/bin/chromium`` (``scripts/ensure-chromium.sh``), never Playwright's
download. A missing browser fails the tests; it never skips them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from playwright.sync_api import Browser, Dialog, Page, Playwright, sync_playwright
from sqlalchemy.orm import Session

from app import db as app_db
from tests.browser.seed import Account, Seeded, seed
from tests.support.services import (
    create_database,
    database_name,
    drop_database,
    pointed_at,
    service_settings,
)
from tests.support.stack import (
    ROOT,
    Bench,
    ServiceProcess,
    api_server_args,
    build_bench,
    celery_worker_args,
    free_port,
    start_process,
    wait_ready,
    write_demo_pngs,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "out" / "screenshots"
READY_TIMEOUT_S = 60.0


@dataclass
class Stack:
    """The running service and what was seeded into it."""

    base_url: str
    env: dict[str, str]
    bench: Bench
    seeded: Seeded
    processes: list[ServiceProcess] = field(default_factory=list)

    def url(self, path: str) -> str:
        """An absolute URL on the live server."""
        return f"{self.base_url}{path}"

    def logs(self) -> str:
        """The last output of the worker and the server, for failure messages."""
        return "\n".join(f"--- {p.log.name}\n{p.output()[-3000:]}" for p in self.processes)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``--dist loadgroup`` working on pytest 9.2: pytest-xdist 3.8 tags a grouped test by
    assigning ``item._nodeid``, which pytest 9.2 no longer reads (it keeps a structured
    ``item._id``), so the groups silently fell apart. Does what xdist meant; a no-op where xdist
    did it already, and outside an xdist worker. Remove once pytest-xdist handles pytest 9.2.
    """
    if not config.getoption("loadgroup", default=False):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: xdist's own tagging works
        return
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is None or "@" in item.nodeid:
            continue
        name = mark.args[0] if mark.args else mark.kwargs.get("name", "default")
        item._id = NodeId.parse(f"{item.nodeid}@{name}")


def _seed(env: dict[str, str], folder: Path) -> tuple[Bench, Seeded]:
    with pointed_at(env), Session(app_db.get_engine(), expire_on_commit=False) as session:
        bench = build_bench(session, *write_demo_pngs(folder))
        return bench, seed(session, bench)


@pytest.fixture(scope="session")
def stack(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The live service (see the module docstring); torn down after the last browser test."""
    name = database_name("browser", worker_id)
    folder = tmp_path_factory.mktemp("browser-stack")
    port = free_port()
    env = {
        **service_settings("browser", worker_id, create_database(name), folder / "storage"),
        "GIR_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GIR_DEVICE": "cpu",
        "GIR_SANDBOX_THREADS": "1",
        "GIR_HEARTBEAT_S": "1",
        # Every test signs in from 127.0.0.1; the request limits are tested in tests/app.
        "GIR_LOGIN_PER_ADDRESS": "10000",
        "GIR_REGISTER_PER_ADDRESS": "1000",
    }
    broker = redis.Redis.from_url(env["GIR_BROKER_URL"])
    broker.flushdb()
    processes: list[ServiceProcess] = []
    try:
        bench, seeded = _seed(env, folder)
        live = Stack(env["GIR_PUBLIC_URL"], env, bench, seeded, processes)
        worker = celery_worker_args("browser", beat_schedule=folder / "beat")
        for args, log in ((worker, "worker.log"), (api_server_args(port), "server.log")):
            processes.append(start_process(args, env=env, log=folder / log))
        wait_ready(live.base_url, processes, READY_TIMEOUT_S)
        yield live
    finally:
        for process in processes:
            process.kill()
        drop_database(name)
        broker.flushdb()


# -- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver, once per session."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian Chromium; fails (never skips) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run scripts/ensure-chromium.sh "
            "(`make test` runs it) to install Debian's chromium package"
        )
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@dataclass
class Dialogs:
    """Every alert/confirm/prompt a page opened (none is expected, ever)."""

    seen: list[str] = field(default_factory=list)

    def record(self, dialog: Dialog) -> None:
        """Note the dialog's text and dismiss it so the page goes on."""
        self.seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def dialogs() -> Dialogs:
    """The dialogs the test's pages opened."""
    return Dialogs()


def _open_page(browser: Browser, viewport: dict[str, int], dialogs: Dialogs) -> Page:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", dialogs.record)
    return page


@pytest.fixture
def page(browser: Browser, stack: Stack, dialogs: Dialogs) -> Iterator[Page]:
    """A fresh browser context (no cookies) at 1280×900; dialogs are recorded in ``dialogs``."""
    opened = _open_page(browser, DESKTOP, dialogs)
    yield opened
    opened.context.close()


@pytest.fixture
def new_page(browser: Browser, stack: Stack, dialogs: Dialogs) -> Iterator[Callable[..., Page]]:
    """More pages in contexts of their own (another user); ``phone=True`` for 390×844."""
    opened: list[Page] = []

    def open_page(*, phone: bool = False) -> Page:
        opened.append(_open_page(browser, PHONE if phone else DESKTOP, dialogs))
        return opened[-1]

    yield open_page
    for each in opened:
        each.context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as ``out/screenshots/<test>-<step>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def take(page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in(stack: Stack) -> Callable[[Page, Account], None]:
    """Sign a page in through the login form (it lands on the account page)."""

    def sign(page: Page, account: Account) -> None:
        page.goto(stack.url("/login"))
        form = page.locator("form#login-form")
        form.locator("input[name=email]").fill(account.email)
        form.locator("input[name=password]").fill(account.password)
        with page.expect_navigation():
            form.locator("button[type=submit], input[type=submit]").first.click()
        assert page.url.endswith("/account"), page.url

    return sign
