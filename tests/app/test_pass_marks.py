"""Pages and API show gir_core.generality's marks, for a submission with broken lines (#12).

One scored submission on PostgreSQL, on a version where one public and one hidden task have
reversed lines (excellence below acceptance) and the others are sound, one of them exactly on its
acceptance line. The results JSON (owner, another user, an administrator), the model page and the
admin page must say, task by task, what :func:`gir_core.generality.task_mark` says; the reversed
tasks read "line broken" with no score and no pass marks. Before #12 the API scored them
((27 − 28) / (26 − 28) = 0.5 and "passed excellence" for task ``rev``).
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, TaskDef, VersionTask
from app.submissions import published
from app.submissions.models import TaskResultRow
from gir_core import generality
from gir_core.generality import TaskLine, TaskMark, task_mark
from tests.support.factories import Headers, Rows

# key, kind, order, acceptance, excellence, the model's mean PSNR
TASKS = (
    ("ok", "representative", 1, 25.0, 27.0, 26.5),  # between the lines: s = 0.75
    ("rev", "representative", 2, 28.0, 26.0, 27.0),  # reversed lines
    ("tie", "representative", 2, 25.0, 27.0, 25.0),  # exactly on acceptance: not passed
    ("top", "representative", 3, 22.0, 24.0, 24.5),  # above excellence
    ("h1", "hidden", 2, 20.0, 23.0, 22.2345),  # hidden, sound: band "midway to excellence"
    ("h2", "hidden", 3, 22.0, 21.0, 21.5),  # hidden, reversed lines
)
BROKEN = {"rev", "h2"}


@dataclass
class Scored:
    """The seeded submission, its task keys (suffixed) and who reads it."""

    submission_id: int
    keys: dict[str, str]
    marks: dict[str, TaskMark]
    lines: dict[str, TaskLine]
    psnr: dict[str, float]
    headers: dict[str, Headers]


def _reader(rows: Rows, name: str, *, admin: bool = False) -> tuple[User, Headers]:
    """An account with an API token, asking for pages (the shared factory's user and token)."""
    user, headers = rows.user_with_token(name, admin=admin)
    return user, headers | {"Accept": "text/html"}


@pytest.fixture
def scored(session: Session, rows: Rows) -> Scored:
    session.execute(update(BenchmarkVersion).values(is_active=False))
    suffix = uuid.uuid4().hex[:6]
    version = BenchmarkVersion(name=f"marks-{suffix}", seed=1, is_active=True)
    keys = {key: f"{key}{suffix}" for key, *_ in TASKS}
    for position, (key, kind, order, acc, exc, _) in enumerate(TASKS):
        task = TaskDef(
            key=keys[key], spec=f"noise(sigma={position + 5})" if kind != "hidden" else "SECRET",
            task_hash=uuid.uuid4().hex[:16], kind=kind, order=order,
        )  # fmt: skip
        version.tasks.append(
            VersionTask(task=task, position=position, acceptance_psnr=acc, excellence_psnr=exc)
        )
    session.add(version)
    owner, owner_h = _reader(rows, "owner")
    _, other_h = _reader(rows, "other")
    _, admin_h = _reader(rows, "admin", admin=True)
    session.flush()
    row = rows.submission(owner, name="MarkNet", status="scored", benchmark_version_id=version.id)
    lines = {k: TaskLine(keys[k], acc, exc, kind) for k, kind, _, acc, exc, _ in TASKS}
    psnr = {key: value for key, *_, value in TASKS}
    for line, (key, *_) in zip(version.tasks, TASKS, strict=True):
        session.add(
            TaskResultRow(
                submission_id=row.id, version_task_id=line.id, mean_psnr=psnr[key],
                mean_ssim=0.8, psnr=[psnr[key]], ssim=[0.8], seconds=0.5,
            )
        )  # fmt: skip
    summary = generality.summarize(list(lines.values()), {keys[k]: psnr[k] for k in psnr})
    rows.summary(
        row, version.id, ar=summary.ar, er=summary.er, mean_psnr=summary.mean_psnr,
        mean_ssim=0.8, ar_low=summary.ar, ar_high=summary.ar, psnr_low=summary.mean_psnr,
        psnr_high=summary.mean_psnr, bias={},
    )  # fmt: skip
    session.commit()
    marks = {key: task_mark(lines[key], psnr[key]) for key in lines}
    headers = {"owner": owner_h, "other": other_h, "admin": admin_h}
    return Scored(row.id, keys, marks, lines, psnr, headers)


def test_the_reversed_lines_are_what_the_test_is_about(scored: Scored) -> None:
    """gir_core's own verdict on the seeded lines, so the checks below cannot agree vacuously."""
    assert {k for k, m in scored.marks.items() if m.broken} == BROKEN
    assert generality.broken_lines(list(scored.lines.values())) == [
        scored.keys[k] for k, *_ in TASKS if k in BROKEN
    ]
    assert (scored.marks["ok"].passed_acceptance, scored.marks["ok"].score) == (True, 0.75)
    assert scored.marks["tie"].passed_acceptance is False
    assert scored.marks["top"].passed_excellence is True


@pytest.mark.parametrize("viewer", ["owner", "other", "admin"])
def test_the_api_results_carry_gir_cores_marks(
    client: TestClient, scored: Scored, viewer: str
) -> None:
    response = client.get(
        f"/api/v1/submissions/{scored.submission_id}/results", headers=scored.headers[viewer]
    )
    assert response.status_code == 200 and "SECRET" not in response.text
    tasks = {task["key"]: task for task in response.json()["tasks"]}
    assert list(tasks) == list(scored.keys.values())
    for key, mark in scored.marks.items():
        got = tasks[scored.keys[key]]
        assert got["line_broken"] is mark.broken, key
        assert (got["passed_acceptance"], got["passed_excellence"]) == (
            mark.passed_acceptance,
            mark.passed_excellence,
        ), key
        hidden = scored.lines[key].kind == "hidden"
        if not hidden:
            assert got["score"] == mark.score and got["band"] is None, key
        elif viewer == "other":
            assert (got["score"], got["mean_psnr"]) == (None, None), key
            assert got["band"] == published.band(mark), key
        else:
            rounded = published.rounded(scored.psnr[key])
            assert rounded is not None and got["mean_psnr"] == rounded, key
            expected = task_mark(scored.lines[key], rounded).score
            assert got["score"] == published.rounded(expected), key
        if mark.broken:
            assert got["score"] is None and got["band"] is None, key
            assert got["passed_acceptance"] is None and got["passed_excellence"] is None, key
    other_band = "midway to excellence" if viewer == "other" else None
    assert tasks[scored.keys["h1"]]["band"] == other_band  # (22.2345 − 20) / 3 = 0.74


def _cells(page: str, key: str) -> list[tuple[str, str]]:
    """(class, text) of each ``<td>`` of the task's row on the model page."""
    row = re.search(rf'<tr data-task="{key}">(.*?)</tr>', page, re.S)
    assert row is not None, f"no row for task {key}"
    cells = re.findall(r'<td(?: class="([^"]*)")?>(.*?)</td>', row.group(1), re.S)
    return [(cls, html.unescape(re.sub(r"<[^>]+>", "", text)).strip()) for cls, text in cells]


def _shown_mark(mark: TaskMark) -> str:
    if mark.broken:
        return "line broken"
    if mark.passed_excellence:
        return "✓✓ above excellence"
    return "✓ above acceptance" if mark.passed_acceptance else "✗ below acceptance"


@pytest.mark.parametrize("viewer", ["owner", "other"])
def test_the_model_page_shows_gir_cores_marks(
    client: TestClient, scored: Scored, viewer: str
) -> None:
    response = client.get(f"/submissions/{scored.submission_id}", headers=scored.headers[viewer])
    assert response.status_code == 200 and "SECRET" not in response.text
    page = response.text
    for key, mark in scored.marks.items():
        psnr_cell, _, _, _, score_cell, pass_cell, _ = _cells(page, scored.keys[key])[2:]
        assert pass_cell[1] == _shown_mark(mark), key
        assert ("line-broken" in pass_cell[0]) is mark.broken, key
        expected_class = (
            "broken"
            if mark.broken
            else "pass-exc"
            if mark.passed_excellence
            else "pass-acc"
            if mark.passed_acceptance
            else "fail"
        )
        assert psnr_cell[0] == expected_class, key
        hidden = scored.lines[key].kind == "hidden"
        if mark.broken or (hidden and viewer == "other"):
            assert score_cell[1] == "–", key
        elif not hidden:
            assert mark.score is not None and score_cell[1] == f"{mark.score:.2f}", key
    accepted = sum(m.passed_acceptance is True for m in scored.marks.values())
    excellent = sum(m.passed_excellence is True for m in scored.marks.values())
    headline = re.search(r"<p>Passes the acceptance line on (.*?)\.\s", page, re.S)
    assert headline is not None
    assert html.unescape(re.sub(r"<[^>]+>", "", headline.group(1))) == (
        f"{accepted} of {len(TASKS)} tasks and the excellence line on {excellent} "
        f"({len(BROKEN)} tasks have broken lines: no marks)"
    )


def test_the_admin_page_marks_the_broken_lines_gir_core_finds(
    client: TestClient, scored: Scored
) -> None:
    response = client.get("/admin", headers=scored.headers["admin"])
    assert response.status_code == 200
    table = re.search(r'<table id="lines">(.*?)</table>', response.text, re.S)
    assert table is not None
    rows = re.findall(r'<th scope="row" class="text">([^<]+)</th>(.*?)</tr>', table.group(1), re.S)
    shown = {key: "line broken" in cells for key, cells in rows}
    assert shown == {scored.keys[k]: m.broken for k, m in scored.marks.items()}
    broken = generality.broken_lines(list(scored.lines.values()))
    notice = f"Excellence line not above acceptance for tasks {', '.join(broken)}:"
    assert notice in response.text
