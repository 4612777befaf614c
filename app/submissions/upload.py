"""Receive a multipart model upload by streaming it straight into storage.

Starlette's ``request.form()`` spools the whole file before the endpoint runs; a 1 GiB model
would sit in a temporary file (or memory) before we could refuse it. Instead the body is fed,
chunk by chunk, from ``request.stream()`` into python-multipart's streaming parser, whose
callbacks write the file part into a storage :class:`~app.storage.Writer` (which hashes it on the
way). The size limit is enforced on ``Content-Length`` before reading and again on every chunk;
the format is sniffed from the first :data:`HEAD_BYTES` before anything touches storage. Any
failure aborts the writer, so a refused upload leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.errors import Invalid, TooLarge
from app.storage import Storage, Writer
from app.submissions.sniff import ZIP_TAIL_BYTES, check_zip_tail, sniff_head
from gir_core.errors import ModelFormatError
from gir_core.runners.formats import ModelFormat

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FIELDS = frozenset(
    {"name", "description", "paper_url", "code_url", "size_multiple", "tile_size", "visibility"}
)
FIELD_MAX_BYTES = 64 * 1024
HEAD_BYTES = 64 * 1024
BOUNDARY_MAX = 70
MULTIPART_SLACK = 1 << 20
"""Room in ``Content-Length`` for boundaries, part headers and the metadata fields."""
FieldCheck = Callable[[dict[str, str]], object]
"""Validates the metadata fields (raising Invalid); called early when they precede the file."""
EXTENSIONS: dict[ModelFormat, str] = {"onnx": "onnx", "torchscript": "pt"}


@dataclass
class ReceivedUpload:
    """A committed (durable) model file and the raw metadata fields sent with it."""

    key: str
    format: ModelFormat
    size: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the upload limit of {limit / 2**20:.0f} MiB")


def _not_a_model(error: ModelFormatError) -> Invalid:
    return Invalid(f"not an ONNX or TorchScript file: {error}")


class _Receiver:
    """python-multipart callbacks: metadata parts into ``fields``, the file part into storage."""

    def __init__(
        self,
        storage: Storage,
        key_prefix: str,
        max_bytes: int,
        check_fields: FieldCheck,
        allowed: frozenset[str] = FIELDS,
    ) -> None:
        self.storage, self.key_prefix, self.max_bytes = storage, key_prefix, max_bytes
        self.check_fields, self.allowed = check_fields, allowed
        self.fields: dict[str, str] = {}
        self.writer: Writer | None = None
        self.key = ""
        self.format: ModelFormat | None = None
        self.size = 0
        self.file_done = self.ended = False
        self._part = ""
        self._headers: dict[str, str] = {}
        self._header = [bytearray(), bytearray()]
        self._buffer = bytearray()  # a field's value, or the file's head until it is sniffed
        self._tail = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header[0].extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header[1].extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._part, self._headers = "", {}
        self._buffer = bytearray()

    def _header_end(self) -> None:
        name, value = (bytes(part).decode("latin-1") for part in self._header)
        self._headers[name.strip().lower()] = value.strip()
        self._header = [bytearray(), bytearray()]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        name = options.get(b"name", b"").decode("latin-1")
        if name == "file" and self.file_done:
            raise Invalid("send exactly one file part named 'file'")
        if name != "file" and name not in self.allowed:
            known = ", ".join(["file", *sorted(self.allowed)])
            raise Invalid(f"unknown form field {name!r}; the fields are {known}")
        if name == "file" and "name" in self.fields:
            self.check_fields(self.fields)  # metadata sent first: refuse it before the file
        self._part = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part != "file":
            if len(self._buffer) + len(chunk) > FIELD_MAX_BYTES:
                raise Invalid(f"{self._part}: longer than {FIELD_MAX_BYTES} bytes")
            self._buffer.extend(chunk)
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise _too_large(self.max_bytes)
        if self.writer is None:
            self._buffer.extend(chunk)
            if len(self._buffer) >= HEAD_BYTES:
                self._open(complete=False)
        else:
            self._write(chunk)

    def _open(self, *, complete: bool) -> None:
        """Sniff the head, then start the storage writer with it (a refused file never lands)."""
        try:
            self.format = sniff_head(bytes(self._buffer), complete=complete)
        except ModelFormatError as error:
            raise _not_a_model(error) from None
        self.key = f"{self.key_prefix}.{EXTENSIONS[self.format]}"
        self.writer = self.storage.writer(self.key)
        self._write(bytes(self._buffer))
        self._buffer = bytearray()

    def _write(self, chunk: bytes) -> None:
        assert self.writer is not None
        self.writer.write(chunk)
        if self.format == "torchscript":
            self._tail.extend(chunk)
            del self._tail[:-ZIP_TAIL_BYTES]

    def _part_end(self) -> None:
        if self._part != "file":
            try:
                self.fields[self._part] = bytes(self._buffer).decode("utf-8")
            except UnicodeDecodeError:
                raise Invalid(f"{self._part}: not valid UTF-8") from None
            return
        if self.size == 0:
            raise Invalid("the file is empty")
        if self.writer is None:
            self._open(complete=True)
        elif self.format == "torchscript":
            try:
                check_zip_tail(bytes(self._tail))
            except ModelFormatError as error:
                raise _not_a_model(error) from None
        self.file_done = True

    def _end(self) -> None:
        self.ended = True

    def abort(self) -> None:
        """Drop the partial file, if one was started."""
        if self.writer is not None:
            self.writer.abort()


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary, or 422 for anything that is not ``multipart/form-data`` or has
    a boundary longer than RFC 2046 allows (the parser would refuse it with an exception)."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise Invalid("send the model as multipart/form-data with a part named 'file'")
    if len(options[b"boundary"]) > BOUNDARY_MAX:
        raise Invalid(f"the multipart boundary is longer than {BOUNDARY_MAX} characters (RFC 2046)")
    return options[b"boundary"]


def check_length(content_length: str | None, max_bytes: int) -> int | None:
    """The declared body size (None when chunked); 413 before reading anything when it cannot
    fit the limit."""
    if content_length is None:
        return None  # chunked: the limit is enforced while streaming
    if not content_length.isdigit():
        raise Invalid("the Content-Length header is not a number")
    if int(content_length) > max_bytes + MULTIPART_SLACK:
        raise _too_large(max_bytes)
    return int(content_length)


async def receive_upload(
    request: Request,
    *,
    storage: Storage,
    owner_id: int,
    max_bytes: int,
    check_fields: FieldCheck,
    extra_fields: frozenset[str] = frozenset(),
    chunks: AsyncIterator[bytes] | None = None,
) -> ReceivedUpload:
    """Stream the request's multipart body into storage and commit the file (durable).

    ``extra_fields`` are accepted beside the metadata (the page form's ``csrf_token``); they
    reach ``check_fields`` and ``ReceivedUpload.fields`` like the others. ``chunks`` replaces
    ``request.stream()`` (``app.submissions.guard.paced`` wraps it to meter the body).

    The declared size is the caller's to check first (:func:`check_length`, before it takes an
    upload slot); the streamed size is checked here.

    Raises:
        TooLarge: streamed size over ``max_bytes``.
        Invalid: not multipart, malformed, no/empty file, not ONNX/TorchScript, bad field.
    """
    boundary = boundary_of(request.headers.get("content-type"))
    prefix = f"submissions/{owner_id}/{uuid.uuid4().hex}"
    receiver = _Receiver(storage, prefix, max_bytes, check_fields, FIELDS | extra_fields)
    parser = MultipartParser(boundary, receiver.callbacks())
    try:
        async for chunk in chunks if chunks is not None else request.stream():
            parser.write(chunk)
        if not receiver.file_done or receiver.writer is None:
            raise Invalid("the upload has no complete part named 'file'")
        if not receiver.ended:
            raise Invalid("the multipart body ended early (no closing boundary)")
        check_fields(receiver.fields)
        await run_in_threadpool(receiver.writer.commit)
    except FormParserError as error:
        receiver.abort()
        raise Invalid(f"the multipart body is malformed: {error}") from None
    except ClientDisconnect:  # nobody will read the answer; keep the log free of a traceback
        receiver.abort()
        raise Invalid("the client disconnected before the upload ended") from None
    except BaseException:
        receiver.abort()
        raise
    writer, found = receiver.writer, receiver.format
    assert found is not None
    return ReceivedUpload(receiver.key, found, writer.size, writer.sha256, receiver.fields)
