"""Attacks on the hidden set through a model's own channels, each by a hostile model scored by a
real Celery worker over real PostgreSQL and Redis (issue #13, items 1, 2, 3 and 15).

Each test performs the attack and reads everything its owner can read — the submission and its
log through the API, the model page — for what the model tried to carry out. It fails if the
channel opens again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import create_token
from app.db import utcnow
from app.main import create_app
from app.queue import enqueue_scoring, enqueue_validation
from app.settings import get_settings
from app.storage import get_storage
from app.submissions.models import Submission, TaskResultRow
from app.submissions.pipeline import Requeue, requeue_stale
from app.submissions.quota import read_quota
from gir_core.contract import PROBE_SIZES
from gir_core.sandbox.errors_map import SCORING_SENTENCES
from tests.worker.conftest import (
    Bench,
    WorkerProcess,
    add_submission,
    onnx_model,
    slow_model,
    wait_for,
)
from worker.pipeline import EXCERPT_LINE_CHARS, EXCERPT_LINES

OFFSET = 1000
"""The hostile model's output width is OFFSET + 255 × (its input's first pixel): far from any
real width, and the pixel is read back exactly from the width."""


class ShapeLeak(torch.nn.Module):
    """The identity on the contract check's probes (64 px and more); on anything smaller — the
    scoring inputs of the test benchmark — an output whose width encodes the first pixel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[2], x.shape[3]) >= 64:
            return x
        width = 1000 + int(float(x[0, 0, 0, 0]) * 255.0)  # OFFSET (a script sees no globals)
        return torch.zeros(1, 3, x.shape[2], width)


class Chatty(torch.nn.Module):
    """The identity, printing what it sees on every image: its size and first pixel, behind a
    terminal escape, then a flood of lines (what a model might print at load time or per image)."""

    def __init__(self) -> None:
        super().__init__()
        self.flood = "flood " + "z" * 400

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixel = int(float(x[0, 0, 0, 0]) * 255.0)
        print("\x1b[2J\x1b[31mSEEN", x.shape[2], x.shape[3], "PIXEL", pixel, "\x07")
        for _ in range(15):
            print(self.flood)
        return x + 0.0


def _script(module: torch.nn.Module, folder: Path, name: str) -> bytes:
    path = folder / f"{name}.pt"
    torch.jit.save(torch.jit.script(module), str(path))
    return path.read_bytes()


def _submission(db: Session, submission_id: int) -> Submission:
    db.expire_all()
    found = db.get(Submission, submission_id)
    assert found is not None
    return found


def _finished(db: Session, submission_id: int) -> Callable[[], bool]:
    return lambda: _submission(db, submission_id).status in ("scored", "failed")


@pytest.fixture
def owner_view(db: Session, worker_env: dict[str, str]) -> Iterator[Callable[[int], str]]:
    """Everything the owner can read about a submission (API record, log, model page), as one
    text, through the real application with the owner's API token."""
    client = TestClient(create_app())

    def read(submission_id: int) -> str:
        owner = db.scalar(select(User).filter_by(email="owner@example.org"))
        assert owner is not None
        _, secret = create_token(session=db, user=owner, name="test")
        headers = {"Authorization": f"Bearer {secret}"}
        texts = []
        for path in ("", "/log", "/results"):
            response = client.get(f"/api/v1/submissions/{submission_id}{path}", headers=headers)
            assert response.status_code == 200, response.text
            texts.append(response.text)
        page = client.get(f"/submissions/{submission_id}", headers=headers)
        assert page.status_code == 200
        return "\n".join([*texts, page.text])

    with client:
        yield read


def test_output_shape_on_a_hidden_input_never_reaches_the_owner(
    db: Session,
    bench: Bench,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    owner_view: Callable[[int], str],
) -> None:
    """Item 1: the failure sentence is fixed text; the shape (the pixel) is in the operator log."""
    submission_id = add_submission(
        db, "shape leak", _script(ShapeLeak(), tmp_path, "leak"), "torchscript"
    )
    enqueue_validation(submission_id)
    worker = start_worker()
    wait_for(_finished(db, submission_id), [worker], timeout=90)
    failed = _submission(db, submission_id)
    assert failed.seconds_per_mp is not None  # it passed the contract check on the probes
    assert (failed.status, failed.error_code) == ("failed", "contract")
    assert failed.error_message == SCORING_SENTENCES["shape"]

    # The operator's log has the detail, and with it the pixel the model encoded.
    operator = worker.output()
    leaked = re.search(r"output is \[1, 3, (\d+), (\d+)\]", operator)
    assert leaked is not None, operator[-3000:]
    height, width = leaked.groups()
    pixel = int(width) - OFFSET
    assert 0 <= pixel <= 255

    seen = owner_view(submission_id)
    assert SCORING_SENTENCES["shape"] in seen
    assert f"[1, 3, {height}, {width}]" not in seen
    assert not re.search(rf"\b{width}\b", seen)


