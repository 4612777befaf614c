"""One logging configuration for the API, the worker and uvicorn: structured lines on stderr.

Each record is one line — ``key=value`` text by default, a JSON object with
``GIR_LOG_FORMAT=json`` — at ``GIR_LOG_LEVEL``. Values that could hold a line break or a quote
(a request path, an exception) are JSON-quoted, so nobody can forge a log line by choosing a URL.
A request's lines carry its ``request_id`` (see :mod:`app.requestlog`), a job's its ``task_id``
(set by the worker around each task): both come from context variables, copied onto every record
when it is made, so code that logs needs no logger of its own kind.

The API calls :func:`configure_logging` when ``app.main`` is imported (uvicorn has configured its
own loggers by then; this sends them through the same handler, and drops uvicorn's access log,
which would print query strings: ours in :mod:`app.requestlog` prints the path only, and obeys
uvicorn's ``--no-access-log`` and ``--log-level``). The worker calls it from Celery's
``setup_logging`` signal, so Celery leaves the root logger alone.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from app.settings import Settings

request_id: ContextVar[str | None] = ContextVar("gir_request_id", default=None)
"""The id of the HTTP request being served (None outside one)."""
task_id: ContextVar[str | None] = ContextVar("gir_task_id", default=None)
"""The id of the Celery task being run (None outside one)."""

# What every LogRecord has (and uvicorn's copy of its message with terminal colours); any other
# attribute came from ``extra=`` and is printed as a field.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_CONTEXT = ("request_id", "task_id")
_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:+@")
UVICORN = ("uvicorn", "uvicorn.error")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record as ordered fields: time, level, logger, message, context, extras, error."""
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for name in _CONTEXT:
        value = getattr(record, name, None)
        if value is not None:
            fields[name] = value
    for name, value in vars(record).items():
        if name not in _STANDARD and name not in _CONTEXT and not name.startswith("_"):
            fields[name] = value
    if record.exc_info:
        fields["exc"] = logging.Formatter().formatException(record.exc_info)
    if record.stack_info:
        fields["stack"] = record.stack_info
    return fields


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and set(text) <= _BARE:
        return text
    return json.dumps(text, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``ts=… level=info logger=app.x msg="…" request_id=…`` — grep- and eye-friendly."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_text_value(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str, ensure_ascii=False)


_plain_record = logging.getLogRecordFactory()


def _record_with_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every record, from any logger and to any handler, carries the current ids."""
    record = _plain_record(*args, **kwargs)
    record.request_id = request_id.get()
    record.task_id = task_id.get()
    return record


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time (a test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        del value


def handler(settings: Settings) -> logging.Handler:
    """The one handler: stderr in the configured format."""
    made = _StderrHandler()
    made.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    made.set_name("gir")
    return made


def configure_logging(settings: Settings) -> None:
    """Route every logger through :func:`handler` at ``GIR_LOG_LEVEL``; safe to call again.

    Only a handler this function installed is replaced: one a test framework or an embedding
    program put on the root logger stays.
    """
    logging.setLogRecordFactory(_record_with_context)
    root = logging.getLogger()
    for old in [each for each in root.handlers if each.get_name() == "gir"]:
        root.removeHandler(old)
    root.addHandler(handler(settings))
    root.setLevel(settings.log_level)
    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    _replace_uvicorn_access_log()


def _replace_uvicorn_access_log() -> None:
    """Silence uvicorn's access line (ours replaces it) but keep the meaning of its flags:
    ``--no-access-log`` (no handler, not propagating) and ``--log-level warning`` (its level)
    quiet ours too, so a benchmark that asked uvicorn for silence gets it."""
    uvicorn_access = logging.getLogger("uvicorn.access")
    if uvicorn_access.disabled:  # done by an earlier call
        return
    ours = logging.getLogger("app.access")
    ours.disabled = not uvicorn_access.propagate and not uvicorn_access.handlers
    ours.setLevel(uvicorn_access.level)
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
