"""Validation and scoring through a real Celery worker process on PostgreSQL and Redis."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.queue import enqueue_validation
from app.storage import get_storage
from app.submissions.examples import GAP, example_key
from app.submissions.lifecycle import claim_scoring, store_result
from app.submissions.models import RealWorldResultRow, Submission, Summary, TaskResultRow
from app.submissions.summary import summary_values
from gir_core import generality
from gir_core.images import load_image, read_png_u8
from gir_core.metrics import niqe
from gir_core.scoring import TaskResult
from tests.worker.conftest import (
    Bench,
    WorkerProcess,
    add_submission,
    onnx_model,
    reread,
    wait_for,
)
from worker.plan import ScoringPlan, scoring_plan
from worker.selfcheck import sandbox_protections

TASK_NAMES = ("validate_submission", "score_submission", "reconcile", "train_lines", "synthesize")


def test_identity_is_scored_and_a_hostile_model_fails_with_its_sentence(
    db: Session,
    bench: Bench,
    demo_pngs: tuple[list[Path], list[Path]],
    start_worker: Callable[..., WorkerProcess],
) -> None:
    good = add_submission(db, "identity", onnx_model("identity"))
    bad = add_submission(db, "times 255", onnx_model("scaled"))
    for submission_id in (good, bad):
        enqueue_validation(submission_id)
    worker = start_worker()
    finished = ("scored", "failed")
    wait_for(lambda: {reread(db, i).status for i in (good, bad)} <= set(finished), [worker])

    failed = reread(db, bad)
    assert (failed.status, failed.error_code) == ("failed", "contract")
    assert "expected [0, 1] (did the model scale to 0-255?)" in failed.error_message
    assert get_storage().exists(failed.log_key)

    scored = reread(db, good)
    assert scored.status == "scored", scored.error_message
    assert (scored.progress_done, scored.progress_total, scored.current_task) == (4, 4, "")
    assert scored.parameters == 0 and scored.seconds_per_mp is not None
    assert scored.attempts == 1 and scored.worker_host and scored.benchmark_version_id
    assert scored.started_at is not None and scored.finished_at is not None
    log = get_storage().local_path(scored.log_key).read_text()
    assert "== contract check ==" in log and "== scoring, attempt 1 ==" in log

    plan = scoring_plan(session=db, version_id=bench.version_id, storage=get_storage())
    rows = _task_rows(db, plan, good)
    for key, expected in bench.identity_psnr.items():
        assert rows[key].psnr == expected  # the identity's output is the degraded input
        assert rows[key].mean_psnr == math.fsum(expected) / 2
        assert len(rows[key].ssim) == 2 and rows[key].seconds > 0
    real = db.scalars(select(RealWorldResultRow).filter_by(submission_id=good)).one()
    assert real.image_set_id == bench.real_set_id
    assert real.niqe == [float(niqe(load_image(demo_pngs[1][0], convert_grey=True)))]
    _check_summary(db, plan, rows, good, real.mean_niqe)
    _check_examples(good)
    _check_worker_output(worker.output())


def _check_examples(submission_id: int) -> None:
    """One side-by-side PNG per public task (the identity's output equals its input); none for
    the hidden task."""
    storage = get_storage()
    assert not storage.exists(example_key(submission_id, "h1"))
    for key in ("1", "2", "3"):
        sheet = read_png_u8(storage.local_path(example_key(submission_id, key)))
        assert sheet.shape == (48, 3 * 48 + 2 * GAP, 3)  # 48 px GT: the whole first image
        assert (sheet[:, :48] == sheet[:, 48 + GAP : 96 + GAP]).all()
        assert (sheet[:, :48] != sheet[:, -48:]).any()  # the input is degraded, the GT is not


def _task_rows(db: Session, plan: ScoringPlan, submission_id: int) -> dict[str, TaskResultRow]:
    stored = db.scalars(select(TaskResultRow).filter_by(submission_id=submission_id))
    by_id = {row.version_task_id: row for row in stored}
    return {key: by_id[task_id] for key, task_id in plan.task_ids.items()}


def _check_summary(
    db: Session,
    plan: ScoringPlan,
    rows: dict[str, TaskResultRow],
    submission_id: int,
    mean_niqe: float | None,
) -> None:
    """The summary row holds gir_core.generality's numbers on the stored per-task values."""
    summary = db.get(Summary, submission_id)
    assert summary is not None and summary.benchmark_version_id == plan.version_id
    means = {key: row.mean_psnr for key, row in rows.items()}
    ssims = {key: row.mean_ssim for key, row in rows.items()}
    expected = generality.summarize(plan.lines, means, ssims)
    assert expected.representative is not None and expected.hidden is not None
    assert (summary.ar, summary.er) == (expected.ar, expected.er) == (0.75, 0.25)
    assert summary.ar_representative == expected.representative.ar == 2 / 3
    assert summary.ar_hidden == expected.hidden.ar == 1.0
    assert (summary.mean_psnr, summary.psnr_hidden) == (expected.mean_psnr, means["h1"])
    ci = generality.bootstrap_ci(
        plan.lines, {k: r.psnr for k, r in rows.items()}, seed=submission_id
    )
    assert (summary.ar_low, summary.ar_high) == (ci.ar.low, ci.ar.high)
    assert (summary.er_low, summary.er_high) == (ci.er.low, ci.er.high)
    assert (summary.psnr_low, summary.psnr_high) == (ci.mean_psnr.low, ci.mean_psnr.high)
    public = [line for line in plan.lines if line.kind == "representative"]
    profile = generality.degradation_profile(
        public, {line.task_id: means[line.task_id] for line in public}
    )
    assert set(summary.bias) == set(profile)
    for name, p in profile.items():
        stored = summary.bias[name]
        assert (stored["single_score"], stored["median_score"]) == (p.single_score, p.median_score)
        assert (stored["pass_rate"], stored["n_mixtures"]) == (p.pass_rate, p.n_mixtures)
        assert (stored["n_broken"], stored["mean_all_tasks"]) == (p.n_broken, p.mean_score)
    assert "rain" not in summary.bias  # only the hidden task has rain: its makeup stays secret
    assert summary.mean_niqe == mean_niqe is not None


def _check_worker_output(output: str) -> None:
    """Every task name registered; every missing sandbox protection on its own WARNING line."""
    for name in TASK_NAMES:
        assert f". gir.{name}" in output
    assert "sandbox self-check on" in output
    lines = output.splitlines()
    for name in sandbox_protections()[1]:
        line = next(x for x in lines if "SANDBOX PROTECTION MISSING on" in x and name in x)
        assert " level=warning " in line  # app.logs' key=value lines


def test_summary_bias_leaves_out_broken_lines_and_hidden_tasks() -> None:
    lines = [
        generality.TaskLine("1", 20.0, 22.0, "representative", ("noise",)),
        generality.TaskLine("2", 25.0, 25.0, "representative", ("blur", "noise")),  # broken
        generality.TaskLine("3", 30.0, 34.0, "representative", ("blur",)),
        generality.TaskLine("h1", 10.0, 12.0, "hidden", ("blur", "rain")),
    ]
    psnr = {"1": [21.0, 21.0], "2": [26.0, 26.0], "3": [33.0, 33.0], "h1": [13.0, 13.0]}
    values = summary_values(lines, psnr=psnr, ssim=psnr, niqe=[], seed=1)
    common = {"n_single": 1, "median_score": None, "pass_rate": None, "n_mixtures": 0}
    assert values["bias"] == {
        "blur": {
            **common,
            "single_score": 0.75,
            "n_broken": 1,
            "mean_all_tasks": 0.75,
            "n_tasks": 1,
        },
        "noise": {
            **common,
            "single_score": 0.5,
            "n_broken": 1,
            "mean_all_tasks": 0.5,
            "n_tasks": 1,
        },
    }


def test_duplicates_are_harmless_and_cancellation_stops_writes(db: Session, bench: Bench) -> None:
    """A duplicate message does not start a second run, a redelivered result rewrites its row
    in place, and once the owner cancels nothing more lands."""
    submission_id = add_submission(db, "identity", onnx_model("identity"), validated=True)
    assert claim_scoring(session=db, submission_id=submission_id, host="here") is not None
    # A duplicate message while this worker's heartbeat is fresh: not a second run.
    assert claim_scoring(session=db, submission_id=submission_id, host="there") is None
    assert reread(db, submission_id).attempts == 1
    plan = scoring_plan(session=db, version_id=bench.version_id, storage=get_storage())

    def store(key: str, done: int) -> bool:
        result = TaskResult(key, "representative", 1, (20.0, 22.0), (0.5, 0.7), 0.1)
        return store_result(
            session=db, submission_id=submission_id, target_id=plan.task_ids[key],
            result=result, progress=(done, 4, ""),
        )  # fmt: skip

    assert store("1", 1) and store("1", 1)
    rows = db.scalars(select(TaskResultRow).filter_by(submission_id=submission_id)).all()
    assert [(row.id, row.psnr, row.mean_psnr) for row in rows] == [(1, [20.0, 22.0], 21.0)]
    assert reread(db, submission_id).progress_done == 1

    db.get(Submission, submission_id).status = "cancelled"  # type: ignore[union-attr]
    db.commit()
    assert not store("2", 2)
    assert len(db.scalars(select(TaskResultRow).filter_by(submission_id=submission_id)).all()) == 1
    cancelled = reread(db, submission_id)
    assert (cancelled.status, cancelled.progress_done) == ("cancelled", 1)
