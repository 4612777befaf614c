"""Uploads through the real API on PostgreSQL and Redis: streamed to storage, committed, then
enqueued; bad files, size and metadata limits, dedupe, a database outage mid-upload, and the
OpenAPI description of it all."""

from __future__ import annotations

import hashlib
import io
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.submissions.models import Submission
from app.submissions.upload import check_length
from tests.app.submissions_support import (
    API,
    onnx_model,
    queued_ids,
    stored_files,
    torchscript_archive,
    upload,
)
from tests.support.factories import Rows
from tests.support.services import PG_ADMIN


def test_upload_streams_to_storage_commits_then_enqueues(
    client: TestClient, rows: Rows, session: Session, storage_dir: Path, broker: redis.Redis
) -> None:
    user, headers = rows.user_with_token("ada")
    content = onnx_model("upload", pad=300_000)  # several chunks, past the sniffed head
    response = upload(client, headers, content, paper_url="https://arxiv.org/abs/2308.15117")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued"
    assert body["url"] == f"http://127.0.0.1:8000{API}/{body['id']}"
    assert response.headers["location"] == body["url"]
    row = session.get(Submission, body["id"])
    assert row is not None and row.owner_id == user.id
    assert (row.format, row.size_bytes, row.status) == ("onnx", len(content), "queued")
    assert row.sha256 == hashlib.sha256(content).hexdigest()
    assert row.paper_url == "https://arxiv.org/abs/2308.15117"
    assert row.storage_key.startswith(f"submissions/{user.id}/") and row.storage_key.endswith(
        ".onnx"
    )
    assert (storage_dir / row.storage_key).read_bytes() == content
    assert queued_ids(broker) == [row.id]


def test_torchscript_is_recognised_from_bytes_not_name(
    client: TestClient, rows: Rows, session: Session, storage_dir: Path, broker: redis.Redis
) -> None:
    _, headers = rows.user_with_token("ada")
    content = torchscript_archive("ts")
    response = upload(client, headers, content, tile_size="", size_multiple="8")
    assert response.status_code == 202, response.text
    row = session.get(Submission, response.json()["id"])
    assert row is not None
    assert (row.format, row.size_multiple, row.tile_size) == ("torchscript", 8, None)
    assert row.storage_key.endswith(".pt")
    assert (storage_dir / row.storage_key).read_bytes() == content


@pytest.mark.parametrize("size_mb", [1.5, 2.5])  # streamed past the limit / refused by length
def test_oversize_upload_is_413_and_leaves_nothing(
    client: TestClient,
    rows: Rows,
    session: Session,
    storage_dir: Path,
    tune: Callable[..., None],
    size_mb: float,
) -> None:
    tune(max_upload_mb=1)
    _, headers = rows.user_with_token("ada")
    before = stored_files(storage_dir)
    response = upload(client, headers, onnx_model("big", pad=int(size_mb * 2**20)))
    assert response.status_code == 413, response.text
    assert response.json()["detail"] == {
        "code": "too_large",
        "message": "the file is larger than the upload limit of 1 MiB",
    }
    assert stored_files(storage_dir) == before
    assert session.scalar(select(Submission.id)) is None


def test_content_length_is_checked_before_reading() -> None:
    check_length(str((1 << 20) + 1000), 1 << 20)  # multipart overhead is allowed for
    with pytest.raises(Exception, match="upload limit of 1 MiB"):
        check_length(str(3 << 20), 1 << 20)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "not an ONNX or TorchScript file: the"),
        (b"hello, I am a text file that someone renamed to .onnx\n" * 3, "neither ONNX"),
        (onnx_model("cut")[:40], "the ONNX file is truncated"),
        (b"\x08\x00" + b"\x00" * 40, "ir_version 0"),
        (torchscript_archive("cut")[:-40], "TorchScript archive is truncated or damaged"),
        (b"PK\x03\x04\x14\x00", "only 6 bytes"),
        (torchscript_archive("ckpt", code=False), "torch.save checkpoint, not TorchScript"),
        (b"", "the file is empty"),
    ],
    ids=["png", "text", "onnx-cut", "onnx-ir0", "zip-cut", "zip-header", "ckpt",
         "empty"],
)  # fmt: skip
def test_bad_files_are_422_and_leave_nothing(
    client: TestClient, rows: Rows, storage_dir: Path, content: bytes, message: str
) -> None:
    _, headers = rows.user_with_token("ada")
    before = stored_files(storage_dir)
    response = upload(client, headers, content)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["code"] == "invalid"
    assert message in response.json()["detail"]["message"]
    assert stored_files(storage_dir) == before


