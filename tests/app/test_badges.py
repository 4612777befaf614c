"""Badges: the SVG of a public scored submission, and of an owner's best model of a name."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.app.test_leaderboard import Board, _entry
from tests.support.factories import Rows

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def board(session: Session) -> Board:
    return Board(session)


def _svg(response: object) -> ET.Element:
    """The badge parsed as XML, after the checks every badge response must pass."""
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["content-type"] == "image/svg+xml"
    assert headers["cache-control"] == "public, max-age=300"
    assert headers["etag"].startswith('"') and headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "default-src 'none'"
    return ET.fromstring(response.text)  # type: ignore[attr-defined]


def _texts(svg: ET.Element) -> list[str]:
    return [node.text or "" for node in svg.iter(f"{SVG_NS}text")]


def test_a_public_submission_badge_shows_its_summary(client: TestClient, board: Board) -> None:
    svg = _svg(client.get(f"/api/v1/submissions/{board.c.id}/badge.svg"))
    summary = client.get(f"/api/v1/submissions/{board.c.id}").json()["summary"]
    value = f"AR {summary['ar']:.2f} · ER {summary['er']:.2f}"
    assert value == "AR 0.50 · ER 0.10"
    assert _texts(svg) == ["GIR", "GIR", value, value]  # shadow and text of each half
    title = svg.find(f"{SVG_NS}title")
    assert title is not None
    assert title.text == "GIR Bench: =HYPERLINK(evil) — AR 0.50, ER 0.10"
    assert svg.get("role") == "img" and svg.get("aria-label") == title.text
    assert int(svg.get("width", "0")) > 100 and svg.get("height") == "20"


def test_only_public_scored_unmoderated_submissions_have_badges(
    client: TestClient, board: Board
) -> None:
    for row in board.hidden:  # moderated, private, still running
        missing = client.get(f"/api/v1/submissions/{row.id}/badge.svg")
        assert missing.status_code == 404, row.name
        assert missing.json()["detail"]["code"] == "not_found"
    assert client.get("/api/v1/submissions/999999/badge.svg").status_code == 404


def test_names_are_escaped_and_an_unchanged_badge_is_not_sent_again(
    client: TestClient, rows: Rows, session: Session, board: Board
) -> None:
    owner = rows.user("mallory")
    evil = _entry(session, owner, board.v1, '</title><script>alert(1)</script>&"', (0.3, 0, 1))
    session.commit()
    response = client.get(f"/api/v1/submissions/{evil.id}/badge.svg")
    svg = _svg(response)
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert not list(svg.iter(f"{SVG_NS}script"))
    title = svg.find(f"{SVG_NS}title")
    assert title is not None and title.text == (
        'GIR Bench: </title><script>alert(1)</script>&" — AR 0.30, ER 0.00'
    )
    again = client.get(
        f"/api/v1/submissions/{evil.id}/badge.svg",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""


def test_the_model_badge_is_the_owners_best_public_submission_of_that_name(
    client: TestClient, rows: Rows, session: Session, board: Board
) -> None:
    owner = rows.user("lin")
    name = "Restorer/v2 [β]"
    _entry(session, owner, board.v1, name, (0.4, 0.2, 26.0))
    _entry(session, owner, board.v1, name, (0.6, 0.1, 25.0))
    _entry(session, owner, board.v1, name, (0.9, 0.9, 30.0), visibility="private")
    _entry(session, owner, board.v2, name, (0.95, 0.9, 30.0))  # not the active version
    _entry(session, board.a.owner, board.v1, name, (1.0, 1.0, 40.0))  # someone else's
    session.commit()
    path = f"/api/v1/models/{quote(name, safe='')}/badge.svg"
    svg = _svg(client.get(path, params={"owner": owner.id}))
    assert "AR 0.60 · ER 0.10" in _texts(svg)
    theirs = _svg(client.get(path, params={"owner": board.a.owner_id}))
    assert "AR 1.00 · ER 1.00" in _texts(theirs)
    assert client.get(path, params={"owner": board.b.owner_id}).status_code == 404
    nothing = client.get("/api/v1/models/nothing/badge.svg", params={"owner": owner.id})
    assert nothing.status_code == 404
    assert client.get(path).status_code == 422  # the owner is required


def test_the_model_page_offers_the_markdown_snippet(client: TestClient, board: Board) -> None:
    page = client.get(f"/submissions/{board.a.id}").text
    expected = f"/api/v1/models/Alpha/badge.svg?owner={board.a.owner_id}"
    assert f'<img id="badge-image" src="{expected}"' in page
    assert f"[![GIR Bench AR/ER of Alpha](http://127.0.0.1:8000{expected})]" in page
    assert 'id="copy-badge"' in page
    baseline = client.get(f"/submissions/{board.d.id}").text  # reference rows get none
    assert 'id="badge-snippet"' not in baseline
