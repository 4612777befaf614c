"""Logging: a request id on every request and on each of its log lines, an access line without
query strings, key=value or JSON lines, uvicorn's loggers through the same handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.logs import JsonFormatter, TextFormatter, configure_logging
from app.requestlog import RequestIdMiddleware, choose_request_id
from app.settings import Settings

HEX32 = r"[0-9a-f]{32}"


@pytest.fixture
def loggers_restored() -> Iterator[None]:
    """uvicorn's loggers and our access logger as a fresh process has them, put back afterwards
    (a test that ran uvicorn in this process may have quieted them)."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "app.access")
    saved = {
        name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
        for name in names
        for logger in [logging.getLogger(name)]
    }
    for name in ("uvicorn.access", "app.access"):
        fresh = logging.getLogger(name)
        fresh.setLevel(logging.NOTSET)
        fresh.handlers[:] = []
        fresh.propagate, fresh.disabled = True, False
    yield
    for name, (level, handlers, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, loggers_restored: None) -> Iterator[Settings]:
    """The service's logging for one test; the process's logging is put back afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogRecordFactory())
    monkeypatch.setenv("GIR_LOG_LEVEL", "debug")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    configure_logging(settings)
    yield settings
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    logging.setLogRecordFactory(saved[2])


def _app() -> FastAPI:
    """A bare app with the middleware and two routes that log (sync ones run in a thread)."""
    app = FastAPI()
    app.add_middleware(RequestIdMiddleware)
    log = logging.getLogger("app.test")

    @app.get("/sync")
    def in_a_thread() -> dict[str, str]:
        log.info("sync route")
        return {}

    @app.get("/async")
    async def on_the_loop() -> dict[str, str]:
        log.info("async route")
        return {}

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("boom")

    return app


def test_the_service_answers_with_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz")
    second = client.get("/healthz")
    assert first.status_code == 200
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    for each in ids:
        assert len(each) == 32 and int(each, 16) >= 0
    assert ids[0] != ids[1]
    kept = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a9c21.eu_1"})
    assert kept.headers["x-request-id"] == "edge-7f3a9c21.eu_1"


@pytest.mark.parametrize(
    "incoming",
    [
        "",
        "short",
        "x" * 65,
        "has space-123",
        "-starts-with-a-dash",
        "line\nlevel=error msg=forged",
        'quote"injection-12345',
        "ünicode-12345678",
    ],
)
def test_a_request_id_of_another_shape_is_replaced(incoming: str) -> None:
    chosen = choose_request_id(incoming)
    assert chosen != incoming
    assert len(chosen) == 32 and int(chosen, 16) >= 0


def test_every_line_of_a_request_carries_its_id(
    configured: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(_app())
    for path in ("/sync", "/async"):
        caplog.clear()
        answer = client.get(f"{path}?token=hunter2", headers={"Cookie": "gir_session=hunter3"})
        chosen = answer.headers["x-request-id"]
        route = [r for r in caplog.records if r.name == "app.test"]
        access = [r for r in caplog.records if r.name == "app.access"]
        assert len(route) == 1 and route[0].request_id == chosen  # type: ignore[attr-defined]
        assert len(access) == 1 and access[0].request_id == chosen  # type: ignore[attr-defined]
        line = TextFormatter().format(access[0])
        assert f"request_id={chosen}" in line
        assert f"method=GET path={path} status=200 duration_ms=" in line
        assert "hunter" not in line and "token" not in line and "Cookie" not in line
    caplog.clear()
    logging.getLogger("app.test").info("after")
    assert caplog.records[0].request_id is None  # type: ignore[attr-defined]


def test_a_failing_request_is_logged_as_a_500(
    configured: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(_app(), raise_server_exceptions=False)
    answer = client.get("/boom", headers={"X-Request-ID": "abcdef12-3456"})
    assert answer.status_code == 500
    access = [r for r in caplog.records if r.name == "app.access"]
    line = TextFormatter().format(access[0])
    assert "request_id=abcdef12-3456" in line
    assert "status=500" in line and "error=RuntimeError" in line


def test_text_lines_are_single_lines_of_key_values(configured: Settings) -> None:
    record = logging.makeLogRecord(
        {"name": "app.x", "levelno": 30, "levelname": "WARNING", "msg": 'forged\nlevel=error "x"'}
    )
    record.request_id = "abcdef123456"
    record.task_id = None
    record.path = "/a b"
    line = TextFormatter().format(record)
    assert "\n" not in line
    assert line.startswith("ts=")
    assert ' level=warning logger=app.x msg="forged\\nlevel=error \\"x\\""' in line
    assert line.endswith(' request_id=abcdef123456 path="/a b"')


def test_json_lines_parse(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GIR_LOG_FORMAT", "json")
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogRecordFactory())
    try:
        configure_logging(Settings(_env_file=None))  # type: ignore[call-arg]
        ours = [h for h in root.handlers if h.get_name() == "gir"]
        assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("app.x").exception("failed %d", 3, extra={"submission_id": 7})
        parsed = json.loads(ours[0].format(caplog.records[-1]))
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        logging.setLogRecordFactory(saved[2])
    assert parsed["level"] == "error" and parsed["logger"] == "app.x"
    assert parsed["msg"] == "failed 3" and parsed["submission_id"] == 7
    assert "ValueError: bad" in parsed["exc"]
    assert "request_id" not in parsed


def test_configuring_twice_keeps_one_handler_and_others_alone(
    configured: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(configured)
    root = logging.getLogger()
    assert [h.get_name() for h in root.handlers].count("gir") == 1
    assert caplog.handler in root.handlers  # a handler we did not install stays
    assert root.level == logging.DEBUG


def test_uvicorns_loggers_go_through_the_same_handler(configured: Settings) -> None:
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        assert logger.handlers == [] and logger.propagate
    # uvicorn's access line prints the query string: ours replaces it.
    assert logging.getLogger("uvicorn.access").disabled


def test_log_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIR_LOG_LEVEL", "warning")
    assert Settings(_env_file=None).log_level == "WARNING"  # type: ignore[call-arg]
    monkeypatch.setenv("GIR_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="log_level"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("GIR_LOG_LEVEL", "INFO")
    monkeypatch.setenv("GIR_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("flags", "lines"),
    [
        ({}, True),
        ({"access_log": False}, False),  # bench/api.py asks for silence so
        ({"log_level": "warning"}, False),  # and tests/support/stack.py so
    ],
)
def test_uvicorns_flags_keep_their_meaning_for_our_access_line(
    configured: Settings,
    caplog: pytest.LogCaptureFixture,
    flags: dict[str, object],
    lines: bool,
) -> None:
    logging.getLogger("uvicorn.access").disabled = False  # as in a process uvicorn starts
    uvicorn.Config("app.main:app", **flags)  # type: ignore[arg-type]  # sets up its loggers
    configure_logging(configured)  # as importing app.main does next
    assert logging.getLogger("uvicorn.access").disabled
    caplog.clear()
    TestClient(_app()).get("/async")
    assert any(r.name == "app.access" for r in caplog.records) is lines
    assert any(r.name == "app.test" for r in caplog.records)  # the app's own lines stay