def test_large_truncated_torchscript_is_refused_by_its_tail(
    client: TestClient, rows: Rows, storage_dir: Path
) -> None:
    _, headers = rows.user_with_token("ada")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/code/__torch__.py", "x" * 10)
        archive.writestr("m/data/0", uuid.uuid4().bytes * 20_000)  # 320 KB, incompressible
    before = stored_files(storage_dir)
    response = upload(client, headers, buffer.getvalue()[:-100])
    assert response.status_code == 422
    assert "no end-of-central-directory record" in response.json()["detail"]["message"]
    assert stored_files(storage_dir) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"name": "n" * 121}, "name: String should have at most 120 characters"),
        ({"name": "a\x00b"}, "name: Value error, control characters"),
        ({"paper_url": "javascript:alert(1)"}, "paper_url: Value error, must be an http"),
        ({"code_url": "ftp://example.org/x"}, "code_url: Value error, must be an http"),
        ({"size_multiple": "0"}, "size_multiple: Input should be greater than or equal to 1"),
        ({"size_multiple": "257"}, "size_multiple: Input should be less than or equal to 256"),
        ({"tile_size": "8"}, "tile_size: Input should be greater than or equal to 16"),
        ({"tile_size": "big"}, "tile_size: Input should be a valid integer"),
        ({"visibility": "secret"}, "visibility: Input should be 'public' or 'private'"),
        ({"visiblity": "private"}, "unknown form field 'visiblity'"),
    ],
)
def test_metadata_is_validated(
    client: TestClient,
    rows: Rows,
    storage_dir: Path,
    fields: dict[str, str],
    message: str,
) -> None:
    _, headers = rows.user_with_token("ada")
    before = stored_files(storage_dir)
    response = upload(client, headers, onnx_model("meta"), **fields)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]["message"].startswith(message)
    assert stored_files(storage_dir) == before


def test_malformed_requests_are_422(client: TestClient, rows: Rows) -> None:
    _, headers = rows.user_with_token("ada")
    no_file = client.post(API, headers=headers, files={"name": (None, "x")})
    assert no_file.status_code == 422
    assert "no complete part named 'file'" in no_file.json()["detail"]["message"]
    as_json = client.post(API, headers=headers, json={"name": "x"})
    assert as_json.status_code == 422
    assert "multipart/form-data" in as_json.json()["detail"]["message"]
    anonymous = upload(client, {}, onnx_model("anon"))
    assert anonymous.status_code == 401


def test_same_file_twice_is_409_with_the_existing_url(
    client: TestClient, rows: Rows, storage_dir: Path, broker: redis.Redis
) -> None:
    _, headers = rows.user_with_token("ada")
    _, other_headers = rows.user_with_token("grace")
    content = onnx_model("twice")
    first = upload(client, headers, content)
    assert first.status_code == 202
    files = stored_files(storage_dir)
    again = upload(client, headers, content, name="renamed")
    assert again.status_code == 409
    detail = again.json()["detail"]
    assert (detail["code"], detail["id"], detail["url"]) == (
        "conflict",
        first.json()["id"],
        first.json()["url"],
    )
    assert stored_files(storage_dir) == files  # the second copy was removed
    assert upload(client, other_headers, content).status_code == 202  # dedupe is per user
    assert len(queued_ids(broker)) == 2


def test_database_down_after_the_file_is_written_is_503_without_orphan(
    live_server: str, live_rows: Rows, storage_dir: Path, engine: Engine
) -> None:
    import httpx

    _, headers = live_rows.user_with_token("unlucky")
    database = engine.url.database
    boundary = "gir-test-boundary"
    model = onnx_model("outage", pad=400_000)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\n'
    ).encode()
    before = stored_files(storage_dir)

    def body() -> Iterator[bytes]:
        yield head + model[:200_000]
        deadline = time.monotonic() + 10
        while not stored_files(storage_dir) - before and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until the server is writing the file (auth and quota done)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )
        yield model[200_000:] + f"\r\n--{boundary}--\r\n".encode()

    content_type = f"multipart/form-data; boundary={boundary}"
    try:
        reply = httpx.post(
            f"{live_server}{API}",
            headers={**headers, "Content-Type": content_type},
            content=body(),
            timeout=30,
        )
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert reply.status_code == 503, reply.text
    assert reply.json()["detail"] == {
        "code": "unavailable",
        "message": "the database is unavailable; the upload was discarded, please try again",
    }
    assert stored_files(storage_dir) == before


def test_openapi_documents_the_upload(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"][API]["post"]
    schema = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "The model: ONNX or TorchScript (recognised from its bytes).",
    }
    assert {"name", "paper_url", "size_multiple", "tile_size", "visibility"} <= set(
        schema["properties"]
    )
    assert {"202", "409", "413", "422", "429", "503"} <= set(post["responses"])
    for path in (f"{API}/{{submission_id}}/results", "/api/v1/me/quota", "/api/v1/leaderboard"):
        assert "200" in spec["paths"][path]["get"]["responses"]
