"""The Celery tasks: ids in, a service or :mod:`gir_core` call inside, registered by name.

The names come from :mod:`app.queue`, which the API uses to send jobs without importing the
worker. Validation, scoring, synthesis and the reconciler are idempotent (upserts, guarded state
changes, a content-addressed cache), so they are acknowledged late and redelivered if a worker
dies; training lines checkpoints into storage, so a redelivered training job resumes from its
last checkpoint instead of starting again.
"""

from __future__ import annotations

import logging

from celery import Celery

from app.benchmarks.versions import get_version
from app.db import new_session
from app.queue import (
    RECONCILE_TASK,
    SCORE_TASK,
    SYNTHESIZE_TASK,
    TRAIN_LINES_TASK,
    VALIDATE_TASK,
)
from app.settings import get_settings
from app.storage import get_storage
from gir_core.convention import AUTHORS, MetricConvention
from worker import pipeline
from worker.plan import prepare_inputs, scoring_plan
from worker.reconcile import reconcile as reconcile_pass

log = logging.getLogger(__name__)


def validate_submission(submission_id: int) -> None:
    """Check a submission's model contract in the sandbox, then queue its scoring."""
    pipeline.validate(submission_id)


def score_submission(submission_id: int) -> None:
    """Score a validated submission on the benchmark, resuming after stored tasks."""
    pipeline.score_submission(submission_id)


def reconcile() -> None:
    """Re-enqueue submissions without a recent heartbeat (lost message, dead worker)."""
    reconcile_pass()


def train_lines(task_key: str, profile: str, convention: str = AUTHORS.text) -> None:
    """Train and record the acceptance and excellence lines of one pool task, measured with
    ``convention`` (the metric convention of the version they are for; the authors' default)."""
    # Lazy: training pulls in torch, which scoring workers never need in their own process.
    from app.benchmarks.lines import train_lines as train_task_lines

    with new_session() as session:
        trained = train_task_lines(
            session=session,
            task_key=task_key,
            profile=profile,
            device=_torch_device(),
            convention=MetricConvention.parse(convention),
        )
    log.info("lines of task %s: acceptance %.2f dB, excellence %.2f dB", trained.task_key,
             trained.acceptance_psnr, trained.excellence_psnr)  # fmt: skip


def synthesize(version: str) -> None:
    """Make every degraded input of a benchmark version ahead of scoring (shared cache)."""
    with new_session() as session:
        found = get_version(session=session, name=version)
        plan = scoring_plan(session=session, version_id=found.id, storage=get_storage())
    made = prepare_inputs(plan)
    log.info("version %s: %d degraded inputs made, the rest were cached", version, made)


def _torch_device() -> str:
    """``GIR_DEVICE`` as a torch device (``auto``: the GPU when there is one)."""
    device = get_settings().device
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def register(celery: Celery) -> None:
    """Register every task under its :mod:`app.queue` name."""
    celery.task(name=VALIDATE_TASK, acks_late=True)(validate_submission)  # limits: app.queue
    celery.task(name=SCORE_TASK, acks_late=True)(score_submission)
    celery.task(name=RECONCILE_TASK, acks_late=True)(reconcile)
    celery.task(name=SYNTHESIZE_TASK, acks_late=True)(synthesize)
    celery.task(name=TRAIN_LINES_TASK, acks_late=True)(train_lines)
