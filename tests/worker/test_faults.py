"""Nothing lost: a worker killed mid-scoring, a flushed broker, a model that keeps crashing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.queue import enqueue_scoring, enqueue_validation
from app.settings import get_settings
from app.storage import get_storage
from app.submissions.lifecycle import Requeue, requeue_stale
from app.submissions.models import RealWorldResultRow, Summary, TaskResultRow
from app.submissions.summary import summary_values
from gir_core.scoring import TaskResult, score
from tests.worker.conftest import (
    Bench,
    WorkerProcess,
    add_submission,
    finished,
    onnx_model,
    reread,
    slow_model,
    wait_for,
)
from worker.jobs import score_submission
from worker.plan import scoring_plan
from worker.selfcheck import identity_model

Row = tuple[int, list[float], list[float], float]


def _results(db: Session, submission_id: int) -> dict[int, Row]:
    rows = db.scalars(select(TaskResultRow).filter_by(submission_id=submission_id))
    return {row.version_task_id: (row.id, row.psnr, row.ssim, row.seconds) for row in rows}


def test_killed_worker_resumes_and_ends_like_an_uninterrupted_run(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    slow = slow_model(tmp_path)  # exactly the identity, a fraction of a second per image
    submission_id = add_submission(db, "slow identity", slow, "torchscript", validated=True)
    enqueue_scoring(submission_id)
    first = start_worker()
    wait_for(lambda: len(_results(db, submission_id)) >= 1, [first])
    first.kill()  # kill -9 mid-scoring: no cleanup, no ack
    before = _results(db, submission_id)
    killed = reread(db, submission_id)
    assert (killed.status, killed.attempts) == ("running", 1) and 1 <= len(before) < 4

    # The reconciler's pass once the heartbeat is older than GIR_STALE_AFTER_S.
    later = utcnow() + timedelta(seconds=get_settings().stale_after_s + 1)
    assert requeue_stale(session=db, now=later) == [Requeue(submission_id, "score")]
    second = start_worker()
    wait_for(finished(db, submission_id), [second])

    done = reread(db, submission_id)
    assert done.status == "scored", done.error_message
    assert (done.attempts, done.progress_done) == (1, 4)  # interrupted after progress: uncharged
    after = _results(db, submission_id)
    assert {task_id: after[task_id] for task_id in before} == before  # kept, not recomputed
    count = select(func.count()).select_from(TaskResultRow).filter_by(submission_id=submission_id)
    assert len(after) == db.scalar(count) == 4
    real = select(RealWorldResultRow.mean_niqe).filter_by(submission_id=submission_id)
    niqe = db.scalars(real).all()
    assert len(niqe) == 1 and niqe[0] is not None

    # An uninterrupted run of the same computation (the identity) gives the same numbers.
    plan = scoring_plan(session=db, version_id=bench.version_id, storage=get_storage())
    reference = {
        r.key: r for r in score(identity_model(), plan.benchmark) if isinstance(r, TaskResult)
    }
    for key, task_id in plan.task_ids.items():
        assert after[task_id][1:3] == (list(reference[key].psnr), list(reference[key].ssim))
    expected = summary_values(
        plan.lines,
        psnr={key: list(r.psnr) for key, r in reference.items()},
        ssim={key: list(r.ssim) for key, r in reference.items()},
        niqe=[niqe[0]],
        seed=submission_id,
    )
    summary = db.get(Summary, submission_id)
    assert summary is not None
    assert {key: getattr(summary, key) for key in expected} == expected
    log = get_storage().local_path(done.log_key).read_text()
    # The killed run could not save its log; the resumed one, still attempt 1, did.
    assert re.findall(r"^== (.+) ==$", log, re.MULTILINE)[-1] == "scoring, attempt 1"


def test_flushed_broker_is_recovered_by_the_reconciler(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess]
) -> None:
    submission_id = add_submission(db, "identity", onnx_model("identity"))
    enqueue_validation(submission_id)
    broker = redis.Redis.from_url(get_settings().broker_url)
    broker.flushdb()  # the message is lost, as in a broker restart without persistence
    assert broker.dbsize() == 0
    worker = start_worker(beat=True)  # beat runs the reconciler every GIR_RECONCILE_EVERY_S
    wait_for(finished(db, submission_id), [worker])
    done = reread(db, submission_id)
    assert done.status == "scored", done.error_message
    assert f"submission {submission_id} had no sign of life -> validate" in worker.output()


def test_repeated_crashes_end_failed_with_a_sentence(db: Session, bench: Bench) -> None:
    limit = get_settings().max_attempts
    # Died while running on its last allowed attempt: the reconciler gives up on it.
    running = add_submission(db, "crasher", b"x" * 10, validated=True)
    # Requeued after its last allowed attempt died: the next start gives up on it.
    requeued = add_submission(db, "crasher 2", b"y" * 10, validated=True)
    states = ((running, "running", utcnow() - timedelta(hours=1)), (requeued, "queued", utcnow()))
    rows = [(reread(db, submission_id), status, seen) for submission_id, status, seen in states]
    for row, status, seen in rows:
        row.status, row.attempts, row.heartbeat_at = status, limit, seen
    db.commit()

    assert requeue_stale(session=db) == [Requeue(running, "failed")]
    score_submission(requeued)  # in-process: its claim refuses a fourth start
    for submission_id in (running, requeued):
        row = reread(db, submission_id)
        assert (row.status, row.error_code) == ("failed", "crashed")
        assert row.error_message.startswith(f"crashed {limit} times: scoring stopped")
        assert row.finished_at is not None
