"""The tasks page (``/tasks``): the public tasks with a picture of each, hidden ones by id only.

Thumbnails are the task applied to one fixed demo crop, made once and kept in storage
(:mod:`app.benchmarks.thumbnails`); a hidden task has no thumbnail (it would show its spec).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from app.benchmarks import thumbnails, versions
from app.benchmarks.models import VersionTask
from app.benchmarks.provenance import describe, foreign_mark
from app.benchmarks.schemas import TaskRead
from app.deps import OptionalUser, SessionDep
from app.pages.forms import parse_query
from app.pages.templating import render

router = APIRouter(include_in_schema=False)
IMAGE_CACHE = {"Cache-Control": "public, max-age=86400"}


class TasksQuery(BaseModel):
    """Which version's tasks (the active one by default)."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(default=None, max_length=80)


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, session: SessionDep, viewer: OptionalUser) -> HTMLResponse:
    """Representative tasks (spec, order, lines, thumbnail) and hidden tasks (id, order)."""
    query = parse_query(request, TasksQuery)
    version = versions.version_or_active(session=session, name=query.version)
    tasks = [TaskRead.of(row) for row in version.tasks] if version is not None else []
    context = {
        "nav": "tasks",
        "version": version.name if version is not None else None,
        "convention": version.convention if version is not None else None,
        "foreign": foreign_mark(version.foreign_lines) if version is not None else None,
        "provenance": _provenance(version.tasks) if version is not None else {},
        "versions": versions.version_names(session=session),
        "public": [task for task in tasks if task.kind == "representative"],
        "hidden": [task for task in tasks if task.kind == "hidden"],
    }
    return render(request, "tasks.html", context, viewer=viewer)


def _provenance(rows: list[VersionTask]) -> dict[str, tuple[str, str]]:
    """Each task's (acceptance, excellence) line provenance as frozen, in words (no seed)."""
    return {
        row.task.key: (describe(row.acceptance_record), describe(row.excellence_record))
        for row in rows
    }


@router.get("/tasks/clean.png")
async def clean_thumbnail() -> Response:
    """The undegraded demo crop the thumbnails start from."""
    data = await run_in_threadpool(thumbnails.clean_thumbnail)
    return Response(data, media_type="image/png", headers=IMAGE_CACHE)


@router.get("/tasks/{key}/thumb.png")
async def task_thumbnail(key: str, session: SessionDep) -> Response:
    """A representative task applied to the demo crop (404 for hidden or unknown tasks)."""
    data = await run_in_threadpool(thumbnails.task_thumbnail, session=session, key=key)
    return Response(data, media_type="image/png", headers=IMAGE_CACHE)
