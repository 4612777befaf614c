"""The rows the browser tests read: accounts, and scored submissions with per-task results and
summaries made exactly as the worker makes them (``summary_values`` over per-image values).

Each seeded model's task PSNRs are placed against the test version's lines, so its AR and its
wins and losses against another model are known in advance:

=========  ====================  =====  ==========================================
name       per task (1, 2, 3, h1) AR     notes
=========  ====================  =====  ==========================================
Alpha      all above excellence  1      onnx, owned by Alice
Beta       below acc. on 1 and 2  1/2   torchscript; beats Alpha on 3, ties on h1
XSS        all below acceptance  0      the name is a script tag, the description HTML
Identity   the identity's values 3/4    a baseline row (the paper's reference points)
Private    all above excellence  1      private: only Alice and the admins see it
=========  ====================  =====  ==========================================
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import TaskDef, VersionTask
from app.db import utcnow
from app.submissions.models import RealWorldResultRow, Submission, Summary, TaskResultRow
from app.submissions.summary import summary_values
from gir_core.generality import TaskKind, TaskLine
from gir_core.tasks import Task
from tests.support.factories import Rows
from tests.support.stack import Bench, onnx_model, store

PASSWORD = "a long password for tests 123"
XSS_NAME = "<script>alert(1)</script>"
XSS_DESCRIPTION = '<img src=x onerror="alert(2)"> described with <b>markup</b>'


@dataclass(frozen=True)
class Account:
    """A seeded account the tests sign in with."""

    email: str
    name: str
    password: str = PASSWORD


ADMIN = Account("admin@example.org", "Operator")
ALICE = Account("alice@example.org", "Alice")
BOB = Account("bob@example.org", "Bob")


@dataclass(frozen=True)
class Seeded:
    """Ids and known values of the seeded rows."""

    alpha: int
    beta: int
    xss: int
    baseline: int
    private: int
    ar: dict[int, float]
    task_keys: tuple[str, ...]


def _lines(session: Session, version_id: int) -> tuple[list[TaskLine], dict[str, int]]:
    rows = session.execute(
        select(VersionTask, TaskDef)
        .join(TaskDef, TaskDef.id == VersionTask.task_id)
        .where(VersionTask.version_id == version_id)
        .order_by(VersionTask.position)
    )
    lines: list[TaskLine] = []
    ids: dict[str, int] = {}
    for frozen, task in rows:
        names = Task.parse(task.spec).names
        kind: TaskKind = "hidden" if task.kind == "hidden" else "representative"
        lines.append(
            TaskLine(task.key, frozen.acceptance_psnr, frozen.excellence_psnr, kind, names)
        )
        ids[task.key] = frozen.id
    return lines, ids


def _targets(lines: list[TaskLine], bench: Bench) -> dict[str, dict[str, float]]:
    """Mean task PSNR per seeded model and task key (see the module's table)."""
    alpha = {line.task_id: line.excellence + 1.0 for line in lines}
    beta = dict(alpha)
    beta["1"] = lines[0].acceptance - 0.5
    beta["2"] = lines[1].acceptance - 0.5
    beta["3"] = alpha["3"] + 2.0
    xss = {line.task_id: line.acceptance - 1.0 for line in lines}
    identity = {key: math.fsum(values) / len(values) for key, values in bench.identity_psnr.items()}
    return {"alpha": alpha, "beta": beta, "xss": xss, "identity": identity, "private": alpha}


def _scored(
    rows: Rows,
    owner: User,
    name: str,
    fmt: str,
    *,
    age_minutes: int,
    **fields: Any,
) -> Submission:
    data = onnx_model("identity", name=f"seeded-{name}")
    digest = hashlib.sha256(data).hexdigest()
    finished = utcnow() - timedelta(minutes=age_minutes)
    return rows.submission(
        owner, name=name, format=fmt, sha256=digest, size_bytes=len(data),
        storage_key=store(data, f"submissions/{owner.id}/{digest}"), status="scored",
        parameters=fields.pop("parameters", 1000), seconds_per_mp=fields.pop("speed", 0.1),
        created_at=finished - timedelta(minutes=1), started_at=finished, finished_at=finished,
        **fields,
    )  # fmt: skip


def _results(
    session: Session,
    submission: Submission,
    bench: Bench,
    lines: list[TaskLine],
    ids: dict[str, int],
    means: dict[str, float],
) -> float:
    """Per-task and real-world rows plus the summary; returns the AR."""
    psnr = {key: [mean - 0.25, mean + 0.25] for key, mean in means.items()}
    ssim = {key: [0.70, 0.80] for key in means}
    for key, per_image in psnr.items():
        session.add(
            TaskResultRow(
                submission_id=submission.id, version_task_id=ids[key],
                mean_psnr=math.fsum(per_image) / 2, mean_ssim=0.75, psnr=per_image, ssim=ssim[key],
                seconds=0.5,
            )
        )  # fmt: skip
    session.add(
        RealWorldResultRow(
            submission_id=submission.id, image_set_id=bench.real_set_id, mean_niqe=5.5,
            niqe=[5.5], seconds=0.5,
        )
    )  # fmt: skip
    values = summary_values(lines, psnr=psnr, ssim=ssim, niqe=[5.5], seed=submission.id)
    session.add(
        Summary(submission_id=submission.id, benchmark_version_id=bench.version_id, **values)
    )
    submission.benchmark_version_id = bench.version_id
    total = len(lines)
    submission.progress_done = submission.progress_total = total
    return float(values["ar"])


def _accounts(rows: Rows) -> dict[str, User]:
    return {
        account.email: rows.user(
            account.name, email=account.email, password=account.password, admin=account is ADMIN
        )
        for account in (ADMIN, ALICE, BOB)
    }


def seed(session: Session, bench: Bench) -> Seeded:
    """Accounts and five scored submissions (the module's table); committed: the API server and
    the worker read them from other processes."""
    committed = Rows(session, commit=True)
    users = _accounts(committed)
    alice, admin = users[ALICE.email], users[ADMIN.email]
    lines, ids = _lines(session, bench.version_id)
    targets = _targets(lines, bench)
    rows = {
        "alpha": _scored(committed, alice, "Alpha restorer", "onnx", age_minutes=50,
                         parameters=2_000_000, speed=0.4, description="A strong model."),
        "beta": _scored(committed, alice, "Beta restorer", "torchscript", age_minutes=40,
                        parameters=40_000, speed=0.05),
        "xss": _scored(committed, alice, XSS_NAME, "onnx", age_minutes=30, parameters=500,
                       description=XSS_DESCRIPTION),
        "identity": _scored(committed, admin, "Identity (returns its input)", "onnx",
                            age_minutes=60, parameters=0, speed=0.01, is_baseline=True),
        "private": _scored(committed, alice, "Private restorer", "onnx", age_minutes=20,
                           visibility="private"),
    }  # fmt: skip
    ar = {
        row.id: _results(session, row, bench, lines, ids, targets[key]) for key, row in rows.items()
    }
    session.commit()
    return Seeded(
        alpha=rows["alpha"].id,
        beta=rows["beta"].id,
        xss=rows["xss"].id,
        baseline=rows["identity"].id,
        private=rows["private"].id,
        ar=ar,
        task_keys=tuple(line.task_id for line in lines),
    )
