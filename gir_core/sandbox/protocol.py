"""The wire format between the worker and the model's child process: framed JSON + raw arrays.

A frame is ``<u32 header length><header JSON><payload bytes>``; the header says how many payload
bytes follow and, for arrays, their dtype and shape. Plain pipes keep the child free of any file
or socket access: it only ever sees the bytes we choose to send (SPEC §6).
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

_LENGTH = struct.Struct("<I")
MAX_HEADER = 1 << 20
_DTYPES = {"float32", "float16", "uint8"}


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame (or closed the pipe)."""


@dataclass
class Frame:
    """One message: a JSON header and optional raw payload."""

    header: dict[str, Any]
    payload: bytes = b""

    def array(self) -> NDArray[Any]:
        """Decode the payload as the array the header describes."""
        dtype, shape = self.header.get("dtype"), self.header.get("shape")
        if dtype not in _DTYPES or not isinstance(shape, list):
            raise ProtocolError(f"frame carries no valid array (dtype={dtype!r})")
        expected = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if expected != len(self.payload):
            raise ProtocolError(f"array payload is {len(self.payload)} bytes, expected {expected}")
        return np.frombuffer(self.payload, dtype=dtype).reshape(shape)


def array_frame(kind: str, array: NDArray[Any], **extra: Any) -> Frame:
    """A frame carrying ``array`` (C-contiguous copy) with its dtype and shape."""
    data = np.ascontiguousarray(array)
    header = {"kind": kind, "dtype": str(data.dtype), "shape": list(data.shape), **extra}
    return Frame(header, data.tobytes())


def write_frame(fd: int, frame: Frame) -> None:
    """Write one frame to a file descriptor (blocking, all bytes)."""
    header = dict(frame.header, payload=len(frame.payload))
    raw = json.dumps(header).encode("utf-8")
    _write_all(fd, _LENGTH.pack(len(raw)) + raw)
    if frame.payload:
        _write_all(fd, frame.payload)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    """Read exactly ``size`` bytes; ProtocolError if the pipe closes, TimeoutError at ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value; None waits forever (the child's side).
    """
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError("no answer before the deadline")
        chunk = os.read(fd, min(remaining, 1 << 22))
        if not chunk:
            raise ProtocolError("pipe closed")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def parse_header(raw: bytes) -> dict[str, Any]:
    """Decode a header, refusing anything but a JSON object with a payload length."""
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"bad frame header: {error}") from None
    if not isinstance(header, dict) or not isinstance(header.get("payload"), int):
        raise ProtocolError("frame header must be an object with a payload length")
    return header


def read_frame(fd: int, *, max_payload: int, deadline: float | None = None) -> Frame:
    """Read one frame, refusing headers or payloads above the limits."""
    (length,) = _LENGTH.unpack(read_exact(fd, _LENGTH.size, deadline))
    if length > MAX_HEADER:
        raise ProtocolError(f"frame header of {length} bytes exceeds {MAX_HEADER}")
    header = parse_header(read_exact(fd, length, deadline))
    size = header["payload"]
    if not 0 <= size <= max_payload:
        raise ProtocolError(f"frame payload of {size} bytes exceeds the limit of {max_payload}")
    return Frame(header, read_exact(fd, size, deadline) if size else b"")
