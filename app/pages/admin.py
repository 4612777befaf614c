"""The operators' page (``/admin``): the queue, and the moderation buttons of ``gir-admin``.

Each button posts a CSRF-protected form to a route that calls the same service as the CLI
(:mod:`app.benchmarks.moderation`, :func:`app.submissions.lifecycle.requeue_stale`).
Hidden task specs are not shown here either: lines are listed by task id.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks import moderation, versions
from app.benchmarks.progress import LineProgress, read_progress
from app.benchmarks.schemas import TaskRead, VersionRead
from app.benchmarks.service import list_tasks
from app.deps import OptionalUser, RowId, SessionDep
from app.errors import Forbidden, Unauthorized
from app.pages.account import sign_in_redirect
from app.pages.templating import render
from app.storage import get_storage
from app.submissions import lifecycle, overview
from app.submissions.status import Status
from gir_core import generality
from gir_core.line_quality import KINDS

router = APIRouter(include_in_schema=False)


def _admin(viewer: User | None) -> User:
    if viewer is None:
        raise Unauthorized("sign in as an administrator")
    if not viewer.is_admin:
        raise Forbidden("this page is for administrators")
    return viewer


@router.get("/admin", response_model=None)
def admin_page(
    request: Request, session: SessionDep, viewer: OptionalUser, done: str = ""
) -> Response:
    """Queue overview, versions, and the active version's lines."""
    if viewer is None:
        return sign_in_redirect(request)
    _admin(viewer)
    active = versions.active_version(session=session)
    lines = [TaskRead.of(row) for row in active.tasks] if active is not None else []
    context = {
        "nav": "admin",
        "queue": overview.queue_overview(session=session),
        "versions": [VersionRead.of(v) for v in versions.list_versions(session=session)],
        "active": active.name if active is not None else None,
        "lines": lines,
        "broken": _broken(lines),
        "weak": {line.key: "; ".join(line.line_marks) for line in lines if line.line_marks},
        "training": _training(session),
        "done": done[:200],
    }
    return render(request, "admin.html", context, viewer=viewer)


def _broken(lines: list[TaskRead]) -> list[str]:
    """Tasks whose lines give no score (:func:`gir_core.generality.broken_lines`), line order."""
    return generality.broken_lines(
        [generality.TaskLine(t.key, t.acceptance_psnr, t.excellence_psnr) for t in lines]
    )


def _training(session: Session) -> list[LineProgress]:
    """Line training runs under way (their progress records in storage), pool order."""
    storage = get_storage()
    found = []
    for task in list_tasks(session=session):
        for kind in KINDS:
            progress = read_progress(storage, task.key, kind)
            if progress is not None:
                found.append(progress)
    return found


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"/admin?done={message}", status_code=303)


@router.post("/admin/submissions/{submission_id}/rescore")
def rescore(submission_id: RowId, session: SessionDep, viewer: OptionalUser) -> RedirectResponse:
    """Score again from scratch (scored or failed submissions)."""
    _admin(viewer)
    moderation.rescore(session=session, submission_id=submission_id)
    return _back(f"submission {submission_id} queued for rescoring")


@router.post("/admin/submissions/{submission_id}/hide")
def hide(submission_id: RowId, session: SessionDep, viewer: OptionalUser) -> RedirectResponse:
    """Take it off the public leaderboard."""
    _admin(viewer)
    moderation.hide(session=session, submission_id=submission_id)
    return _back(f"submission {submission_id} hidden")


@router.post("/admin/submissions/{submission_id}/unhide")
def unhide(submission_id: RowId, session: SessionDep, viewer: OptionalUser) -> RedirectResponse:
    """Put it back on the public leaderboard."""
    _admin(viewer)
    moderation.hide(session=session, submission_id=submission_id, hidden=False)
    return _back(f"submission {submission_id} visible again")


@router.post("/admin/requeue-stale")
def requeue_stale(session: SessionDep, viewer: OptionalUser) -> RedirectResponse:
    """What the reconciler does on its schedule, now."""
    _admin(viewer)
    actions = lifecycle.requeue_stale(session=session)
    failed = sum(action.action == Status.FAILED for action in actions)
    return _back(f"requeued {len(actions) - failed}, failed {failed} stale submission(s)")
