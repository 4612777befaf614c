"""Weak lines and public ground truth where people read the board: the leaderboard (API and
page), the tasks page (API and page) say how many tasks have weak lines and which."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.benchmarks.models import BenchmarkVersion, TaskDef, VersionTask
from gir_core.tasks import Task

# (spec, input, acceptance, excellence, hidden): two weak, two fine
LINES = [
    ("noise(sigma=20)", 22.0, 24.0, 25.0, False),
    ("blur(sigma=2)", 26.0, 25.5, 27.0, False),  # below the input
    ("compression(q=50)", 30.0, 30.5, 30.55, True),  # excellence not above acceptance
    ("noise(sigma=15)", 24.0, 26.0, 27.0, True),
]


def _version(session: Session, *, public: bool, weak: bool = True) -> str:
    name = f"marks-{uuid.uuid4().hex[:8]}"
    version = BenchmarkVersion(name=name, seed=1, gt_public=public)
    for position, (spec, given, acceptance, excellence, hidden) in enumerate(LINES):
        task = Task.parse(spec)
        key = f"{'h' if hidden else 'm'}{uuid.uuid4().hex[:8]}"
        row = TaskDef(key=key, spec=str(task), task_hash=task.id,
                      kind="hidden" if hidden else "representative", order=task.order)  # fmt: skip
        version.tasks.append(
            VersionTask(
                task=row,
                position=position,
                input_psnr=given,
                acceptance_psnr=acceptance if weak else given + 1,
                excellence_psnr=excellence if weak else given + 2,
            )
        )
    session.add(version)
    session.commit()
    return name


def test_leaderboard_counts_weak_lines_and_flags_public_ground_truth(
    client: TestClient, session: Session
) -> None:
    name = _version(session, public=True)
    body = client.get("/api/v1/leaderboard", params={"version": name}).json()
    assert (body["gt_public"], body["weak_lines"]) == (True, 2)
    page = client.get("/", params={"version": name}).text
    assert "Ground truth is public: scores show that the service works" in page
    assert "2 tasks have weak lines" in page
    clean = _version(session, public=False, weak=False)
    body = client.get("/api/v1/leaderboard", params={"version": clean}).json()
    assert (body["gt_public"], body["weak_lines"]) == (False, 0)
    page = client.get("/", params={"version": clean}).text
    assert "Ground truth is public" not in page and "weak lines" not in page


def test_tasks_show_each_line_mark_and_the_input_of_public_tasks_only(
    client: TestClient, session: Session
) -> None:
    name = _version(session, public=False)
    items = client.get("/api/v1/tasks", params={"version": name}).json()["items"]
    assert [item["line_marks"] for item in items] == [
        [],
        ["below the input"],
        ["excellence not above acceptance"],
        [],
    ]
    assert [item["input_psnr"] for item in items] == [22.0, 26.0, None, None]
    page = client.get("/tasks", params={"version": name}).text
    assert page.count(">below the input<") == 1
    assert page.count(">excellence not above acceptance<") == 1
