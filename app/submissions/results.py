"""Per-task results and the failure log of one submission, as a given viewer may see them.

Hidden tasks are named by public key and order only: their spec is never selected into a
response, and a log shown to anyone but an administrator has every hidden spec of the pool
replaced by its key (defence in depth — the worker is not supposed to log them at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef, VersionTask
from app.benchmarks.schemas import MeasurementRead
from app.errors import NotFound
from app.storage import get_storage
from app.submissions import published
from app.submissions.models import RealWorldResultRow, Summary, TaskResultRow
from app.submissions.schemas import (
    RealWorldResultRead,
    SubmissionResults,
    SummaryRead,
    TaskResultRead,
)
from app.submissions.service import manages, visible_submission
from app.submissions.status import ACTIVE
from gir_core.generality import TaskLine, task_mark

PUBLIC_KIND = "representative"
LOG_MAX_BYTES = 2 << 20


def _task_read(
    row: TaskResultRow, version_task: VersionTask, task: TaskDef, *, owner: bool
) -> TaskResultRead:
    """One task as ``owner`` (the submission's owner or an administrator) or anyone else sees it.

    Passes, score and "line broken" are :func:`gir_core.generality.task_mark`'s, never derived
    here. Public tasks are shown in full. A hidden task's numbers are a channel its model
    controls, so they are coarsened (:mod:`app.submissions.published`): per-image values and
    runtime for nobody, the means to 2 decimals for the owner, pass marks and a band for everyone
    else. Passes are decided on the stored full-precision mean, like AR.
    """
    line = TaskLine(task.key, version_task.acceptance_psnr, version_task.excellence_psnr)
    mark = task_mark(line, row.mean_psnr)
    full = TaskResultRead(
        key=task.key,
        kind=task.kind,
        order=task.order,
        spec=task.spec,
        mean_psnr=row.mean_psnr,
        mean_ssim=row.mean_ssim,
        psnr=row.psnr,
        ssim=row.ssim,
        seconds=row.seconds,
        acceptance_psnr=line.acceptance,
        excellence_psnr=line.excellence,
        line_broken=mark.broken,
        passed_acceptance=mark.passed_acceptance,
        passed_excellence=mark.passed_excellence,
        score=mark.score,
    )
    if task.kind == PUBLIC_KIND:
        return full
    hidden: dict[str, Any] = {"spec": None, "psnr": [], "ssim": [], "seconds": None}
    if owner:
        # The score from the rounded PSNR: rounded on its own grid it would refine the PSNR.
        psnr = published.rounded(row.mean_psnr)
        score = None if psnr is None else task_mark(line, psnr).score
        hidden |= {"mean_psnr": psnr, "mean_ssim": published.rounded(row.mean_ssim)}
        return full.model_copy(update=hidden | {"score": published.rounded(score)})
    hidden |= {"mean_psnr": None, "mean_ssim": None, "score": None}
    return full.model_copy(update=hidden | {"band": published.band(mark)})


def submission_results(
    *, session: Session, viewer: User | None, submission_id: int
) -> SubmissionResults:
    """Every task and real-world result landed so far, in benchmark order, and the summary.

    Raises:
        NotFound: the submission is not visible to ``viewer``.
    """
    submission = visible_submission(session=session, viewer=viewer, submission_id=submission_id)
    owner = manages(viewer, submission.owner_id)
    tasks = session.execute(
        select(TaskResultRow, VersionTask, TaskDef)
        .join(VersionTask, VersionTask.id == TaskResultRow.version_task_id)
        .join(TaskDef, TaskDef.id == VersionTask.task_id)
        .where(TaskResultRow.submission_id == submission_id)
        .order_by(VersionTask.position)
    )
    real = session.execute(
        select(RealWorldResultRow, ImageSet)
        .join(ImageSet, ImageSet.id == RealWorldResultRow.image_set_id)
        .where(RealWorldResultRow.submission_id == submission_id)
        .order_by(ImageSet.name)
    )
    summary = session.get(Summary, submission_id)
    version = session.get(BenchmarkVersion, submission.benchmark_version_id or -1)
    rows = tasks.all()
    if submission.status in ACTIVE and not (viewer is not None and viewer.is_admin):
        # Hidden rows landing one by one would time each hidden task (worker.progress).
        rows = [row for row in rows if row[2].kind == PUBLIC_KIND]
    hidden = [row.seconds for row, _, task in rows if task.kind != PUBLIC_KIND]
    return SubmissionResults(
        submission_id=submission_id,
        status=submission.status,
        benchmark_version=version.name if version is not None else None,
        measurement=MeasurementRead.of(version) if version is not None else None,
        tasks=[_task_read(*row, owner=owner) for row in rows],
        hidden_seconds=published.runtime_total(hidden),
        real_world=[
            RealWorldResultRead(
                set_name=image_set.name,
                label=image_set.label,
                mean_niqe=result.mean_niqe,
                niqe=result.niqe,
                seconds=result.seconds,
            )
            for result, image_set in real
        ],
        summary=SummaryRead.model_validate(summary) if summary is not None else None,
    )


def submission_log(*, session: Session, viewer: User | None, submission_id: int) -> str:
    """The submission's worker log (its last :data:`LOG_MAX_BYTES`), owner and admins only.

    Raises:
        NotFound: not visible, not the viewer's to read, or no log written yet.
    """
    submission = visible_submission(session=session, viewer=viewer, submission_id=submission_id)
    if not manages(viewer, submission.owner_id):
        raise NotFound(f"there is no submission {submission_id}")
    storage = get_storage()
    if not submission.log_key or not storage.exists(submission.log_key):
        raise NotFound(f"submission {submission_id} has no log yet")
    text = storage.read_bytes(submission.log_key)[-LOG_MAX_BYTES:].decode("utf-8", "replace")
    if viewer is not None and not viewer.is_admin:
        hidden = session.execute(
            select(TaskDef.key, TaskDef.spec).where(TaskDef.kind != PUBLIC_KIND)
        )
        for key, spec in hidden:
            if spec:
                text = text.replace(spec, f"[hidden task {key}]")
    return text


@dataclass(frozen=True)
class ModelFile:
    """A submission's stored model file, ready to stream to its owner."""

    key: str
    filename: str
    size: int


def model_file(*, session: Session, viewer: User | None, submission_id: int) -> ModelFile:
    """The model file as uploaded, for its owner and administrators only.

    Raises:
        NotFound: not visible, not the viewer's, or the file is gone from storage.
    """
    submission = visible_submission(session=session, viewer=viewer, submission_id=submission_id)
    if not manages(viewer, submission.owner_id):
        raise NotFound(f"there is no submission {submission_id}")
    if not get_storage().exists(submission.storage_key):
        raise NotFound(f"submission {submission_id} has no stored model file")
    extension = "pt" if submission.format == "torchscript" else "onnx"
    return ModelFile(
        submission.storage_key, f"submission-{submission.id}.{extension}", submission.size_bytes
    )
