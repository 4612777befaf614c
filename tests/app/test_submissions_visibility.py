"""Who may see what of a submission: the row, its results, its log and the list — public,
private and moderated submissions, and hidden tasks named by key and order only."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.submissions.models import TaskResultRow
from tests.app.submissions_support import API, HIDDEN_SPEC, World
from tests.support.factories import Headers, Rows


@pytest.fixture
def world(rows: Rows, storage_dir: Path) -> World:
    return World(rows, storage_dir)


SEES = {"anonymous": 404, "owner": 200, "other": 404, "admin": 200}
VISIBLE = {
    "public": {"anonymous": 200, "owner": 200, "other": 200, "admin": 200},
    "private": SEES,
    "hidden": SEES,
}


@pytest.mark.parametrize("kind", ["public", "private", "hidden"])
def test_who_sees_one_submission_its_results_and_its_log(
    client: TestClient, world: World, kind: str
) -> None:
    row = world.subs[kind]
    for who, headers in world.headers.items():
        one = client.get(f"{API}/{row.id}", headers=headers)
        results = client.get(f"{API}/{row.id}/results", headers=headers)
        log = client.get(f"{API}/{row.id}/log", headers=headers)
        assert (one.status_code, results.status_code) == (VISIBLE[kind][who],) * 2, who
        assert log.status_code == SEES[who], who
        if one.status_code == 404:
            assert one.json()["detail"]["message"] == f"there is no submission {row.id}"


def test_results_name_hidden_tasks_by_key_and_order_only(
    client: TestClient, session: Session, world: World
) -> None:
    row = world.subs["public"]
    lines = world.version.tasks
    session.add_all(
        [
            TaskResultRow(
                submission_id=row.id,
                version_task_id=lines[0].id,
                mean_psnr=25.0,  # equal to the acceptance line: not "surpassing" it
                mean_ssim=0.8,
                psnr=[24.0, 26.0],
                ssim=[0.7, 0.9],
                seconds=1.5,
            ),
            TaskResultRow(
                submission_id=row.id,
                version_task_id=lines[1].id,
                mean_psnr=24.5,
                mean_ssim=0.7,
                psnr=[24.5],
                ssim=[0.7],
                seconds=2.0,
            ),
        ]
    )
    row.status = "running"
    session.commit()
    # While it runs, hidden rows are held back from everyone but administrators: landing one by
    # one, they would time each hidden task (worker.progress).
    for headers in (world.other_h, world.owner_h):
        running = client.get(f"{API}/{row.id}/results", headers=headers).json()
        assert [task["kind"] for task in running["tasks"]] == ["representative"]
    admin_running = client.get(f"{API}/{row.id}/results", headers=world.admin_h).json()
    assert len(admin_running["tasks"]) == 2
    row.status = "scored"
    session.commit()
    response = client.get(f"{API}/{row.id}/results", headers=world.other_h)
    assert HIDDEN_SPEC not in response.text and "snow" not in response.text
    public, hidden = response.json()["tasks"]
    assert public["spec"] == "noise(sigma=20)" and public["kind"] == "representative"
    assert (public["passed_acceptance"], public["passed_excellence"], public["score"]) == (
        False,
        False,
        0.0,
    )
    assert public["psnr"] == [24.0, 26.0] and public["seconds"] == 1.5
    assert hidden["key"] == world.tasks[1].key and hidden["order"] == 2
    assert hidden["spec"] is None and hidden["kind"] == "hidden"
    assert hidden["psnr"] == [] and hidden["ssim"] == []
    assert (hidden["passed_acceptance"], hidden["passed_excellence"]) == (True, True)
    # Another user reads a hidden task's band only; no PSNR, score or runtime (issue #13 item 4).
    assert (hidden["mean_psnr"], hidden["score"], hidden["seconds"]) == (None, None, None)
    assert hidden["band"] == "above excellence" and response.json()["hidden_seconds"] == 2.0
    assert response.json()["benchmark_version"] == world.version.name
    admin_view = client.get(f"{API}/{row.id}/results", headers=world.admin_h)
    assert HIDDEN_SPEC not in admin_view.text  # results never carry hidden specs, for anyone


def test_log_hides_hidden_specs_from_the_owner(client: TestClient, world: World) -> None:
    row = world.subs["private"]
    owner = client.get(f"{API}/{row.id}/log", headers=world.owner_h)
    assert owner.headers["content-type"].startswith("text/plain")
    assert owner.text == f"scoring [hidden task {world.tasks[1].key}]\nTraceback: boom\n"
    admin = client.get(f"{API}/{row.id}/log", headers=world.admin_h)
    assert HIDDEN_SPEC in admin.text


def test_list_filters_paginates_and_respects_visibility(
    client: TestClient, rows: Rows, session: Session, world: World
) -> None:
    scored = rows.submission(world.owner, status="scored", is_baseline=True)
    rows.summary(
        scored,
        world.version.id,
        **dict.fromkeys(["ar", "er", "mean_psnr", "mean_ssim", "ar_low", "ar_high"], 0.5),
        **dict.fromkeys(["psnr_low", "psnr_high"], 0.5),
    )
    session.commit()
    mine = {row.id for row in world.subs.values()} | {scored.id}

    def ids(headers: Headers, query: str = "") -> tuple[set[int], int]:
        page = client.get(f"{API}?limit=200{query}", headers=headers).json()
        return {item["id"] for item in page["items"]}, page["total"]

    anonymous, total = ids({})
    assert scored.id in anonymous and not anonymous & {r.id for r in world.subs.values()}
    assert total == len(anonymous)
    assert ids(world.owner_h, "&owner=me") == (mine, 4)
    assert ids(world.other_h, "&owner=me") == (set(), 0)
    assert ids(world.owner_h, "&owner=me&status=running")[0] == mine - {scored.id}
    assert ids(world.owner_h, "&owner=me&baseline=true") == ({scored.id}, 1)
    assert ids(world.owner_h, "&owner=me&format=torchscript") == (set(), 0)
    assert mine <= ids(world.admin_h)[0]
    page = client.get(f"{API}?owner=me&limit=2&offset=1", headers=world.owner_h).json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (2, 4, 2, 1)
    newest_first = sorted(mine, reverse=True)
    assert [item["id"] for item in page["items"]] == newest_first[1:3]
    item = client.get(f"{API}?owner=me&baseline=true", headers=world.owner_h).json()["items"][0]
    assert item["summary"]["ar"] == 0.5 and item["owner"]["name"] == "owner"
    assert client.get(f"{API}?owner=me").status_code == 422
    assert client.get(f"{API}?status=done").status_code == 422
    assert client.get(f"{API}?limit=0").status_code == 422
