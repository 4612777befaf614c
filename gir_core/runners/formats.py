"""Recognise a model file from its bytes (never its name) and refuse malformed archives early.

TorchScript files are zip archives with a ``code/`` folder; ``torch.save`` checkpoints are zips
too but hold only pickles, and get a sentence telling the submitter how to export instead. ONNX
files are protobuf messages. Zip central directories are checked before anything is expanded, so
a zip bomb is refused without being inflated.
"""

from __future__ import annotations

import io
import zipfile
from typing import Literal

from gir_core.errors import ModelFormatError

ModelFormat = Literal["onnx", "torchscript"]
MAX_EXPANDED = 8 << 30
MAX_RATIO = 200
MAX_ENTRIES = 100_000
_ZIP_MAGIC = b"PK\x03\x04"


def sniff(data: bytes) -> ModelFormat:
    """Return the model format of ``data`` or raise ModelFormatError with what was found."""
    if len(data) < 16:
        raise ModelFormatError(f"the file is only {len(data)} bytes: not a model")
    if data.startswith(_ZIP_MAGIC):
        check_archive(data)
        return "torchscript"
    if data[:1] == b"\x08":  # ONNX ModelProto starts with ir_version (field 1, varint)
        return "onnx"
    raise ModelFormatError(
        "the file is neither ONNX (a protobuf ModelProto) nor TorchScript (a torch.jit.save zip)"
    )


def check_archive(data: bytes) -> None:
    """Validate a TorchScript zip's directory: complete, not a bomb, really TorchScript."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ModelFormatError(
            f"the TorchScript archive is truncated or damaged ({error})"
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise ModelFormatError(f"the archive has {len(entries)} entries, over {MAX_ENTRIES}")
        expanded = sum(entry.file_size for entry in entries)
        packed = max(sum(entry.compress_size for entry in entries), 1)
        if expanded > MAX_EXPANDED or expanded / packed > MAX_RATIO:
            raise ModelFormatError(
                f"the archive expands to {expanded / 2**20:.0f} MiB from {packed / 2**20:.1f} MiB "
                "(compression ratio too high: refused as a possible zip bomb)"
            )
        names = [entry.filename for entry in entries]
    if not any("/code/" in name for name in names):
        if any(name.endswith("data.pkl") for name in names):
            raise ModelFormatError(
                "this is a torch.save checkpoint, not TorchScript: export the model with "
                "torch.jit.script or torch.jit.trace and save it with torch.jit.save"
            )
        raise ModelFormatError("the zip archive is not a TorchScript model (no code/ folder)")
