"""The pages over a seeded board: what each shows, what it hides, escaping, forms and CSRF.

The browser tests (tests/browser) drive the same pages in Chromium with a live worker; these
run in-process against the test database and check the HTML itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef, VersionTask
from app.benchmarks.progress import ProgressRecord, clear_progress
from app.db import utcnow
from app.settings import get_settings
from app.storage import get_storage
from app.submissions.liveness import stale_submissions
from app.submissions.models import RealWorldResultRow, Submission, TaskResultRow
from app.submissions.overview import queue_overview
from gir_core.tasks import Task
from tests.app.submissions_support import onnx_model
from tests.support.factories import Rows, bearer

PASSWORD = "correct horse battery staple"
XSS = "<script>alert(1)</script>"
HTML = {"Accept": "text/html"}
SVG = "{http://www.w3.org/2000/svg}"
# key, spec, kind, order, acceptance, excellence
TASKS = (
    ("1", "noise", "representative", 1, 25.0, 27.0),
    ("2", "blur + noise", "representative", 2, 22.0, 24.0),
    ("h1", "rain + blur", "hidden", 2, 20.0, 23.0),
)
# PSNR per task of the two public models: A passes 1 (excellence) and h1, B passes 2 only.
PSNR = {"A": (27.5, 21.0, 21.5), "B": (24.0, 22.5, 19.0)}


@dataclass
class Board:
    """Seeded ids and users."""

    users: dict[str, User]
    ids: dict[str, int]
    suffix: str


def _scored(
    session: Session, owner: User, name: str, version: BenchmarkVersion, psnr: tuple[float, ...]
) -> Submission:
    row = Submission(
        owner=owner, name=name, format="onnx", sha256=uuid.uuid4().hex * 2, size_bytes=2048,
        storage_key="submissions/x.onnx", status="scored", benchmark_version_id=version.id,
        parameters=1234, seconds_per_mp=0.25,
    )  # fmt: skip
    session.add(row)
    session.flush()
    passed = [p > t.acceptance_psnr for p, t in zip(psnr, version.tasks, strict=True)]
    for value, line in zip(psnr, version.tasks, strict=True):
        session.add(
            TaskResultRow(
                submission_id=row.id, version_task_id=line.id, mean_psnr=value, mean_ssim=0.8,
                psnr=[value, value], ssim=[0.8, 0.8], seconds=0.5,
            )
        )  # fmt: skip
    ar = sum(passed) / len(passed)
    Rows(session).summary(
        row, version.id, ar=ar, er=0.0, mean_psnr=sum(psnr) / 3, mean_ssim=0.8, ar_low=ar,
        ar_high=ar, psnr_low=20.0, psnr_high=25.0, ar_representative=ar, ar_hidden=ar,
        mean_niqe=5.0, bias={"blur": {"n_tasks": 2, "mean_score": 0.25}, "noise": {"n_tasks": 2,
        "mean_score": -0.5}},
    )  # fmt: skip
    return row


@pytest.fixture
def board(session: Session, rows: Rows) -> Board:
    session.execute(update(BenchmarkVersion).values(is_active=False))
    suffix = uuid.uuid4().hex[:6]
    version = BenchmarkVersion(name=f"pages-{suffix}", seed=1, is_active=True)
    for position, (key, spec, kind, order, acc, exc) in enumerate(TASKS):
        task = TaskDef(
            key=f"{key}{suffix}", spec=spec, task_hash=uuid.uuid4().hex[:16], kind=kind,
            order=order,
        )  # fmt: skip
        version.tasks.append(
            VersionTask(task=task, position=position, acceptance_psnr=acc, excellence_psnr=exc)
        )
    session.add(version)
    users = {
        name: rows.user(name, admin=name == "admin", password=PASSWORD)
        for name in ("alice", "bob", "admin")
    }
    session.flush()
    a = _scored(session, users["alice"], XSS, version, PSNR["A"])
    b = _scored(session, users["bob"], "PlainNet", version, PSNR["B"])
    private = _scored(session, users["alice"], "SecretNet", version, PSNR["B"])
    private.visibility = "private"
    queued = Submission(
        owner=users["alice"], name="WaitingNet", format="onnx", sha256=uuid.uuid4().hex * 2,
        size_bytes=10, storage_key="submissions/q.onnx", status="queued", progress_total=3,
        benchmark_version_id=version.id,
    )  # fmt: skip
    session.add(queued)
    session.commit()
    ids = {"A": a.id, "B": b.id, "private": private.id, "queued": queued.id}
    return Board(users, ids, suffix)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def _sign_in(client: TestClient, user: User) -> None:
    page = client.get("/login", headers=HTML)
    form = {"email": user.email, "password": PASSWORD, "csrf_token": _csrf(page.text)}
    response = client.post("/login", data=form, headers=HTML)
    assert response.status_code == 200 and response.url.path == "/account"


def _svg(html: str, svg_id: str) -> ElementTree.Element:
    found = re.search(rf'<svg id="{svg_id}".*?</svg>', html, re.S)
    assert found is not None, f"no svg#{svg_id}"
    return ElementTree.fromstring(found.group(0))


def _marks(svg: ElementTree.Element) -> list[ElementTree.Element]:
    return [node for node in svg.iter() if "data-tip" in node.attrib]


# -- the leaderboard ------------------------------------------------------------------------------


def test_the_leaderboard_ranks_escapes_and_charts(client: TestClient, board: Board) -> None:
    response = client.get("/", headers=HTML)
    assert response.status_code == 200
    html = response.text
    rows = re.findall(r'<tr data-id="(\d+)"', html)
    assert rows == [str(board.ids["A"]), str(board.ids["B"])]  # AR 2/3 before AR 1/3
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "SecretNet" not in html  # private: not on the board
    assert re.search(r'data-sort="rank" class="[^"]*" aria-sort="ascending"', html)
    points = _marks(_svg(html, "chart-pareto"))
    assert len(points) == 2
    assert "Content-Security-Policy" in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_sorting_and_filtering_use_the_api_rules(client: TestClient, board: Board) -> None:
    by_psnr = client.get("/?sort=mean_psnr&order=asc", headers=HTML).text
    rows = re.findall(r'<tr data-id="(\d+)"', by_psnr)
    assert rows == [str(board.ids["B"]), str(board.ids["A"])]  # 21.83 dB before 23.33 dB
    assert 'aria-sort="ascending"' in by_psnr
    found = client.get("/?q=plain&format=&baselines=true", headers=HTML).text
    assert re.findall(r'<tr data-id="(\d+)"', found) == [str(board.ids["B"])]
    none = client.get("/?format=torchscript", headers=HTML).text
    assert 'id="empty-board"' in none
    bad = client.get("/?sort=wrong", headers=HTML)
    assert bad.status_code == 422 and "sort" in bad.text and "<h1>422" in bad.text


# -- the model page ---------------------------------------------------------------------------


def test_the_model_page_draws_every_task_and_hides_hidden_specs(
    client: TestClient, board: Board
) -> None:
    html = client.get(f"/submissions/{board.ids['A']}", headers=HTML).text
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in html
    bars = _marks(_svg(html, "chart-task-bias"))
    assert len(bars) == 3
    classes = [bar.attrib["class"] for bar in bars]
    assert ["pass-exc" in c for c in classes] == [True, False, False]
    assert ["fail" in c for c in classes] == [False, True, False]
    assert "rain + blur" not in html  # the hidden task's spec
    assert f"h1{board.suffix}" in html
    assert len(_marks(_svg(html, "chart-degradation-bias"))) == 2
    assert "Passes the acceptance line on 2 of 3 tasks and the excellence line on 1." in html
    assert 'id="live"' not in html


def test_a_queued_submission_shows_live_progress(client: TestClient, board: Board) -> None:
    _sign_in(client, board.users["alice"])
    html = client.get(f"/submissions/{board.ids['queued']}", headers=HTML).text
    assert f'data-api="/api/v1/submissions/{board.ids["queued"]}"' in html
    assert '<dd id="progress-text">0 / 3 tasks</dd>' in html
    assert "Cancel this submission" in html  # the owner may cancel
    # The page's script stops polling at the statuses the server's table calls finished.
    assert 'data-finished="scored failed cancelled"' in html


def test_private_pages_are_not_found_to_others(client: TestClient, board: Board) -> None:
    path = f"/submissions/{board.ids['private']}"
    anonymous = client.get(path, headers=HTML)
    assert anonymous.status_code == 404 and "SecretNet" not in anonymous.text
    assert '<p class="error-message">there is no submission' in anonymous.text
    _sign_in(client, board.users["bob"])
    assert client.get(path, headers=HTML).status_code == 404
    client.cookies.clear()
    _sign_in(client, board.users["alice"])
    assert client.get(path, headers=HTML).status_code == 200


def test_compare_counts_wins_losses_and_ties(client: TestClient, board: Board) -> None:
    html = client.get(f"/compare?a={board.ids['A']}&b={board.ids['B']}", headers=HTML).text
    # A − B per task: +3.5, −1.5 (+2.5 on h1, whose PSNR only each owner reads) → 1 win, 1 loss.
    assert re.search(r'id="wins">1<', html) and re.search(r'id="losses">1<', html)
    assert re.search(r'id="ties">0<', html)
    bars = _marks(_svg(html, "chart-compare"))
    assert [("pos" in b.attrib["class"]) for b in bars] == [True, False]
    hidden = client.get(f"/compare?a={board.ids['A']}&b={board.ids['private']}", headers=HTML)
    assert hidden.status_code == 404


def test_the_tasks_page_lists_public_specs_only(client: TestClient, board: Board) -> None:
    html = client.get("/tasks", headers=HTML).text
    assert "blur + noise" in html and f"/tasks/1{board.suffix}/thumb.png" in html
    assert "rain + blur" not in html and f"h1{board.suffix}" in html
    assert client.get(f"/tasks/h1{board.suffix}/thumb.png").status_code == 404


def test_pages_and_api_state_the_versions_metric_convention(
    client: TestClient, board: Board, session: Session
) -> None:
    authors = "PSNR: RGB, 8-bit, 4-px border cropped"
    for path in ("/", f"/submissions/{board.ids['A']}", "/tasks"):
        html = client.get(path, headers=HTML).text
        assert authors in html and "rgb,crop=4,8bit" in html, path
    api = client.get(f"/api/v1/submissions/{board.ids['A']}/results").json()
    assert api["measurement"] == {
        "metric_convention": "rgb,crop=4,8bit",
        "metric_convention_text": authors,
        "foreign_lines": None,
        "real_world_max_side": None,
    }
    version = session.scalar(select(BenchmarkVersion).where(BenchmarkVersion.is_active))
    assert version is not None
    real = ImageSet(name=f"real-{board.suffix}", role="real", label="old photo")
    session.add(real)
    session.flush()
    session.add(
        RealWorldResultRow(
            submission_id=board.ids["A"], image_set_id=real.id, mean_niqe=5.0, niqe=[5.0],
            seconds=1.0,
        )
    )  # fmt: skip
    session.commit()
    html = client.get(f"/submissions/{board.ids['A']}", headers=HTML).text
    assert "inputs are given at full size" in html
    version.metric_convention, version.foreign_lines = "rgb,crop=0,8bit", "paper Table C.1"
    version.real_world_max_side = 512
    session.commit()
    html = client.get(f"/submissions/{board.ids['A']}", headers=HTML).text
    assert "PSNR: RGB, 8-bit, no border crop" in html and authors not in html
    assert "AR/ER here are against foreign lines: paper Table C.1." in html
    assert "downscales real-world inputs to at most 512 px on the longer side before the model" in (
        html
    )
    tasks = client.get("/tasks", headers=HTML).text
    assert "against foreign lines: paper Table C.1" in tasks
    assert "provenance unknown (recorded before provenance was kept)" in tasks


# -- accounts, tokens, CSRF -----------------------------------------------------------------------


def test_register_then_create_a_token_shown_once(client: TestClient, session: Session) -> None:
    page = client.get("/register", headers=HTML)
    email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    form = {
        "email": email,
        "name": "Newcomer",
        "password": PASSWORD,
        "csrf_token": _csrf(page.text),
    }
    account = client.post("/register", data=form, headers=HTML)
    assert account.url.path == "/account" and "Newcomer" in account.text
    again = client.post("/register", data={**form, "csrf_token": _csrf(account.text)})
    assert again.status_code == 409 and "already" in again.text
    created = client.post(
        "/account/tokens", data={"name": "ci", "csrf_token": _csrf(account.text)}, headers=HTML
    )
    token = re.search(r'<code id="new-token" class="token">(gir_[^<]+)</code>', created.text)
    assert token is not None
    me = client.get("/api/v1/me", headers=bearer(token.group(1)))
    assert me.json()["email"] == email
    later = client.get("/account", headers=HTML).text
    assert token.group(1) not in later and 'id="tokens"' in later


def test_forms_without_the_csrf_token_are_refused(client: TestClient, board: Board) -> None:
    _sign_in(client, board.users["alice"])
    forged = client.post("/account/tokens", data={"name": "stolen"}, headers=HTML)
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert "stolen" not in client.get("/account", headers=HTML).text
    cancel = client.post(f"/submissions/{board.ids['queued']}/cancel", headers=HTML)
    assert cancel.status_code == 403
    cross = client.post(
        "/logout", data={"csrf_token": client.cookies["gir_csrf"]},
        headers={**HTML, "Sec-Fetch-Site": "cross-site"},
    )  # fmt: skip
    assert cross.status_code == 403


def test_a_wrong_password_shows_the_form_again(client: TestClient, board: Board) -> None:
    page = client.get("/login", headers=HTML)
    form = {"email": board.users["bob"].email, "password": "wrong", "csrf_token": _csrf(page.text)}
    response = client.post("/login", data=form, headers=HTML)
    assert response.status_code == 401 and 'id="login-form"' in response.text
    assert board.users["bob"].email in response.text


def test_sign_in_goes_back_to_a_local_page_only(client: TestClient, board: Board) -> None:
    page = client.get("/login?next=//evil.example/x", headers=HTML)
    assert 'name="next" value="/account"' in page.text
    form = {
        "email": board.users["bob"].email, "password": PASSWORD, "csrf_token": _csrf(page.text),
        "next": "/submit",
    }  # fmt: skip
    assert client.post("/login", data=form, headers=HTML).url.path == "/submit"


def test_the_submit_page_needs_an_account_and_shows_the_quota(
    client: TestClient, board: Board
) -> None:
    anonymous = client.get("/submit", headers=HTML).text
    assert 'id="sign-in-needed"' in anonymous and 'id="submit-form"' not in anonymous
    _sign_in(client, board.users["bob"])
    html = client.get("/submit", headers=HTML).text
    assert 'id="submit-form"' in html and 'data-max-bytes="' in html
    quota = re.search(r"<p id=\"quota\">(.*?)</p>", html, re.S)
    assert quota is not None, html
    # Bob submitted PlainNet today: one of his five daily slots is used.
    assert "You may submit <strong>4</strong> more models" in quota.group(1)


def test_the_upload_form_works_without_javascript(
    client: TestClient, board: Board, session: Session, storage_dir: Path
) -> None:
    _sign_in(client, board.users["bob"])
    token = _csrf(client.get("/submit", headers=HTML).text)
    fields = {"csrf_token": token, "name": "FormNet", "tile_size": "", "paper_url": ""}
    model = {"file": ("m.onnx", onnx_model(uuid.uuid4().hex), "application/octet-stream")}
    page = client.post("/submit", data=fields, files=model, headers=HTML)
    assert page.status_code == 200 and "<h1>FormNet</h1>" in page.text
    created = int(page.url.path.rsplit("/", 1)[1])
    row = session.get(Submission, created)
    assert row is not None and (row.status, row.owner_id) == ("queued", board.users["bob"].id)
    assert (storage_dir / row.storage_key).is_file()
    redis.Redis.from_url(get_settings().broker_url).delete("validate")


def test_a_forged_upload_form_stores_nothing(
    client: TestClient, board: Board, session: Session, storage_dir: Path
) -> None:
    _sign_in(client, board.users["bob"])
    folder = storage_dir / "submissions" / str(board.users["bob"].id)
    before = sorted(folder.rglob("*")) if folder.exists() else []
    model = {"file": ("m.onnx", onnx_model(uuid.uuid4().hex), "application/octet-stream")}
    forged = client.post("/submit", data={"name": "Forged"}, files=model, headers=HTML)
    assert forged.status_code == 403 and "CSRF" in forged.text
    after = sorted(folder.rglob("*")) if folder.exists() else []
    assert after == before
    names = session.scalars(
        select(Submission.name).where(Submission.owner_id == board.users["bob"].id)
    )
    assert "Forged" not in list(names)


# -- admin ----------------------------------------------------------------------------------------


def test_the_admin_page_is_for_admins_and_hides_models(client: TestClient, board: Board) -> None:
    assert client.get("/admin", headers=HTML).url.path == "/login"
    _sign_in(client, board.users["alice"])
    assert client.get("/admin", headers=HTML).status_code == 403
    client.cookies.clear()
    _sign_in(client, board.users["admin"])
    html = client.get("/admin", headers=HTML).text
    assert f'<tr data-id="{board.ids["queued"]}"' in html and 'id="queue"' in html
    assert "rain + blur" not in html  # lines are listed by task id
    hide = client.post(
        f"/admin/submissions/{board.ids['B']}/hide", data={"csrf_token": _csrf(html)}, headers=HTML
    )
    assert hide.status_code == 200 and "hidden" in hide.text
    board_rows = re.findall(r'<tr data-id="(\d+)"', client.get("/", headers=HTML).text)
    assert board_rows == [str(board.ids["A"])]


def test_api_errors_stay_json_and_unknown_pages_are_html(client: TestClient) -> None:
    api = client.get("/api/v1/submissions/987654321", headers=HTML)
    assert api.json()["detail"]["code"] == "not_found"
    page = client.get("/no-such-page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


def test_the_queue_overview_flags_what_the_reconciler_would_requeue(
    session: Session, board: Board
) -> None:
    now = utcnow() + timedelta(seconds=get_settings().stale_after_s + 1)
    overview = queue_overview(session=session, now=now)
    assert any(row.id == board.ids["queued"] and row.stale for row in overview.active)
    flagged = {row.id for row in overview.active if row.stale}
    assert flagged == {row.id for row in stale_submissions(session=session, now=now)}
    assert not any(row.stale for row in queue_overview(session=session).active)


def test_the_admin_page_shows_line_training_progress(
    client: TestClient, board: Board, session: Session
) -> None:
    task = Task.parse("noise(sigma=11)")
    key = f"p{uuid.uuid4().hex[:6]}"
    session.add(TaskDef(key=key, spec=str(task), task_hash=task.id, kind="hidden", order=1))
    session.commit()
    record = ProgressRecord(get_storage(), key, "excellence")
    record.update(100, 400)
    record.update(200, 400)
    _sign_in(client, board.users["admin"])
    html = client.get("/admin", headers=HTML).text
    row = re.search(rf'<tr><th scope="row" class="text">{key}</th>.*?</tr>', html, re.S)
    assert row is not None and "excellence" in row.group(0) and "200 / 400" in row.group(0)
    assert "50 %" in row.group(0)
    assert str(task) not in html  # a training line is named by its task id only
    clear_progress(get_storage(), key, "excellence")
    html = client.get("/admin", headers=HTML).text
    assert f'<th scope="row" class="text">{key}</th><td class="text">excellence' not in html
