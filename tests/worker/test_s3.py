"""Object storage against a real S3 server (moto's, a child process on 127.0.0.1 reached over
HTTP): the API streaming uploads into the bucket, real Celery workers scoring through their
local cache, a storage outage in the middle of a run, and ``storage migrate`` from a folder.
PostgreSQL, Redis and the worker are real, as in the other worker tests.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.benchmarks.models import BenchmarkVersion
from app.benchmarks.quality import measure_inputs
from app.queue import enqueue_scoring, enqueue_validation
from app.storage import StorageError, get_storage, put_bytes
from app.storage.admin import migrate
from app.storage.cache import ObjectCache
from app.storage.local import LocalStorage
from app.storage.s3 import S3Storage, configure_bucket
from app.submissions.models import Submission, TaskResultRow
from tests.support.factories import Rows
from tests.support.s3 import S3Server, s3_server
from tests.support.services import clear_caches
from tests.support.stack import (
    BIN,
    Bench,
    api_server_args,
    build_bench,
    free_port,
    start_process,
    wait_ready,
)
from tests.worker.conftest import (
    WorkerProcess,
    add_submission,
    finished,
    onnx_model,
    reread,
    slow_model,
    wait_for,
)

MAX_UPLOAD_MB = 16
PART_HEAD = b'--x\r\nContent-Disposition: form-data; name="file"; filename="m.pt"\r\n\r\n'


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One S3 server for the module; each test gets a bucket of its own."""
    with s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def s3_env(
    s3: S3Server, worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """The worker settings pointed at a fresh bucket (with its lifecycle rule); workers share
    ``worker-cache``, this test process has a cache of its own."""
    extra = {
        **s3.env(),
        "GIR_STORAGE_URL": f"s3://gir-{uuid.uuid4().hex[:12]}/bench",
        "GIR_CACHE_DIR": str(tmp_path / "worker-cache"),
    }
    worker_env.update(extra)
    for key, value in {**extra, "GIR_CACHE_DIR": str(tmp_path / "test-cache")}.items():
        monkeypatch.setenv(key, value)
    clear_caches()
    configure_bucket(_bucket())
    return worker_env


@pytest.fixture
def s3_bench(
    s3_env: dict[str, str], db: Session, demo_pngs: tuple[list[Path], list[Path]]
) -> Bench:
    """The tiny version with its images and degraded inputs in the bucket."""
    return build_bench(db, *demo_pngs)


def _bucket() -> S3Storage:
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    return storage


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _big_torchscript(folder: Path) -> bytes:
    """A valid TorchScript file of about 10 MiB: more than one multipart part."""

    class Big(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("weights", torch.arange(2_600_000, dtype=torch.float32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    path = folder / "big.pt"
    torch.jit.save(torch.jit.script(Big()), str(path))
    return path.read_bytes()


# -- the API --------------------------------------------------------------------------------------


@pytest.fixture
def api(s3_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The API served by uvicorn on the bucket; its base URL and the folder it may write in
    (cache and TMPDIR), which must stay empty."""
    scratch = tmp_path / "api-scratch"
    (scratch / "tmp").mkdir(parents=True)
    port = free_port()
    env = {**s3_env, "GIR_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
           "GIR_CACHE_DIR": str(scratch / "cache"), "TMPDIR": str(scratch / "tmp")}  # fmt: skip
    server = start_process(api_server_args(port), env=env, log=tmp_path / "api.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, [server], 30)
        yield url, scratch
    finally:
        server.kill()


def _nothing_under(storage: S3Storage, prefix: str) -> bool:
    return not list(storage.keys(prefix)) and not storage.incomplete_uploads()


def test_upload_streams_into_the_bucket_and_the_owner_downloads_it(
    api: tuple[str, Path], rows: Rows, db: Session, tmp_path: Path
) -> None:
    url, scratch = api
    headers = rows.user_with_token("x", email="owner@example.org")[1]
    data = _big_torchscript(tmp_path)
    assert 8 << 20 < len(data) < MAX_UPLOAD_MB << 20  # a multipart upload of two parts
    files = {"file": ("big.pt", data, "application/octet-stream")}
    created = httpx.post(f"{url}/api/v1/submissions", headers=headers, files=files,
                         data={"name": "big"}, timeout=60)  # fmt: skip
    assert created.status_code == 202, created.text
    row = db.get(Submission, created.json()["id"])
    assert row is not None
    storage = _bucket()
    digest = hashlib.sha256(data).hexdigest()
    assert storage.stored_sha256(row.storage_key) == digest == row.sha256
    assert hashlib.sha256(storage.read_bytes(row.storage_key)).hexdigest() == digest
    assert _files(scratch) == [] and not storage.incomplete_uploads()  # nothing kept locally

    model_url = f"{url}/api/v1/submissions/{row.id}/model"
    download = httpx.get(model_url, headers=headers, timeout=60)
    assert download.status_code == 200 and download.content == data
    assert download.headers["content-disposition"].endswith(f'submission-{row.id}.pt"')
    stranger = rows.user_with_token("x", email="stranger@example.org")[1]
    assert httpx.get(model_url, headers=stranger).status_code == 404
    assert httpx.get(model_url).status_code == 404


def test_oversize_upload_is_refused_and_leaves_no_object_or_part(
    api: tuple[str, Path], rows: Rows, tmp_path: Path
) -> None:
    url, _ = api
    head = _big_torchscript(tmp_path)[: 1 << 20]  # a real archive's start, then far too much
    body = head + bytes((MAX_UPLOAD_MB + 4) << 20)

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length, the limit bites mid-stream
        boundary = b'--x\r\nContent-Disposition: form-data; name="file"; filename="m.pt"\r\n\r\n'
        yield boundary
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]
        yield b"\r\n--x--\r\n"

    big = rows.user_with_token("x", email="big@example.org")[1]
    answer = httpx.post(
        f"{url}/api/v1/submissions", headers={**big,
        "Content-Type": "multipart/form-data; boundary=x"}, content=chunks(), timeout=60,
    )  # fmt: skip
    assert answer.status_code == 413, answer.text
    assert "upload limit" in answer.json()["detail"]["message"]
    wait_for(lambda: _nothing_under(_bucket(), "submissions/"), [], timeout=10)


def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    api: tuple[str, Path], rows: Rows, tmp_path: Path
) -> None:
    url, scratch = api
    head = _big_torchscript(tmp_path)[: 9 << 20]  # past the first 8 MiB part
    token = rows.user_with_token("x", email="gone@example.org")[1]["Authorization"]
    part = PART_HEAD
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(
            b"POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: {token}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {len(part) + (12 << 20)}\r\n\r\n".encode()
            + part
            + head
        )
        storage = _bucket()
        wait_for(lambda: bool(storage.incomplete_uploads()), [], timeout=30)  # a part went up
    wait_for(lambda: _nothing_under(storage, "submissions/"), [], timeout=30)
    assert _files(scratch) == []


# -- the workers ----------------------------------------------------------------------------------


def _cached(cache: Path) -> dict[Path, int]:
    """Every verified object and pulled input of a worker cache, by inode."""
    return {path: path.stat().st_ino for path in _files(cache) if not path.name.startswith(".")}


def _means(db: Session, submission_id: int) -> list[float]:
    rows = db.scalars(select(TaskResultRow).filter_by(submission_id=submission_id))
    return sorted(row.mean_psnr for row in rows)


def test_worker_scores_from_the_bucket_cold_then_warm(
    s3_bench: Bench, db: Session, s3_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
) -> None:  # fmt: skip
    cache = Path(s3_env["GIR_CACHE_DIR"])
    pushed = set(_bucket().keys("cache/synthesis/"))
    assert len(pushed) == 2 * 4  # the synthesize job pushed every degraded input
    worker = start_worker()
    first = add_submission(db, "identity", onnx_model("identity"))
    enqueue_validation(first)
    wait_for(finished(db, first), [worker], timeout=120)
    assert reread(db, first).status == "scored", reread(db, first).error_message
    cold = _cached(cache)
    objects = [path for path in cold if "objects" in path.parts]
    for path in objects:  # content-addressed and verified: the name is the bytes' hash
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    assert len(objects) == 3 + 1  # 2 GT + 1 real-world image, the model
    assert len([path for path in cold if "synthesis" in path.parts]) == 8  # pulled, not made

    second = add_submission(db, "identity again", onnx_model("identity", name="again"))
    enqueue_validation(second)
    wait_for(finished(db, second), [worker], timeout=120)
    assert reread(db, second).status == "scored", reread(db, second).error_message
    warm = _cached(cache)
    assert {path: warm[path] for path in cold} == cold  # not one file downloaded again
    assert len(set(warm) - set(cold)) == 1  # only the second model
    assert _means(db, second) == _means(db, first)
    assert set(_bucket().keys("cache/synthesis/")) == pushed


def test_input_psnr_is_measured_from_the_bucket(s3_bench: Bench, db: Session) -> None:
    """Freezing a version measures its inputs' PSNR; on S3 the synthesis cache is a local folder
    (``synthesis_dir``), not an object to fetch."""
    version = db.get(BenchmarkVersion, s3_bench.version_id)
    assert version is not None
    tasks = [frozen.task for frozen in version.tasks]
    measure_inputs(session=db, tasks=tasks, convention=version.convention)
    assert tasks and all(math.isfinite(task.input_psnr or math.nan) for task in tasks)


def test_two_workers_share_one_cache(
    s3_bench: Bench, db: Session, s3_env: dict[str, str],
    start_worker: Callable[..., WorkerProcess],
) -> None:  # fmt: skip
    workers = [start_worker(), start_worker()]
    ids = [add_submission(db, f"m{n}", onnx_model("identity", name=f"m{n}")) for n in range(2)]
    for submission_id in ids:
        enqueue_validation(submission_id)
    for submission_id in ids:
        wait_for(finished(db, submission_id), workers, timeout=180)
        assert reread(db, submission_id).status == "scored"
    cache = Path(s3_env["GIR_CACHE_DIR"])
    leftovers = [
        p for p in _files(cache) if p.name.startswith(".") and not p.name.endswith(".lock")
    ]
    assert leftovers == []  # no temporary download survived
    objects = [path for path in _cached(cache) if "objects" in path.parts]
    assert sorted(path.name for path in objects) == sorted(
        {hashlib.sha256(path.read_bytes()).hexdigest() for path in objects}
    )  # one verified file per object, however the two workers raced
    assert _means(db, ids[0]) == _means(db, ids[1])


def test_storage_outage_mid_run_goes_back_to_the_queue_and_loses_nothing(
    s3: S3Server, s3_bench: Bench, db: Session,
    start_worker: Callable[..., WorkerProcess], tmp_path: Path,
) -> None:  # fmt: skip
    submission_id = add_submission(db, "slow", slow_model(tmp_path), "torchscript", validated=True)
    enqueue_scoring(submission_id)
    worker = start_worker(beat=True)
    wait_for(lambda: len(_means(db, submission_id)) >= 1, [worker], timeout=120)
    s3.relay.cut()
    try:
        waiting = lambda: reread(db, submission_id).error_message.startswith(  # noqa: E731
            "waiting for storage"
        )
        wait_for(waiting, [worker], timeout=60)
        held = reread(db, submission_id)
        assert held.status in ("queued", "running") and held.attempts <= 1
        before = _means(db, submission_id)
        assert 1 <= len(before) < 4
        time.sleep(4)  # the reconciler resends; the worker finds storage still down
    finally:
        s3.relay.restore()
    wait_for(finished(db, submission_id), [worker], timeout=120)
    done = reread(db, submission_id)
    assert done.status == "scored", done.error_message
    assert done.error_message == "" and done.progress_done == 4
    assert set(before) <= set(_means(db, submission_id)) and len(_means(db, submission_id)) == 4
    assert "requeued for the reconciler" in worker.output()


# -- the cache and migrate, against the same server -----------------------------------------------


def test_the_cache_refuses_a_download_that_does_not_match_and_evicts_by_size(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    storage = _bucket()
    storage.client.put_object(Bucket=storage.bucket, Key=f"{storage.prefix}bad", Body=b"abc",
                              Metadata={"sha256": "0" * 64})  # fmt: skip
    with pytest.raises(StorageError, match="did not match"):
        storage.local_path("bad")
    assert [path for path in _files(storage.cache.root) if not path.name.endswith(".lock")] == []

    small = S3Storage(storage.bucket, storage.prefix, ObjectCache(tmp_path / "small", 250))
    for name in ("a", "b", "c"):
        put_bytes(small, name, name.encode() * 100)
        time.sleep(0.01)
    paths = [small.local_path(name) for name in ("a", "b")]
    os.utime(paths[0])  # "a" used again: "b" is now the least recently used
    kept = small.local_path("c")
    assert kept.read_bytes() == b"c" * 100 and paths[0].exists() and not paths[1].exists()


def test_migrate_copies_a_folder_into_the_bucket_verified_and_resumable(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    local = LocalStorage(tmp_path / "folder")
    contents = {"images/gt/0.png": b"png" * 1000, "submissions/1/a.onnx": bytes(range(256)),
                "cache/synthesis/ab/abcd.png": b"degraded", "logs/1.txt": b"log"}  # fmt: skip
    for key, data in contents.items():
        put_bytes(local, key, data)
    bucket = _bucket()
    put_bytes(bucket, "logs/1.txt", b"log")  # as if an earlier run had stopped after this key
    first = migrate(local, bucket)
    assert (first.copied, first.skipped) == (3, 1)
    for key, data in contents.items():
        assert bucket.read_bytes(key) == data
        assert bucket.stored_sha256(key) == hashlib.sha256(data).hexdigest()
    again = migrate(local, bucket)
    assert (again.copied, again.skipped) == (0, 4)

    env = {**os.environ, "GIR_STORAGE_URL": str(local.root)}
    command = [str(BIN / "gir-admin"), "storage", "migrate", "--to", s3_env["GIR_STORAGE_URL"]]
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert "copied 0, already there 4" in ran.stdout
    checked = subprocess.run([str(BIN / "gir-admin"), "storage", "check"], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "readable and writable" in checked.stdout
    assert "lifecycle rule aborting incomplete multipart uploads: set" in checked.stdout


def test_unreachable_storage_is_one_sentence_and_exit_2(
    s3_env: dict[str, str], s3: S3Server
) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    ran = subprocess.run([str(BIN / "gir-admin"), "storage", "check"], env=env,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert ran.returncode == 2
    assert "unreachable" in ran.stderr and "Traceback" not in ran.stderr
    assert "test-secret-key" not in ran.stdout + ran.stderr
