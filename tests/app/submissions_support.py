"""What the submission API tests share: model files made here, the upload request, a look at
storage and at the Redis queue, and a world of users and submissions to see and cancel."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import onnx.helper as oh
import redis
from fastapi.testclient import TestClient
from onnx import TensorProto

from app.benchmarks.models import BenchmarkVersion, TaskDef, VersionTask
from tests.support.factories import Headers, Rows

API = "/api/v1/submissions"
HIDDEN_SPEC = "snow(density=0.61) + jpeg(quality=17) SECRET"


# --- model files ------------------------------------------------------------------------------


def onnx_model(tag: str, pad: int = 0) -> bytes:
    """A valid identity ONNX model; ``tag`` makes its bytes unique, ``pad`` makes it bigger."""
    io_type = [1, 3, None, None]
    graph = oh.make_graph(
        [oh.make_node("Identity", ["input"], ["output"])],
        "g",
        [oh.make_tensor_value_info("input", TensorProto.FLOAT, io_type)],
        [oh.make_tensor_value_info("output", TensorProto.FLOAT, io_type)],
    )
    model = oh.make_model(
        graph, doc_string=tag + "x" * pad, opset_imports=[oh.make_opsetid("", 17)]
    )
    return bytes(model.SerializeToString())


def torchscript_archive(tag: str, *, code: bool = True) -> bytes:
    """A zip laid out like ``torch.jit.save`` output (or a ``torch.save`` checkpoint)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/data.pkl", b"\x80\x02" + tag.encode())
        if code:
            archive.writestr("m/code/__torch__.py", "def forward(self, x):\n  return x\n")
        archive.writestr("m/version", "3\n")
    return buffer.getvalue()


# --- requests, storage, queue -----------------------------------------------------------------


def upload(client: TestClient, headers: Headers, content: bytes, **fields: Any) -> Any:
    data = {"name": "RestoreNet", **fields}
    files = {"file": ("model.bin", content, "application/octet-stream")}
    return client.post(API, headers=headers, data=data, files=files)


def stored_files(storage_dir: Path) -> set[Path]:
    """Every file (temporary ones included) under the submissions area of storage."""
    root = storage_dir / "submissions"
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def queued_ids(broker: redis.Redis) -> list[int]:
    """Submission ids of the validation jobs waiting in the real Redis list."""
    ids = []
    for raw in broker.lrange("validate", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "gir.validate_submission"
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        ids.append(args[0])
    return ids


# --- users and submissions to look at ---------------------------------------------------------


class World:
    """An owner, another user and an admin; a public, a private and a moderated submission
    (all running, with a log), and a version with one public and one hidden task."""

    def __init__(self, rows: Rows, storage_dir: Path) -> None:
        session = rows.session
        self.owner, self.owner_h = rows.user_with_token("owner")
        self.other, self.other_h = rows.user_with_token("other")
        self.admin, self.admin_h = rows.user_with_token("admin", admin=True)
        self.version = BenchmarkVersion(name=f"v-{uuid.uuid4().hex[:6]}", seed=1)
        public = TaskDef(key="7", spec="noise(sigma=20)", task_hash="a" * 16, kind="representative")
        hidden = TaskDef(key="h01", spec=HIDDEN_SPEC, task_hash="b" * 16, kind="hidden", order=2)
        public.order = 1
        for task in (public, hidden):
            task.key = f"{task.key}-{uuid.uuid4().hex[:4]}"
        self.tasks = (public, hidden)
        self.version.tasks = [
            VersionTask(task=public, position=0, acceptance_psnr=25.0, excellence_psnr=27.0),
            VersionTask(task=hidden, position=1, acceptance_psnr=22.0, excellence_psnr=24.0),
        ]
        session.add(self.version)
        session.flush()
        extras: dict[str, dict[str, Any]] = {
            "public": {},
            "private": {"visibility": "private"},
            "hidden": {"is_hidden": True},
        }
        self.subs = {
            kind: rows.submission(
                self.owner,
                status="running",
                benchmark_version_id=self.version.id,
                log_key=f"logs/test-{uuid.uuid4().hex}.txt",
                **extra,
            )
            for kind, extra in extras.items()
        }
        for row in self.subs.values():
            log = storage_dir / row.log_key
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"scoring {HIDDEN_SPEC}\nTraceback: boom\n")
        self.headers = {"anonymous": {}, "owner": self.owner_h, "other": self.other_h}
        self.headers["admin"] = self.admin_h
