"""Attacks on the upload path (issue #13, item 6) against a live uvicorn on 127.0.0.1: a client
sending a byte a second, parallel uploads from one user, and uploads that together would fill
the temporary space. Raw sockets, so the body really arrives slowly; every wait is bounded."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.submissions.guard import ledger
from tests.app.submissions_support import stored_files
from tests.support.factories import Rows, bearer
from tests.support.stack import onnx_model

BOUNDARY = "gir-guard-boundary"
MIB = 1 << 20
Tune = Callable[..., None]


def _model(size: int) -> bytes:
    """A valid ONNX model of at least ``size`` bytes (its graph name pads it)."""
    return onnx_model("identity", name="g" + "x" * size)


def _head(declared: int, token: str) -> bytes:
    lines = [
        "POST /api/v1/submissions HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {declared}",
    ]
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nslow\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="m.onnx"\r\n\r\n'
    )
    return ("\r\n".join(lines) + "\r\n\r\n" + part).encode()


class RawUpload:
    """An upload over a bare socket: headers and the start of the body now, the rest at will."""

    def __init__(self, url: str, token: str, declared: int, first: bytes = b"") -> None:
        address = urlsplit(url)
        self.sock = socket.create_connection((address.hostname, address.port), timeout=20)
        self.sock.sendall(_head(declared, token) + first)

    def answered(self) -> bool:
        return bool(select.select([self.sock], [], [], 0)[0])

    def read_status(self) -> tuple[int, str]:
        """The status code and the whole answer (the server closes the connection after it)."""
        data = b""
        while chunk := self.sock.recv(65536):
            data += chunk
        return int(data.split(b" ", 2)[1]), data.decode("latin-1")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw_uploads() -> Iterator[list[RawUpload]]:
    opened: list[RawUpload] = []
    yield opened
    for upload in opened:
        upload.close()


def _wait(condition: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.02)


def _upload(url: str, token: str, body: bytes | Iterator[bytes]) -> httpx.Response:
    headers = bearer(token) | {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    return httpx.post(f"{url}/api/v1/submissions", content=body, headers=headers, timeout=30)


def _declare(url: str, token: str, length: int) -> tuple[int, str]:
    """Announce a body of ``length`` bytes, send none of it, and read the answer."""
    upload = RawUpload(url, token, declared=length)
    try:
        return upload.read_status()
    finally:
        upload.close()


def test_a_byte_a_second_is_cut_off(
    live_server: str, live_rows: Rows, tune: Tune, storage_dir: Path, raw_uploads: list[RawUpload]
) -> None:
    tune(upload_grace_s=1.0, upload_min_kib_s=1.0)
    trickle = live_rows.user("trickle")
    user_id, token = trickle.id, live_rows.token_secret(trickle)
    model = _model(100_000)
    before = stored_files(storage_dir)
    slow = RawUpload(live_server, token, declared=200_000)
    raw_uploads.append(slow)
    sent = 0
    deadline = time.monotonic() + 20  # the test's own bound: the server must answer before
    while not slow.answered():
        assert time.monotonic() < deadline, "a byte-a-second body was never cut off"
        slow.sock.sendall(model[sent : sent + 1])
        sent += 1
        time.sleep(1.0)
    status, answer = slow.read_status()  # read to the end: the server closed the connection
    assert status == 408
    assert '"code":"too_slow"' in answer and "at least 1 KiB/s" in answer
    assert sent < 10  # cut after a few seconds, not when the body would have ended
    _wait(lambda: ledger().usage(user_id) == (0, 0))
    assert stored_files(storage_dir) == before  # the partial file was removed


def test_parallel_uploads_per_user_are_capped(
    live_server: str, live_rows: Rows, tune: Tune, raw_uploads: list[RawUpload]
) -> None:
    tune(uploads_per_user=2, upload_grace_s=60.0)
    parallel = live_rows.user("parallel")
    user_id, token = parallel.id, live_rows.token_secret(parallel)
    for _ in range(2):
        raw_uploads.append(RawUpload(live_server, token, declared=500_000))
    _wait(lambda: ledger().usage(user_id)[0] == 2)
    third = _upload(live_server, token, _head(0, token)[-200:])
    assert third.status_code == 429
    assert "already have 2 upload(s) in progress" in third.json()["detail"]["message"]
    assert third.headers["Retry-After"] == "30"
    other = live_rows.token_secret(live_rows.user("other"))  # someone else is not held up by it
    assert _upload(live_server, other, b"--" + BOUNDARY.encode() + b"--").status_code == 422
    for upload in raw_uploads:
        upload.close()
    _wait(lambda: ledger().usage(user_id) == (0, 0))  # a dropped connection frees its place
    assert ledger().total_bytes == 0


def test_upload_space_is_counted_per_user_and_in_total(
    live_server: str, live_rows: Rows, tune: Tune, raw_uploads: list[RawUpload]
) -> None:
    tune(uploads_per_user=5, upload_space_user_mb=2, upload_space_total_mb=2, upload_grace_s=60.0)
    account = live_rows.user("ada")
    ada_id, ada = account.id, live_rows.token_secret(account)
    status, answer = _declare(live_server, ada, 3 * MIB)
    assert status == 429 and "more than your 2 MiB of upload space" in answer
    model = _model(MIB * 9 // 5)  # declared below 2 MiB
    first = RawUpload(live_server, ada, declared=len(model) + 1000, first=model[: 3 * MIB // 2])
    raw_uploads.append(first)
    _wait(lambda: ledger().usage(ada_id)[1] >= 3 * MIB // 2)  # received and counted
    status, answer = _declare(live_server, ada, MIB)
    assert status == 429 and "upload space" in answer
    bob = live_rows.token_secret(live_rows.user("bob"))
    status, answer = _declare(live_server, bob, MIB)
    assert status == 507 and '"code":"insufficient_storage"' in answer
    assert "space for uploads in progress is full" in answer

    def chunked() -> Iterator[bytes]:  # declares nothing: counted as it arrives
        yield _head(0, bob).split(b"\r\n\r\n", 1)[1] + model[: 64 * 1024]
        for start in range(64 * 1024, MIB, 64 * 1024):
            yield model[start : start + 64 * 1024]

    streamed = _upload(live_server, bob, chunked())
    assert streamed.status_code == 507
    first.close()
    _wait(lambda: ledger().total_bytes == 0)
