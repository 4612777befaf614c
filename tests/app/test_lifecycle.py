"""The submission lifecycle against its transition table, on the real database.

Every function of :mod:`app.submissions.lifecycle` that changes a status is run here on a real
row, and each change it makes must be one :data:`~app.submissions.status.TRANSITIONS` lists;
a move the table does not list is refused before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.benchmarks.models import BenchmarkVersion, TaskDef, VersionTask
from app.db import utcnow
from app.errors import Conflict
from app.submissions import lifecycle
from app.submissions.models import Submission, Summary
from app.submissions.status import (
    ACTIVE,
    FINISHED,
    RESCORABLE,
    STARTED,
    TRANSITIONS,
    Status,
    TransitionError,
    check_transition,
    sources,
)
from gir_core.generality import TaskLine
from gir_core.scoring import TaskResult
from gir_core.tasks import Task
from tests.support.factories import Rows

SPEC = "noise(sigma=20)"


class Row:
    """One submission on a one-task version, and every status it went through."""

    def __init__(self, session: Session, *, validated: bool = False) -> None:
        self.session = session
        suffix = uuid.uuid4().hex[:8]
        rows = Rows(session)
        owner = rows.user(f"life-{suffix}")
        task = TaskDef(key=f"7-{suffix}", spec=SPEC, task_hash=suffix * 2, kind="representative")
        task.order = 1
        self.version = BenchmarkVersion(name=f"life-{suffix}", seed=1)
        self.task = VersionTask(task=task, position=0, acceptance_psnr=25.0, excellence_psnr=27.0)
        self.version.tasks = [self.task]
        session.add(self.version)
        session.flush()
        self.submission = rows.submission(
            owner, name="LifeNet", size_bytes=10, benchmark_version_id=self.version.id,
            seconds_per_mp=0.1 if validated else None, parameters=1 if validated else None,
        )  # fmt: skip
        session.commit()
        self.id = self.submission.id
        self.seen = [self.status()]

    def status(self) -> Status:
        self.session.flush()  # what a function changed but left to its caller to commit
        self.session.expire_all()
        found = self.session.get(Submission, self.id)
        assert found is not None
        return found.status

    def step(self, change: Callable[..., Any], expected: Status, **arguments: Any) -> Any:
        """Run one lifecycle function; its move must be the expected one, and in the table."""
        before = self.status()
        outcome = change(session=self.session, **arguments)
        after = self.status()
        assert after == expected, (change.__name__, before, after)
        assert after in TRANSITIONS[before], (change.__name__, before, after)
        self.seen.append(after)
        return outcome

    def result(self, psnr: float) -> TaskResult:
        order = Task.parse(SPEC).order
        return TaskResult(self.task.task.key, "representative", order, (psnr,), (0.8,), 0.5)


def test_the_table_covers_every_status_and_the_named_sets_follow_it() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert TRANSITIONS[Status.CANCELLED] == frozenset()  # the owner's decision stays
    assert set(sources(Status.CANCELLED)) == set(ACTIVE)  # only active work can be cancelled
    assert set(sources(Status.SCORED)) == {Status.RUNNING}  # only a run can score
    assert set(STARTED) <= set(ACTIVE) and not set(ACTIVE) & set(FINISHED)
    assert set(ACTIVE) | set(FINISHED) == set(Status)
    for status in RESCORABLE:
        assert Status.QUEUED in TRANSITIONS[status]
    for status in FINISHED:  # no worker moves a finished submission anywhere but the queue
        assert TRANSITIONS[status] <= {Status.QUEUED}


def test_a_move_outside_the_table_is_refused() -> None:
    check_transition(Status.RUNNING, Status.SCORED)
    check_transition("queued", Status.VALIDATING)  # as a row read from the column holds it
    for current, new in [
        (Status.CANCELLED, Status.QUEUED),
        (Status.SCORED, Status.RUNNING),
        (Status.VALIDATING, Status.SCORED),
        (Status.QUEUED, Status.SCORED),
        (Status.FAILED, Status.CANCELLED),
    ]:
        with pytest.raises(TransitionError, match=f"a {current} submission cannot become {new}"):
            check_transition(current, new)


def test_a_scoring_run_moves_only_along_the_table(session: Session) -> None:
    row = Row(session)
    assert row.status() == Status.QUEUED  # the column's default is the enum
    host = "worker-1"
    assert row.step(lifecycle.claim_validation, Status.VALIDATING, submission_id=row.id, host=host)
    assert row.step(lifecycle.touch, Status.VALIDATING, submission_id=row.id)
    assert row.step(
        lifecycle.record_validation, Status.QUEUED, submission_id=row.id, parameters=3,
        seconds_per_mp=0.5, log=lifecycle.log_key(row.id),
    )  # fmt: skip
    assert row.step(lifecycle.claim_scoring, Status.RUNNING, submission_id=row.id, host=host)
    assert row.step(
        lifecycle.set_progress, Status.RUNNING, submission_id=row.id, done=0, total=1,
        current=row.task.task.key,
    )  # fmt: skip
    assert row.step(
        lifecycle.store_result, Status.RUNNING, submission_id=row.id, target_id=row.task.id,
        result=row.result(26.0), progress=(1, 1, ""),
    )  # fmt: skip
    line = TaskLine(row.task.task.key, 25.0, 27.0, "representative", Task.parse(SPEC).names)
    assert row.step(
        lifecycle.finish_scoring, Status.SCORED, submission_id=row.id, version_id=row.version.id,
        lines=[line], task_ids={row.task.task.key: row.task.id},
    )  # fmt: skip
    summary = session.get(Summary, row.id)
    assert summary is not None and summary.ar == 1.0 and summary.er == 0.0
    # Finished: the worker's writes are refused (False), not applied.
    assert not lifecycle.touch(session=session, submission_id=row.id)
    assert not lifecycle.fail_submission(
        session=session, submission_id=row.id, code="x", message=""
    )
    assert row.status() == Status.SCORED
    submission = session.get(Submission, row.id, with_for_update=True)
    row.step(lifecycle.requeue_for_rescore, Status.QUEUED, submission=submission)
    session.commit()
    assert session.get(Summary, row.id) is None
    submission = session.get(Submission, row.id, with_for_update=True)
    row.step(lifecycle.cancel, Status.CANCELLED, submission=submission)
    assert row.seen == [
        Status.QUEUED, Status.VALIDATING, Status.VALIDATING, Status.QUEUED, Status.RUNNING,
        Status.RUNNING, Status.RUNNING, Status.SCORED, Status.QUEUED, Status.CANCELLED,
    ]  # fmt: skip


def test_failures_storage_waits_and_the_reconciler_move_along_the_table(
    session: Session,
) -> None:
    row = Row(session)
    row.step(lifecycle.claim_validation, Status.VALIDATING, submission_id=row.id, host="w")
    assert row.step(
        lifecycle.wait_for_storage, Status.QUEUED, submission_id=row.id, reason="unreachable"
    )
    assert row.step(
        lifecycle.fail_submission, Status.FAILED, submission_id=row.id, code="contract",
        message="the output shape differs",
    )  # fmt: skip
    submission = session.get(Submission, row.id, with_for_update=True)
    row.step(lifecycle.requeue_for_rescore, Status.QUEUED, submission=submission)
    session.commit()

    stale = Row(session, validated=True)
    stale.step(lifecycle.claim_scoring, Status.RUNNING, submission_id=stale.id, host="w")
    later = utcnow() + timedelta(days=1)
    actions = stale.step(lifecycle.requeue_stale, Status.QUEUED, now=later)
    assert lifecycle.Requeue(stale.id, "score") in actions
    assert lifecycle.Requeue(row.id, "validate") in actions  # queued, stale: sent again
    # Refused claims leave the status alone: a cancelled one is nobody's work.
    submission = session.get(Submission, stale.id, with_for_update=True)
    stale.step(lifecycle.cancel, Status.CANCELLED, submission=submission)
    assert lifecycle.claim_scoring(session=session, submission_id=stale.id, host="w") is None
    assert stale.status() == Status.CANCELLED


def test_disallowed_moves_are_refused_before_anything_is_written(session: Session) -> None:
    row = Row(session)
    submission = session.get(Submission, row.id, with_for_update=True)
    assert submission is not None
    lifecycle.cancel(session=session, submission=submission)
    with pytest.raises(TransitionError, match="a cancelled submission cannot become queued"):
        lifecycle._move(submission, Status.QUEUED)
    with pytest.raises(TransitionError, match="a queued submission cannot become scored"):
        lifecycle._guarded_update(session, row.id, (Status.QUEUED,), Status.SCORED)
    session.rollback()
    assert row.status() == Status.CANCELLED
    # What a person may ask for and the table refuses is a Conflict with a sentence.
    submission = session.get(Submission, row.id, with_for_update=True)
    assert submission is not None
    with pytest.raises(Conflict, match="only queued, validating or running"):
        lifecycle.cancel(session=session, submission=submission)
    with pytest.raises(Conflict, match="only scored or failed submissions can be rescored"):
        lifecycle.requeue_for_rescore(session=session, submission=submission)
    assert row.status() == Status.CANCELLED


def test_the_column_reads_back_the_enum_and_refuses_other_words(session: Session) -> None:
    row = Row(session)
    assert type(row.status()) is Status
    session.get(Submission, row.id).status = "done"  # type: ignore[union-attr,assignment]
    with pytest.raises(Exception, match="'done' is not a valid Status"):
        session.flush()
    session.rollback()
