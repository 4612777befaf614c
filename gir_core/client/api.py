"""HTTP calls to the public REST API (``/api/v1``), with errors turned into exit codes.

The token goes only into the ``Authorization`` header of requests to the configured URL: it is
never part of a message, and redirects are not followed (they could carry it elsewhere).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from gir_core.client.errors import ClientError, Exit

API = "/api/v1"
Json = dict[str, Any]
OnBytes = Callable[[int, int], None]
"""Called with (bytes sent, total bytes) while a file uploads."""
_REFUSED = {401: "refused the token", 403: "refused the request"}


@dataclass(frozen=True)
class Upload:
    """An accepted upload, or (``existing``) the earlier submission of the same file (409)."""

    id: int
    existing: bool
    message: str = ""


class _CountingFile:
    """A binary file whose reads report progress; httpx streams multipart files by ``read``."""

    def __init__(self, handle: BinaryIO, total: int, on_bytes: OnBytes) -> None:
        self._handle, self._total, self._on_bytes, self._sent = handle, total, on_bytes, 0
        self.name = handle.name

    def fileno(self) -> int:  # lets httpx size the body (Content-Length, not chunked)
        return self._handle.fileno()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._sent = 0 if offset == 0 and whence == os.SEEK_SET else self._sent
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self._sent += len(chunk)
        self._on_bytes(self._sent, self._total)
        return chunk


def _detail(response: httpx.Response) -> Json:
    """The service's ``{"detail": {"code", "message", …}}``, or a stand-in for other bodies."""
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        return detail
    text = detail if isinstance(detail, str) else response.reason_phrase
    return {"code": "", "message": text or f"HTTP {response.status_code}"}


def error_for(response: httpx.Response) -> ClientError:
    """The exit code and sentence for an error response (see :mod:`gir_core.client.errors`)."""
    error = _classify(response)
    error.status = response.status_code
    return error


def _classify(response: httpx.Response) -> ClientError:
    status = response.status_code
    message = str(_detail(response).get("message", "")).rstrip(".")
    if status in _REFUSED:
        hint = " (set GIR_TOKEN to an API token of your account)" if status == 401 else ""
        return ClientError(
            f"the service {_REFUSED[status]} ({status}): {message}{hint}", Exit.SERVICE
        )
    if status == 429:
        retry = response.headers.get("Retry-After")
        later = f"; try again in {retry} s" if retry else ""
        return ClientError(f"the quota is used up (429): {message}{later}", Exit.SERVICE)
    if status >= 500:
        return ClientError(f"the service is unavailable ({status}): {message}", Exit.SERVICE)
    if status == 409:
        return ClientError(f"conflict (409): {message}", Exit.FAILED)
    return ClientError(f"the service rejected the request ({status}): {message}", Exit.USAGE)


class Api:
    """One connection to the service at ``url`` (its root, e.g. ``https://gir.example.org``)."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0) -> None:
        self.root = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.root + API, headers=headers, timeout=timeout, follow_redirects=False
        )

    def close(self) -> None:
        """Close the connection pool (``with contextlib.closing(Api(…))``)."""
        self._http.close()

    def page_url(self, submission_id: int) -> str:
        """The submission's page for people (the API's own URL is its ``url`` field)."""
        return f"{self.root}/submissions/{submission_id}"

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            reason = type(error).__name__
            raise ClientError(f"cannot reach {self.root}: {reason}", Exit.SERVICE) from None

    def _json(self, path: str, params: Mapping[str, Any] | None = None) -> Json:
        response = self._send("GET", path, params=params)
        if response.is_error:
            raise error_for(response)
        body = response.json()
        if not isinstance(body, dict):
            raise ClientError(f"unexpected answer from {self.root}{API}{path}", Exit.SERVICE)
        return body

    def upload(self, model: Path, fields: Mapping[str, str], on_bytes: OnBytes) -> Upload:
        """Send ``model`` with its metadata; a 409 (same file again) names the earlier one."""
        with model.open("rb") as handle:
            total = os.fstat(handle.fileno()).st_size
            counted = _CountingFile(handle, total, on_bytes)
            files = {"file": (model.name, counted, "application/octet-stream")}
            response = self._send("POST", "/submissions", data=dict(fields), files=files)
        if response.status_code == 409:
            detail = _detail(response)
            if isinstance(detail.get("id"), int):
                return Upload(detail["id"], existing=True, message=str(detail.get("message")))
        if response.is_error:
            raise error_for(response)
        return Upload(int(response.json()["id"]), existing=False)

    def submission(self, submission_id: int) -> Json:
        """``GET /submissions/{id}``: status, progress, summary."""
        return self._json(f"/submissions/{submission_id}")

    def results(self, submission_id: int) -> Json:
        """``GET /submissions/{id}/results``: per-task results and the summary."""
        return self._json(f"/submissions/{submission_id}/results")

    def leaderboard(self, version: str | None, limit: int) -> Json:
        """The first ``limit`` rows of a version's board (default: the active version)."""
        params: dict[str, Any] = {"limit": limit}
        if version:
            params["version"] = version
        return self._json("/leaderboard", params)

    def rank(self, submission_id: int, version: str | None) -> tuple[int, int] | None:
        """(rank, rows on the board) of a submission, or None when it is not on the board (or
        the service cannot say: the rank is extra information, never a reason to fail)."""
        params: dict[str, Any] = {"id": submission_id, "limit": 1}
        if version:
            params["version"] = version
        try:
            rows = self._json("/leaderboard", params).get("items") or []
            board = self.leaderboard(version, 1).get("total")
        except ClientError:
            return None
        if not rows or not isinstance(rows[0].get("rank"), int):
            return None
        return int(rows[0]["rank"]), int(board) if isinstance(board, int) else 0
