"""Cheap format checks on the first bytes of an upload (and the last ones of an archive).

The sandbox runs the full contract check later; at upload we only want to refuse what is
plainly not a model before it reaches storage, without reading the whole file into memory. A
file that fits in the head buffer is checked by :func:`gir_core.runners.formats.sniff` itself
(the same check ``gir check`` runs); a larger one gets the same prefix rules — ONNX is a protobuf
``ModelProto`` starting with ``ir_version``, TorchScript a zip whose first entry lives in the
archive's folder — plus a walk over the top-level protobuf fields the head holds, and, for zips,
the end-of-central-directory record in the tail (a truncated archive has none).

Example:
    >>> model = b"\\x08\\x09\\x12\\x07pytorch:\\x05" + b"\\x00" * 5
    >>> sniff_head(model, complete=True)
    'onnx'
    >>> sniff_head(model[:-1], complete=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gir_core.errors.ModelFormatError: the ONNX file is truncated (a protobuf field runs past ...
"""

from __future__ import annotations

import struct

from gir_core.errors import ModelFormatError
from gir_core.runners.formats import ModelFormat, sniff

ZIP_LOCAL = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
ZIP_TAIL_BYTES = 22 + 0xFFFF  # the end record plus the longest possible archive comment
MAX_IR_VERSION = 100
_PROTO_WIRE_TYPES = {0, 1, 2, 5}  # varint, fixed64, length-delimited, fixed32 (no groups)


def sniff_head(head: bytes, *, complete: bool) -> ModelFormat:
    """The model format of an upload from its first bytes.

    Args:
        head: the first bytes of the file (all of it when ``complete``).
        complete: whether ``head`` is the whole file, so running past its end is truncation.

    Raises:
        ModelFormatError: with what was found instead.
    """
    if not complete and head.startswith(ZIP_LOCAL):
        _check_zip_prefix(head)  # the directory is at the end: sniff() would need it all
        return "torchscript"
    found = sniff(head)  # only a prefix test unless it is a (complete) zip
    if found == "onnx":
        _check_protobuf_prefix(head, complete=complete)
    return found


def check_zip_tail(tail: bytes) -> None:
    """Refuse an archive whose end-of-central-directory record is missing (a cut upload)."""
    if ZIP_END not in tail[-ZIP_TAIL_BYTES:]:
        raise ModelFormatError(
            "the TorchScript archive is truncated (no end-of-central-directory record)"
        )


def _check_zip_prefix(head: bytes) -> None:
    if len(head) < 30:
        raise ModelFormatError("the TorchScript archive is truncated (incomplete zip header)")
    name_length = struct.unpack_from("<H", head, 26)[0]
    name = head[30 : 30 + name_length]
    if len(name) < name_length:
        raise ModelFormatError("the TorchScript archive is truncated (incomplete zip header)")
    if b"/" not in name:
        raise ModelFormatError(
            "the zip archive is not a TorchScript model (its entries are not in an archive "
            "folder): save the model with torch.jit.save"
        )


def _varint(data: bytes, position: int) -> tuple[int, int] | None:
    """Decode a protobuf varint at ``position``: (value, next position), None if cut off."""
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return value, position
        shift += 7
    if shift >= 64:
        raise ModelFormatError("the ONNX file is damaged (an over-long protobuf varint)")
    return None


def _check_protobuf_prefix(head: bytes, *, complete: bool) -> None:
    """Walk the top-level ModelProto fields within ``head``: tags and lengths must make sense."""
    position, first = 0, True
    while position < len(head):
        tag = _varint(head, position)
        if tag is None:
            break
        key, position = tag
        field, wire = key >> 3, key & 7
        if field == 0 or wire not in _PROTO_WIRE_TYPES:
            raise ModelFormatError(
                f"the file is not ONNX: invalid protobuf field (number {field}, wire type {wire})"
            )
        skipped = _skip_value(head, position, wire, first=first)
        if skipped is None:
            break
        position, first = skipped, False
    else:
        return
    if complete:
        raise ModelFormatError("the ONNX file is truncated (a protobuf field runs past its end)")


def _skip_value(head: bytes, position: int, wire: int, *, first: bool) -> int | None:
    """The position after one field value; None when it runs past ``head``."""
    if wire == 0:
        value = _varint(head, position)
        if value is None:
            return None
        if first and not 1 <= value[0] <= MAX_IR_VERSION:
            raise ModelFormatError(f"the file is not ONNX: ir_version {value[0]} makes no sense")
        return value[1]
    if wire == 2:
        length = _varint(head, position)
        if length is None:
            return None
        end = length[1] + length[0]
    else:
        end = position + (8 if wire == 1 else 4)
    return end if end <= len(head) else None
