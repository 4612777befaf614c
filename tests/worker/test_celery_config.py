"""The worker's Celery app takes its limits and logging from the shared configuration."""

from __future__ import annotations

import pytest

from app.queue import SCORE_TASK, VALIDATE_TASK, build_celery
from app.settings import Settings
from worker.tasks import register


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
