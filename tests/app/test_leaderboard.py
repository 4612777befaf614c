"""The leaderboard API on PostgreSQL: ranking, sorting, filters, paging, versions, CSV export,
and one statement per page however many submissions there are."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, insert, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion
from app.db import utcnow
from app.leaderboard.service import CSV_COLUMNS
from app.submissions.models import Submission, Summary
from tests.support.factories import Rows

BOARD = "/api/v1/leaderboard"


def _version(session: Session, name: str, *, active: bool = False) -> BenchmarkVersion:
    version = BenchmarkVersion(name=name, seed=1, is_active=active)
    session.add(version)
    session.flush()
    return version


def _entry(
    session: Session,
    owner: User,
    version: BenchmarkVersion,
    name: str,
    scores: tuple[float, float, float],
    **extra: Any,
) -> Submission:
    """A submission with a summary: ``scores`` = (AR, ER, mean PSNR)."""
    split = extra.pop("split", (None, None))
    niqe = extra.pop("niqe", None)
    extra.setdefault("status", "scored")
    rows = Rows(session)
    row = rows.submission(
        owner, name=name, size_bytes=1, storage_key="x", benchmark_version_id=version.id, **extra
    )
    ar, er, psnr = scores
    rows.summary(
        row,
        version.id,
        ar=ar,
        er=er,
        mean_psnr=psnr,
        mean_ssim=0.8,
        ar_low=ar - 0.1,
        ar_high=ar + 0.1,
        psnr_low=psnr - 1,
        psnr_high=psnr + 1,
        ar_representative=split[0],
        ar_hidden=split[1],
        mean_niqe=niqe,
    )
    return row


class Board:
    """Five ranked rows on the active version (a tie, a baseline, a formula-looking name) and
    rows that must never show: moderated, private, still running, another version."""

    def __init__(self, session: Session) -> None:
        session.execute(update(BenchmarkVersion).values(is_active=False))
        users = Rows(session)
        ada, grace = users.user("ada"), users.user("Grace Hopper")
        admin = users.user("operator", admin=True)
        self.v1 = _version(session, f"v1-{uuid.uuid4().hex[:6]}", active=True)
        self.v2 = _version(session, f"v2-{uuid.uuid4().hex[:6]}")
        v1 = self.v1
        self.a = _entry(session, ada, v1, "Alpha", (0.8, 0.4, 28.0), split=(0.9, 0.7), niqe=5.0)
        self.b = _entry(session, grace, v1, "beta", (0.8, 0.4, 27.0), format="torchscript")
        self.e = _entry(session, grace, v1, "epsilon", (0.8, 0.4, 27.0), split=(0.8, 0.8))
        self.c = _entry(session, ada, v1, "=HYPERLINK(evil)", (0.5, 0.1, 25.0), niqe=4.0)
        self.d = _entry(session, admin, v1, "identity", (0.1, 0.0, 20.0), is_baseline=True)
        self.hidden = [
            _entry(session, ada, v1, "moderated", (1.0, 1.0, 40.0), is_hidden=True),
            _entry(session, ada, v1, "private", (1.0, 1.0, 40.0), visibility="private"),
            _entry(session, ada, v1, "rescoring", (1.0, 1.0, 40.0), status="running"),
        ]
        self.other = _entry(session, ada, self.v2, "old", (0.3, 0.2, 22.0))
        for offset, row in enumerate([self.a, self.b, self.e, self.c, self.d]):
            row.created_at = utcnow() - timedelta(days=10 - offset)
            row.parameters, row.seconds_per_mp = 1000 * (offset + 1), 0.5 * (5 - offset)
        session.commit()
        self.ranked = [self.a, self.b, self.e, self.c, self.d]


@pytest.fixture
def board(session: Session) -> Board:
    return Board(session)


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_default_board_is_the_active_version_ranked_by_ar_er_psnr(
    client: TestClient, board: Board
) -> None:
    page = client.get(BOARD).json()
    assert page["version"] == board.v1.name
    assert (page["sort"], page["order"], page["total"]) == ("rank", "asc", 5)
    assert [item["id"] for item in page["items"]] == [row.id for row in board.ranked]
    assert [item["rank"] for item in page["items"]] == [1, 2, 2, 4, 5]
    first = page["items"][0]
    assert first["name"] == "Alpha" and first["owner"] == "ada"
    assert (first["ar"], first["ar_low"], first["ar_high"]) == (0.8, 0.8 - 0.1, 0.8 + 0.1)
    assert first["gap"] == pytest.approx(0.2)
    assert (first["mean_niqe"], first["parameters"], first["is_baseline"]) == (5.0, 1000, False)
    assert first["url"].endswith(f"/api/v1/submissions/{board.a.id}")
    assert page["items"][4]["is_baseline"] is True


@pytest.mark.parametrize(
    ("query", "order"),
    [
        ("sort=mean_psnr&order=asc", ["d", "c", "b", "e", "a"]),
        ("sort=gap", ["a", "e", "b", "c", "d"]),  # nulls last, then by id
        ("sort=gap&order=asc", ["e", "a", "b", "c", "d"]),
        ("sort=mean_niqe&order=asc", ["c", "a", "b", "e", "d"]),
        ("sort=created_at", ["d", "c", "e", "b", "a"]),
        ("sort=parameters&order=asc", ["a", "b", "e", "c", "d"]),
        ("sort=seconds_per_mp", ["a", "b", "e", "c", "d"]),
        ("sort=er&order=asc", ["d", "c", "a", "b", "e"]),
        ("sort=format&order=desc", ["b", "a", "e", "c", "d"]),
    ],
)
def test_sort_by_any_column(client: TestClient, board: Board, query: str, order: list[str]) -> None:
    expected = [getattr(board, name).id for name in order]
    assert _ids(client.get(f"{BOARD}?{query}")) == expected


def test_sort_and_paging_are_validated(client: TestClient, board: Board) -> None:
    bad = client.get(f"{BOARD}?sort=password_hash")
    assert bad.status_code == 422
    assert bad.json()["detail"]["message"].startswith("query.sort: Input should be 'rank'")
    assert client.get(f"{BOARD}?order=sideways").status_code == 422
    assert client.get(f"{BOARD}?limit=1001").status_code == 422
    assert client.get(f"{BOARD}?offset=-1").status_code == 422


def test_filters_keep_the_global_rank(client: TestClient, board: Board) -> None:
    only_ts = client.get(f"{BOARD}?format=torchscript").json()
    assert [(i["id"], i["rank"]) for i in only_ts["items"]] == [(board.b.id, 2)]
    assert only_ts["total"] == 1
    no_baselines = _ids(client.get(f"{BOARD}?baselines=false"))
    assert no_baselines == [row.id for row in board.ranked[:4]]
    assert _ids(client.get(f"{BOARD}?q=ALPHA")) == [board.a.id]
    assert _ids(client.get(f"{BOARD}?q=hopper")) == [board.b.id, board.e.id]  # owner name
    assert _ids(client.get(f"{BOARD}?q=%25")) == []  # a literal %, not a wildcard
    assert _ids(client.get(f"{BOARD}?q=(evil")) == [board.c.id]


def test_pages_and_totals(client: TestClient, board: Board) -> None:
    page = client.get(f"{BOARD}?limit=2&offset=1").json()
    assert [i["id"] for i in page["items"]] == [board.b.id, board.e.id]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    past = client.get(f"{BOARD}?offset=50").json()
    assert (past["items"], past["total"]) == ([], 5)


def test_other_versions_and_unknown_names(client: TestClient, board: Board) -> None:
    older = client.get(f"{BOARD}?version={board.v2.name}").json()
    assert [(i["id"], i["rank"]) for i in older["items"]] == [(board.other.id, 1)]
    missing = client.get(f"{BOARD}?version=nope")
    assert missing.status_code == 404
    assert missing.json()["detail"] == {
        "code": "not_found",
        "message": "there is no benchmark version named 'nope'",
    }


def test_no_active_version_is_an_empty_board(client: TestClient, session: Session) -> None:
    session.execute(update(BenchmarkVersion).values(is_active=False))
    session.commit()
    page = client.get(BOARD).json()
    assert (page["version"], page["items"], page["total"]) == (None, [], 0)
    assert client.get(f"{BOARD}.csv").text == ",".join(CSV_COLUMNS) + "\n"


def test_csv_export_has_every_row_and_defuses_formulas(client: TestClient, board: Board) -> None:
    response = client.get(f"{BOARD}.csv?baselines=false")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = f'attachment; filename="leaderboard-{board.v1.name}.csv"'
    assert response.headers["content-disposition"] == disposition
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [int(row["id"]) for row in rows] == [row.id for row in board.ranked[:4]]
    assert rows[3]["name"] == "'=HYPERLINK(evil)"
    assert (rows[0]["rank"], rows[0]["ar"], rows[0]["owner"]) == ("1", "0.8", "ada")
    assert rows[3]["gap"] == "" and rows[3]["mean_niqe"] == "4.0"
    sorted_csv = client.get(f"{BOARD}.csv?sort=mean_psnr&order=asc&format=onnx").text
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(sorted_csv))] == [
        board.d.id,
        board.c.id,
        board.e.id,
        board.a.id,
    ]


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    """Every SQL statement (savepoints too) the test's connection runs meanwhile."""
    seen: list[str] = []
    connection = session.connection()

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection, "before_cursor_execute", record)