def test_a_failure_while_scoring_uses_a_submission_a_rejected_contract_does_not(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Item 2: the shape leak costs a submission each time; the contract check stays free."""
    rejected = add_submission(db, "0-255 output", onnx_model("scaled"))
    leaking = add_submission(
        db, "shape leak", _script(ShapeLeak(), tmp_path, "leak"), "torchscript"
    )
    for submission_id in (rejected, leaking):
        enqueue_validation(submission_id)
    worker = start_worker()
    for submission_id in (rejected, leaking):
        wait_for(_finished(db, submission_id), [worker], timeout=90)
    refused, failed = _submission(db, rejected), _submission(db, leaking)
    assert (refused.status, refused.error_code, refused.seconds_per_mp) == (
        "failed",
        "contract",
        None,
    )
    assert "span" in refused.error_message  # validation on public probes keeps its detail
    assert (failed.status, failed.error_code) == ("failed", "contract")

    owner = db.scalar(select(User).filter_by(email="owner@example.org"))
    assert owner is not None
    quota = read_quota(session=db, owner=owner)
    assert quota.daily.used == 1  # the scoring failure, not the rejection
    assert quota.daily.remaining == get_settings().quota_per_day - 1


def test_model_output_streams_are_withheld_from_scoring_and_bounded_from_validation(
    db: Session,
    bench: Bench,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    owner_view: Callable[[int], str],
) -> None:
    """Item 3: what a model prints while scoring is for administrators only; what it printed on
    the probes reaches its owner as a short excerpt without terminal escapes."""
    submission_id = add_submission(
        db, "chatty", _script(Chatty(), tmp_path, "chatty"), "torchscript"
    )
    enqueue_validation(submission_id)
    worker = start_worker()
    wait_for(_finished(db, submission_id), [worker], timeout=120)
    done = _submission(db, submission_id)
    assert done.status == "scored", done.error_message

    admin = get_storage().local_path(f"logs/{submission_id}-scoring-admin.txt").read_text()
    hidden_sizes = set(re.findall(r"SEEN (\d+ \d+) PIXEL", admin))
    probes = {f"{height} {width}" for height, width in PROBE_SIZES}
    assert hidden_sizes and not hidden_sizes & probes  # 48 px GT, 128 px real-world images

    seen = owner_view(submission_id)
    owner_log = get_storage().local_path(done.log_key).read_text()
    assert "SEEN 120 72 PIXEL" in owner_log  # the last probe's print: a public input
    for size in hidden_sizes:
        assert f"SEEN {size}" not in seen
    assert "\x1b" not in owner_log and "\x07" not in owner_log
    check = owner_log.split("== scoring")[0]
    assert len(check.splitlines()) <= EXCERPT_LINES + 2
    assert max(len(line) for line in check.splitlines()) <= EXCERPT_LINE_CHARS + 80
    assert "withheld" in owner_log.split("== scoring")[1]


def _results(db: Session, submission_id: int) -> int:
    db.expire_all()
    query = select(TaskResultRow.id).filter_by(submission_id=submission_id)
    return len(db.scalars(query).all())


def test_killed_workers_are_not_held_against_the_model(
    db: Session, bench: Bench, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Item 15: a worker killed with -9 mid-scoring, GIR_MAX_ATTEMPTS times over, each time after
    the model made progress: the submission is still scored, its attempts uncharged."""
    limit = get_settings().max_attempts
    slow = slow_model(tmp_path)
    submission_id = add_submission(db, "slow identity", slow, "torchscript", validated=True)
    enqueue_scoring(submission_id)
    for _ in range(limit):
        stored = _results(db, submission_id)
        worker = start_worker()
        wait_for(lambda n=stored: _results(db, submission_id) > n, [worker], timeout=90)
        worker.kill()  # no cleanup, no ack: an infrastructure failure
        assert _submission(db, submission_id).attempts == 1
        later = utcnow() + timedelta(seconds=get_settings().stale_after_s + 1)
        assert requeue_stale(session=db, now=later) == [Requeue(submission_id, "score")]
    last = start_worker()
    wait_for(_finished(db, submission_id), [last], timeout=90)
    done = _submission(db, submission_id)
    assert (done.status, done.attempts, done.error_code) == ("scored", 1, "")
