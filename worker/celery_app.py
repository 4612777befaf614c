"""The worker's Celery app: ``celery -A worker.celery_app worker -Q validate,score``.

Broker, queues, late acks, prefetch 1, time limits and the reconciler's beat schedule come from
:mod:`app.queue` (the API sends by task name with the same app); this module registers the
tasks behind those names, logs through :mod:`app.logs` like the API (each job's lines carry its
task id) and runs the sandbox self-check when the worker is ready. The embedded setup (SQLite,
filesystem broker) runs one process: ``… worker -Q validate,score --pool=solo -B``.
"""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging, task_postrun, task_prerun, worker_ready

from app import logs
from app.queue import get_celery
from app.settings import get_settings
from worker.jobs import register
from worker.selfcheck import report_sandbox

celery = get_celery()
register(celery)
if get_settings().broker_url.startswith("filesystem"):
    # Embedded beat keeps its schedule beside the broker's folder, not in the working directory.
    celery.conf.beat_schedule_filename = str(get_settings().broker_dir / "beat-schedule")


def configure_logging(**_: Any) -> None:
    """The API's logging rather than Celery's: a receiver of this signal is what stops Celery
    from replacing the root logger's handlers (``--loglevel`` yields to ``GIR_LOG_LEVEL``)."""
    logs.configure_logging(get_settings())


def enter_task(task_id: str | None = None, **_: Any) -> None:
    """Every line a job logs carries its task id (Celery runs a job in the thread it signals
    from, so the context variable is the job's)."""
    logs.task_id.set(task_id)


def leave_task(**_: Any) -> None:
    """Lines between jobs carry no task id."""
    logs.task_id.set(None)


worker_ready.connect(report_sandbox, weak=False)
setup_logging.connect(configure_logging, weak=False)
task_prerun.connect(enter_task, weak=False)
task_postrun.connect(leave_task, weak=False)
