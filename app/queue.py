"""The Celery application shared by the API (which only sends) and the worker (which runs).

Living in ``app`` keeps imports pointing one way (``worker`` imports this; ``app`` never imports
``worker``): the API enqueues by task *name*. Queues: ``validate`` (CPU: contract checks) and
``score`` (GPU workers). Tasks are idempotent, so they are acknowledged late and redelivered if a
worker dies; each worker takes one message at a time (long GPU jobs).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from celery import Celery
from kombu import Queue

from app.settings import Settings, get_settings

VALIDATE = "validate"
SCORE = "score"
VALIDATE_TASK = "gir.validate_submission"
SCORE_TASK = "gir.score_submission"
RECONCILE_TASK = "gir.reconcile"
TRAIN_LINES_TASK = "gir.train_lines"
SYNTHESIZE_TASK = "gir.synthesize"
VALIDATE_GRACE_S = 60
"""Between the validation job's soft limit (an exception it records) and its hard one (kill)."""


def _filesystem_options(settings: Settings) -> dict[str, object]:
    """The embedded broker: messages are files in a folder (no server to run).

    Chosen over kombu's SQLAlchemy transport because it needs no extra tables or locking on the
    SQLite file the service already writes; lost messages are covered by the reconciler.
    """
    root = Path(settings.broker_dir)
    for sub in ("out", "processed", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    folder = str(root / "out")
    return {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "store_processed": False,
    }


def build_celery(settings: Settings) -> Celery:
    """A Celery app for ``settings``'s broker with GIR Bench's queue policy and time limits."""
    celery = Celery("gir", broker=settings.broker_url)
    transport_options: dict[str, object] = {"visibility_timeout": settings.broker_visibility_s}
    if settings.broker_url.startswith("filesystem"):
        transport_options = _filesystem_options(settings)
    celery.conf.update(
        task_queues=(
            Queue(VALIDATE, routing_key=VALIDATE),
            Queue(SCORE, routing_key=SCORE),
        ),
        task_default_queue=VALIDATE,
        task_routes={SCORE_TASK: {"queue": SCORE}, TRAIN_LINES_TASK: {"queue": SCORE}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=int(settings.sandbox_total_s) + settings.task_soft_margin_s,
        task_time_limit=int(settings.sandbox_total_s) + settings.task_hard_margin_s,
        # Per-task limits live here too, so the worker registers tasks without knowing them.
        task_annotations={
            VALIDATE_TASK: {
                "soft_time_limit": settings.validate_limit_s,
                "time_limit": settings.validate_limit_s + VALIDATE_GRACE_S,
            }
        },
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        beat_schedule={
            "reconcile": {"task": RECONCILE_TASK, "schedule": settings.reconcile_every_s},
        },
    )
    return celery


@lru_cache
def get_celery() -> Celery:
    """The process-wide Celery app for the configured broker."""
    return build_celery(get_settings())


def enqueue_validation(submission_id: int) -> None:
    """Ask a CPU worker to check a submission's contract (then it queues scoring)."""
    get_celery().send_task(VALIDATE_TASK, args=[submission_id], queue=VALIDATE)


def enqueue_scoring(submission_id: int) -> None:
    """Ask a GPU worker to score a validated submission."""
    get_celery().send_task(SCORE_TASK, args=[submission_id], queue=SCORE)
