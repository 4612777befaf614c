"""The worker's Celery app takes its limits and logging from the shared configuration."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from app.logs import JsonFormatter
from app.queue import SCORE_TASK, VALIDATE_TASK, build_celery, get_celery
from app.settings import Settings, get_settings
from worker.jobs import register


def test_the_validation_limits_reach_the_registered_task(monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker registers tasks without knowing their limits: the annotations of app.queue set
    # them, and nothing in worker/ overrides them.
    monkeypatch.setenv("GIR_VALIDATE_LIMIT_S", "120")
    monkeypatch.setenv("GIR_BROKER_URL", "memory://")
    celery = build_celery(Settings(_env_file=None))  # type: ignore[call-arg]
    register(celery)
    validate = celery.tasks[VALIDATE_TASK]
    assert (validate.soft_time_limit, validate.time_limit) == (120, 180)
    # Scoring keeps the app-wide limits: the sandbox budget plus the margins.
    score = celery.tasks[SCORE_TASK]
    assert (score.soft_time_limit, score.time_limit) == (6 * 3600 + 600, 6 * 3600 + 900)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The process's logging, and the settings the worker module cached, put back afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogRecordFactory())
    yield
    root.setLevel(saved[0])
    root.handlers[:] = saved[1]
    logging.setLogRecordFactory(saved[2])
    get_settings.cache_clear()
    get_celery.cache_clear()


def test_the_worker_logs_through_app_logs_with_task_ids(
    monkeypatch: pytest.MonkeyPatch, restored_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GIR_BROKER_URL", "memory://")
    monkeypatch.setenv("GIR_LOG_FORMAT", "json")
    get_settings.cache_clear()  # the worker reads the process's settings
    from worker import celery_app  # connects the signals, as `celery -A worker.celery_app` does

    celery = build_celery(Settings(_env_file=None))  # type: ignore[call-arg]
    root = logging.getLogger()
    before = [h for h in root.handlers if h.get_name() != "gir"]
    celery.log.setup_logging_subsystem(loglevel="DEBUG")  # what a worker does at start
    ours = [h for h in root.handlers if h.get_name() == "gir"]
    assert len(ours) == 1 and isinstance(ours[0].formatter, JsonFormatter)
    # Celery added no handler of its own: our signal receiver took over.
    assert [h for h in root.handlers if h.get_name() != "gir"] == before
    assert root.level == logging.INFO  # GIR_LOG_LEVEL's default wins over --loglevel

    @celery.task(name="test.logs")  # type: ignore[untyped-decorator]
    def logs_a_line() -> None:
        logging.getLogger("worker.test").info("inside the job")

    caplog.clear()
    result = logs_a_line.apply()
    inside = [r for r in caplog.records if r.getMessage() == "inside the job"]
    assert len(inside) == 1
    line = json.loads(ours[0].format(inside[0]))
    assert line["task_id"] == result.id and len(result.id) == 36
    logging.getLogger("worker.test").info("between jobs")
    assert caplog.records[-1].task_id is None  # type: ignore[attr-defined]
    assert celery_app.celery.conf.task_annotations[VALIDATE_TASK]["soft_time_limit"] == 600
