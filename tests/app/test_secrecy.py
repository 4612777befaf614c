"""The hidden set never leaks: every GET route of the application, called with real ids as an
anonymous visitor, as the owner of the submissions and as another user, answers without a
hidden task's canonical text, any of its parametrised steps, or its task hash — although the
database holds them in the tasks, and the owner's failure logs print them.

The routes come from ``app.main.create_app()`` itself, so a route added later is scanned too;
one with a path parameter this test cannot fill fails the test until it is taught here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import (
    BenchmarkVersion,
    Image,
    ImageSet,
    TaskDef,
    VersionImageSet,
    VersionTask,
)
from app.main import create_app
from app.storage import get_storage, put_bytes
from app.submissions.examples import save_example
from app.submissions.lifecycle import log_key
from app.submissions.models import RealWorldResultRow, Submission, Summary, TaskResultRow
from gir_core.scoring import Example
from gir_core.tasks import Task, representative_tasks, sample_task
from tests.support.factories import Headers, Rows

MISSING_ID = 987_654_321


@dataclass
class World:
    """A benchmark with hidden tasks, and submissions of every kind the routes can show."""

    version: str
    secrets: dict[str, list[str]]  # hidden task key -> texts that must never appear
    public_specs: list[str]
    submissions: dict[str, int] = field(default_factory=dict)
    viewers: dict[str, Headers] = field(default_factory=dict)
    owners: list[int] = field(default_factory=list)  # user ids (model badges name their owner)


PUBLIC_TEXT = "\n".join(str(task) for task in representative_tasks())
"""Table C.1 is public: a hidden step equal to one of its steps gives nothing away."""


def _secrets(task: Task) -> list[str]:
    """The canonical text, the hash, and every step with parameters of its own (random ones,
    not those of a public task)."""
    steps = [str(step) for step in task.steps if "(" in str(step)]
    return [str(task), task.id, *(step for step in steps if step not in PUBLIC_TEXT)]


def _tasks(session: Session) -> tuple[list[TaskDef], dict[str, list[str]]]:
    rows, secrets = [], {}
    for number, task in enumerate(representative_tasks()[:3], start=1):
        rows.append(TaskDef(key=str(900 + number), spec=str(task), task_hash=task.id))
        rows[-1].kind, rows[-1].order = "representative", task.order
    for number in range(1, 6):
        task = sample_task([90210, number])
        key = f"h9{number}"
        rows.append(TaskDef(key=key, spec=str(task), task_hash=task.id))
        rows[-1].kind, rows[-1].order = "hidden", task.order
        secrets[key] = _secrets(task)
    session.add_all(rows)
    session.flush()
    return rows, secrets


def _image_sets(session: Session) -> list[ImageSet]:
    sets = [ImageSet(name=f"gt-{uuid.uuid4().hex[:6]}", role="gt", label="")]
    sets.append(ImageSet(name=f"real-{uuid.uuid4().hex[:6]}", role="real", label="old photo"))
    for image_set in sets:
        image_set.images = [
            Image(
                position=n,
                filename=f"{n}.png",
                sha256=uuid.uuid4().hex * 2,
                storage_key=f"images/{n}.png",
                width=64,
                height=64,
            )
            for n in range(2)
        ]
    session.add_all(sets)
    session.flush()
    return sets


def _version(session: Session) -> tuple[BenchmarkVersion, dict[str, list[str]], list[str]]:
    session.execute(update(BenchmarkVersion).values(is_active=False))
    tasks, secrets = _tasks(session)
    version = BenchmarkVersion(
        name=f"secret-{uuid.uuid4().hex[:6]}", seed=90210, is_active=True, metric_settings={}
    )
    version.tasks = [
        VersionTask(task=task, position=n, acceptance_psnr=24.0, excellence_psnr=27.0)
        for n, task in enumerate(tasks)
    ]
    version.image_sets = [VersionImageSet(image_set=s) for s in _image_sets(session)]
    session.add(version)
    session.flush()
    public = [task.spec for task in tasks if task.kind == "representative"]
    return version, secrets, public


def _submission(
    rows: Rows, owner: User, version: BenchmarkVersion, name: str, **fields: object
) -> Submission:
    row = rows.submission(
        owner, name=name, benchmark_version_id=version.id, progress_total=len(version.tasks),
        **fields,
    )  # fmt: skip
    put_bytes(get_storage(), row.storage_key, b"model bytes")  # owners may download it
    return row


def _scores(session: Session, submission: Submission, version: BenchmarkVersion) -> None:
    for n, line in enumerate(version.tasks):
        psnr = [25.0 + n / 10, 26.0 + n / 10]
        session.add(
            TaskResultRow(
                submission_id=submission.id,
                version_task_id=line.id,
                mean_psnr=sum(psnr) / 2,
                mean_ssim=0.8,
                psnr=psnr,
                ssim=[0.8, 0.8],
                seconds=0.5,
            )
        )
    real = next(s.image_set for s in version.image_sets if s.image_set.role == "real")
    session.add(
        RealWorldResultRow(
            submission_id=submission.id, image_set_id=real.id, mean_niqe=5.0, niqe=[5, 5], seconds=1
        )
    )
    values = {"ar": 0.5, "er": 0.25, "mean_psnr": 25.5, "mean_ssim": 0.8, "ar_low": 0.4}
    values |= {"ar_high": 0.6, "psnr_low": 25.0, "psnr_high": 26.0, "ar_representative": 0.6}
    values |= {"ar_hidden": 0.4, "psnr_representative": 26.0, "psnr_hidden": 25.0}
    values |= {"bias": {"haze": 0.3, "noise": -0.1}, "mean_niqe": 5.0}
    Rows(session).summary(submission, version.id, **values)


def _leaky_log(submission: Submission, texts: list[str]) -> None:
    """A sandbox log that prints hidden specs, as a careless model or worker might."""
    key = log_key(submission.id)
    lines = [f"== scoring ==\nTraceback: while running task {text!r}\n" for text in texts]
    put_bytes(get_storage(), key, "".join(lines).encode())
    submission.log_key = key


@pytest.fixture
def world(session: Session, rows: Rows, storage_dir: Path) -> World:
    version, secrets, public = _version(session)
    owner, owner_headers = rows.user_with_token("owner")
    other, other_headers = rows.user_with_token("other")
    found = World(version.name, secrets, public, viewers={"anonymous": {}})
    found.viewers |= {"owner": owner_headers, "other user": other_headers}
    found.owners = [owner.id, other.id]
    hidden_specs = [texts[0] for texts in secrets.values()]
    kinds: dict[str, tuple[User, dict[str, object]]] = {
        "public scored": (owner, {"status": "scored"}),
        "private scored": (owner, {"status": "scored", "visibility": "private"}),
        "moderated": (owner, {"status": "scored", "is_hidden": True}),
        "failed": (owner, {"status": "failed", "error_code": "crash"}),
        "running": (owner, {"status": "running", "current_task": "h93", "progress_done": 4}),
        "queued": (owner, {"status": "queued"}),
        "other's": (other, {"status": "scored"}),
    }
    for name, (user, fields) in kinds.items():
        row = _submission(rows, user, version, name, **fields)
        if fields["status"] in ("scored", "running"):
            _scores(session, row, version)
        if name in ("failed", "private scored", "running"):
            _leaky_log(row, hidden_specs + public)
        found.submissions[name] = row.id
    # A stored example (public task 901) and a stray one under a hidden key: never served.
    crop = np.full((8, 8, 3), 128, np.uint8)
    for key in ("901", "h91"):
        save_example(
            get_storage(), found.submissions["public scored"], key, Example(crop, crop, crop)
        )
    failed = session.get(Submission, found.submissions["failed"])
    assert failed is not None
    failed.error_message = "the model raised an error or crashed while scoring (withheld)"
    session.commit()
    return found


# --- routes ------------------------------------------------------------------------------------


def _path_values(world: World) -> dict[str, list[str]]:
    """Real values (and a missing one) for every path parameter the application has."""
    return {
        "submission_id": [*map(str, world.submissions.values()), str(MISSING_ID)],
        # Version names, and model names (the model badge): a public and a private one.
        "name": [world.version, "no-such-version", "public scored", "private scored"],
        "token_id": ["1", str(MISSING_ID)],
        # Hidden keys (none may answer with an image) and a public one ("901").
        "task_key": [*world.secrets, "901"],
        "key": [*world.secrets, "901", "no-such-task"],
        "part": ["input", "output", "gt"],
        "asset": ["swagger-ui.css", "no-such-asset"],
    }


def _queries(world: World) -> dict[str, list[str]]:
    """Extra query strings per route name, beyond none at all (filters that change output)."""
    board = [f"?version={world.version}&limit=1000", "?sort=gap&baselines=false"]
    return {
        "list_submissions": ["?owner=me", "?status=failed", "?status=running", "?limit=100"],
        "list_tasks": [f"?version={world.version}"],
        "leaderboard": board,
        "leaderboard_csv": board,
        "leaderboard_page": board,
        "tasks_page": [f"?version={world.version}"],
        "model_badge": [f"?owner={owner}" for owner in world.owners],
        "compare_page": [
            f"?a={a}&b={b}" for a in world.submissions.values() for b in world.submissions.values()
        ],
    }


def get_urls(world: World) -> Iterator[tuple[str, str]]:
    """(route name, URL) for every GET route of the application, every parameter filled."""
    values, queries = _path_values(world), _queries(world)
    for route in iter_route_contexts(create_app().routes):
        if "GET" not in (route.methods or set()):
            continue
        paths = [route.path]
        for param in route.param_convertors:
            if param not in values:
                pytest.fail(
                    f"route {route.name} ({route.path}) has a path parameter {param!r} "
                    "that test_secrecy cannot fill: add real values for it"
                )
            pattern = re.compile(rf"{{{param}(:\w+)?}}")  # with or without a convertor
            paths = [pattern.sub(v, p) for p in paths for v in values[param]]
        for path in paths:
            for query in ["", *queries.get(route.name, [])]:
                yield route.name, path + query


def leaks(body: str, world: World) -> list[str]:
    """Which secret texts (by hidden task key) occur in ``body``."""
    return [
        f"{key}: {text!r}" for key, texts in world.secrets.items() for text in texts if text in body
    ]


# --- tests -------------------------------------------------------------------------------------


def test_the_world_holds_the_secrets_it_is_scanned_for(world: World, session: Session) -> None:
    specs = {key: texts[0] for key, texts in world.secrets.items()}
    stored = session.execute(select(TaskDef.key, TaskDef.spec).where(TaskDef.key.in_(specs)))
    assert {key: spec for key, spec in stored} == specs
    assert all(leaks(spec, world) for spec in specs.values())  # the scanner sees them
    assert not any(leaks(public, world) for public in world.public_specs)


def test_no_route_shows_a_hidden_spec_or_hash(client: TestClient, world: World) -> None:
    found: list[str] = []
    answered: dict[str, set[int]] = {}
    for name, url in get_urls(world):
        for viewer, headers in world.viewers.items():
            response = client.get(url, headers=headers)
            answered.setdefault(name, set()).add(response.status_code)
            text = response.text + " " + " ".join(response.headers.values())
            found += [f"{name} GET {url} as {viewer}: {leak}" for leak in leaks(text, world)]
    assert found == [], "hidden task text leaked:\n" + "\n".join(found)
    silent = sorted(name for name, statuses in answered.items() if 200 not in statuses)
    assert silent == [], f"routes that never answered 200, so were not really scanned: {silent}"


def test_the_owner_reads_the_log_with_hidden_specs_replaced(
    client: TestClient, world: World
) -> None:
    url = f"/api/v1/submissions/{world.submissions['failed']}/log"
    log = client.get(url, headers=world.viewers["owner"])
    assert log.status_code == 200
    for key in world.secrets:
        assert f"[hidden task {key}]" in log.text
    assert all(public in log.text for public in world.public_specs)
    assert leaks(log.text, world) == []


def test_results_name_hidden_tasks_by_key_and_order_only(client: TestClient, world: World) -> None:
    url = f"/api/v1/submissions/{world.submissions['public scored']}/results"
    tasks = client.get(url).json()["tasks"]
    hidden = [task for task in tasks if task["kind"] == "hidden"]
    assert sorted(task["key"] for task in hidden) == sorted(world.secrets)
    assert all(task["spec"] is None and task["psnr"] == [] for task in hidden)
    public = [task["spec"] for task in tasks if task["kind"] == "representative"]
    assert public == world.public_specs


# --- the covert channel through published numbers (issue #13, item 4) -------------------------

FULL = {"mean_psnr": 26.123456, "mean_ssim": 0.876543, "seconds": 3.14159}
"""A hidden task's stored values, at the full precision a model could write into them."""
SUMMARY = {"mean_psnr": 25.987654, "psnr_low": 25.111111, "psnr_high": 26.777777}
SUMMARY |= {"mean_ssim": 0.765432, "psnr_hidden": 25.444444}


