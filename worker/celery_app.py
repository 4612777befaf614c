"""The worker's Celery app: ``celery -A worker.celery_app worker -Q validate,score``.

Broker, queues, late acks, prefetch 1, time limits and the reconciler's beat schedule come from
:mod:`app.queue` (the API sends by task name with the same app); this module registers the
tasks behind those names and runs the sandbox self-check when the worker is ready. The embedded
setup (SQLite, filesystem broker) runs one process: ``… worker -Q validate,score --pool=solo -B``.
"""

from __future__ import annotations

from celery.signals import worker_ready

from app.queue import get_celery
from app.settings import get_settings
from worker.jobs import register
from worker.selfcheck import report_sandbox

celery = get_celery()
register(celery)
if get_settings().broker_url.startswith("filesystem"):
    # Embedded beat keeps its schedule beside the broker's folder, not in the working directory.
    celery.conf.beat_schedule_filename = str(get_settings().broker_dir / "beat-schedule")
worker_ready.connect(report_sandbox, weak=False)