def test_one_statement_per_page_with_a_thousand_submissions(
    client: TestClient, rows: Rows, session: Session, statements: list[str]
) -> None:
    session.execute(update(BenchmarkVersion).values(is_active=False))
    owner = rows.user("many")
    version = _version(session, f"big-{uuid.uuid4().hex[:6]}", active=True)
    rows = [
        {
            "owner_id": owner.id,
            "name": f"model {n}",
            "format": "onnx",
            "sha256": f"{n:064x}",
            "size_bytes": 1,
            "storage_key": "x",
            "status": "scored",
        }
        for n in range(1000)
    ]
    ids = session.scalars(insert(Submission).returning(Submission.id), rows).all()
    scores = {"er": 0.1, "mean_psnr": 25.0, "mean_ssim": 0.8, "ar_low": 0.0, "ar_high": 1.0}
    scores |= {"psnr_low": 24.0, "psnr_high": 26.0, "bias": {}, "computed_at": utcnow()}
    summaries = [
        {"submission_id": i, "benchmark_version_id": version.id, "ar": (i % 97) / 97, **scores}
        for i in ids
    ]
    session.execute(insert(Summary), summaries)
    session.commit()
    statements.clear()
    page = client.get(f"{BOARD}?sort=ar&limit=100&offset=200").json()
    assert page["total"] == 1000 and len(page["items"]) == 100
    ars = [item["ar"] for item in page["items"]]
    assert ars == sorted(ars, reverse=True)
    queries = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 2, "\n\n".join(queries)  # the active version, then the page


def test_one_submission_by_id_keeps_its_rank_on_the_whole_board(
    client: TestClient, board: Board
) -> None:
    """``?id=`` is how ``gir submit --wait`` learns its rank: the row with its global place."""
    tied = client.get(f"{BOARD}?id={board.e.id}&limit=1").json()
    assert [(i["id"], i["rank"]) for i in tied["items"]] == [(board.e.id, 2)]
    assert tied["total"] == 1
    assert client.get(f"{BOARD}?id={board.d.id}").json()["items"][0]["rank"] == 5
    for row in board.hidden:  # moderated, private, unscored: not on the board
        assert _ids(client.get(f"{BOARD}?id={row.id}")) == []
    assert _ids(client.get(f"{BOARD}?id={board.other.id}")) == []  # another version
    assert _ids(client.get(f"{BOARD}?id={board.other.id}&version={board.v2.name}")) == [
        board.other.id
    ]
    assert client.get(f"{BOARD}?id=0").status_code == 422