def _hidden_at_full_precision(session: Session, world: World) -> None:
    """What a model that encodes a pixel into its hidden tasks' scores would leave stored."""
    hidden = select(VersionTask.id).join(TaskDef).where(TaskDef.kind == "hidden")
    scored = [world.submissions[name] for name in ("public scored", "private scored")]
    rows = select(TaskResultRow).where(
        TaskResultRow.submission_id.in_(scored), TaskResultRow.version_task_id.in_(hidden)
    )
    for row in session.scalars(rows):
        row.mean_psnr, row.mean_ssim, row.seconds = FULL.values()
    for submission_id in scored:
        summary = session.get(Summary, submission_id)
        assert summary is not None
        for name, value in SUMMARY.items():
            setattr(summary, name, value)
    session.commit()


def test_hidden_task_numbers_are_published_coarsened_everywhere(
    client: TestClient, world: World, session: Session
) -> None:
    _hidden_at_full_precision(session, world)
    full = [f"{value:.5f}"[:-1] for value in (*FULL.values(), *SUMMARY.values())]
    rounded_hidden = [f"{FULL['mean_psnr']:.2f}", f"{FULL['mean_ssim']:.2f}"]
    found: list[str] = []
    for name, url in get_urls(world):
        for viewer, headers in world.viewers.items():
            text = client.get(url, headers=headers).text
            shown = [value for value in full if value in text]
            # Only the owner reads a hidden task's PSNR/SSIM, and then to 2 decimals.
            if viewer != "owner":
                shown += [value for value in rounded_hidden if value in text]
            found += [f"{name} GET {url} as {viewer}: {value}" for value in shown]
    assert found == [], "hidden-task values published too precisely:\n" + "\n".join(found)

    url = f"/api/v1/submissions/{world.submissions['public scored']}/results"
    owner = client.get(url, headers=world.viewers["owner"]).json()
    anonymous = client.get(url).json()
    hidden = [task for task in owner["tasks"] if task["kind"] == "hidden"]
    owned = {(t["mean_psnr"], t["mean_ssim"], t["score"], t["seconds"]) for t in hidden}
    assert owned == {(26.12, 0.88, 0.71, None)}  # score from the rounded PSNR: (26.12 − 24) / 3
    assert owner["hidden_seconds"] == anonymous["hidden_seconds"] == 16.0  # 5 × 3.14159, 2 figures
    for task in (t for t in anonymous["tasks"] if t["kind"] == "hidden"):
        assert (task["mean_psnr"], task["score"], task["seconds"]) == (None, None, None)
        assert task["band"] == "midway to excellence"  # (26.12 − 24) / 3 = 0.71
    summary = anonymous["summary"]
    assert (summary["mean_psnr"], summary["psnr_hidden"], summary["mean_ssim"]) == (
        25.99,
        25.44,
        0.77,
    )
