"""HTTP routes of the benchmarks area (thin: parse, call the service, return).

Public and read-only: the tasks of a version (hidden ones without their spec) and the versions.
Everything that changes the benchmark is an operator action in ``gir-admin``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.benchmarks import versions
from app.benchmarks.schemas import TaskPage, TaskRead, VersionDetail, VersionRead
from app.deps import SessionDep

router = APIRouter(tags=["benchmarks"])


@router.get("/tasks", response_model=TaskPage)
def list_tasks(
    session: SessionDep,
    version: Annotated[
        str | None, Query(max_length=80, description="Version name; the active one if omitted.")
    ] = None,
) -> TaskPage:
    """The tasks of a benchmark version with their lines; hidden tasks show key and order only."""
    found = versions.version_or_active(session=session, name=version)
    if found is None:
        return TaskPage(version=None, items=[])
    return TaskPage(version=found.name, items=[TaskRead.of(row) for row in found.tasks])


@router.get("/versions", response_model=list[VersionRead])
def list_versions(session: SessionDep) -> list[VersionRead]:
    """Every benchmark version, newest first, with task and image counts."""
    return [VersionRead.of(version) for version in versions.list_versions(session=session)]


@router.get("/versions/{name}", response_model=VersionDetail)
def get_version(session: SessionDep, name: str) -> VersionDetail:
    """One version: counts, metric settings and image sets (cited by digest)."""
    return VersionDetail.of(versions.get_version(session=session, name=name))
