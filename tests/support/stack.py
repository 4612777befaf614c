"""Pieces shared by the tests that run the real service: the tiny benchmark version, model
files, and child processes that are always killed.

A plain module, not a conftest: pytest shows a conftest's fixtures only below its folder, and
importing one conftest's session fixtures into another would build the same database twice in
one xdist worker. ``tests/worker`` and ``tests/browser`` each keep their own fixtures and call
these functions. Where PostgreSQL and Redis are, and the per-process database names, are in
``tests/support/services.py``.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from sqlalchemy.orm import Session

from app.benchmarks.models import (
    BenchmarkVersion,
    Image,
    ImageSet,
    TaskDef,
    VersionImageSet,
    VersionTask,
)
from app.storage import get_storage, put_bytes
from gir_core.demo import write_demo_images
from gir_core.images import load_image
from gir_core.metrics import psnr
from gir_core.tasks import Task
from worker.plan import prepare_inputs, scoring_plan

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SEED = 7
# key, spec, kind, identity PSNR minus (acceptance, excellence): identity passes the acceptance
# line of 1, 3 and h1 and the excellence line of 3 only, so AR = 3/4 and ER = 1/4.
TASKS = (
    ("1", "noise", "representative", (1.0, -1.0)),
    ("2", "blur", "representative", (-1.0, -2.0)),
    ("3", "compression + noise", "representative", (2.0, 1.0)),
    ("h1", "rain + blur", "hidden", (0.5, -0.5)),
)


# -- the benchmark ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """The test version: ids, and the identity model's expected per-image PSNRs per task key."""

    version_id: int
    identity_psnr: dict[str, list[float]]
    real_set_id: int


def store(data: bytes, key: str) -> str:
    """Write ``data`` to the configured storage under ``key``; returns the key."""
    put_bytes(get_storage(), key, data)
    return key


def _image_set(name: str, role: str, paths: list[Path], label: str = "") -> ImageSet:
    images = []
    for position, path in enumerate(paths):
        data = path.read_bytes()
        height, width = load_image(path).shape[:2]
        images.append(
            Image(
                position=position,
                filename=path.name,
                sha256=hashlib.sha256(data).hexdigest(),
                storage_key=store(data, f"images/{name}/{position}.png"),
                width=width,
                height=height,
            )
        )
    return ImageSet(name=name, role=role, label=label, images=images)


def write_demo_pngs(root: Path) -> tuple[list[Path], list[Path]]:
    """Two 48 px GT images and one 128 px real-world image from the package's demo photos."""
    gt = write_demo_images(root / "gt", max_side=48)[:2]
    real = write_demo_images(root / "real", max_side=128)[2:3]
    return gt, real


def build_bench(session: Session, gt_paths: list[Path], real_paths: list[Path]) -> Bench:
    """An active version of :data:`TASKS` with lines around the identity's PSNR, its inputs
    synthesised into the cache as the operators' synthesize job does."""
    clean = [load_image(path) for path in gt_paths]
    identity: dict[str, list[float]] = {}
    # The authors' convention (new versions' default): PSNR with 4 px cropped from every side.
    version = BenchmarkVersion(
        name="test", seed=SEED, is_active=True, metric_convention="rgb,crop=4,8bit"
    )
    for position, (key, spec, kind, (below, above)) in enumerate(TASKS):
        task = Task.parse(spec)
        values = [
            float(psnr(task.apply(image, SEED, image_index=index), image, crop_border=4))
            for index, image in enumerate(clean)
        ]
        identity[key] = values
        mean = math.fsum(values) / len(values)
        row = TaskDef(key=key, spec=str(task), task_hash=task.id, kind=kind, order=task.order)
        version.tasks.append(
            VersionTask(
                task=row, position=position, acceptance_psnr=mean - below,
                excellence_psnr=mean - above,
            )
        )  # fmt: skip
    real = _image_set("old-photos", "real", real_paths, "old photo")
    for image_set in (_image_set("gt-test", "gt", gt_paths), real):
        version.image_sets.append(VersionImageSet(image_set=image_set))
    session.add(version)
    session.commit()
    plan = scoring_plan(session=session, version_id=version.id, storage=get_storage())
    prepare_inputs(plan, workers=1)
    return Bench(version.id, identity, real.id)


# -- model files --------------------------------------------------------------------------------


def onnx_model(kind: str, name: str = "") -> bytes:
    """``identity``, or ``scaled`` (x·255: breaks the [0, 1] output contract).

    ``name`` (default: the kind) names the graph, which gives the same model different bytes.
    """
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    if kind == "identity":
        nodes, weights = [helper.make_node("Identity", ["input"], ["output"])], []
    else:
        nodes = [helper.make_node("Mul", ["input", "k"], ["output"])]
        weights = [numpy_helper.from_array(np.array([255.0], np.float32), "k")]
    graph = helper.make_graph(nodes, name or kind, [x], [y], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return bytes(model.SerializeToString())


class SlowIdentity(torch.nn.Module):
    """Exactly the identity (x + 0.0), after ``spins`` small matrix products per image."""

    def __init__(self, spins: int) -> None:
        super().__init__()
        self.spins = spins

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.ones(64, 64) * x.mean()  # input-dependent and loop-carried: no shortcut
        for _ in range(self.spins):
            a = torch.tanh(torch.mm(a, a))
        return x + a[0, :1] * 0.0


def slow_model(folder: Path, spins: int = 10000) -> bytes:
    """A TorchScript file of :class:`SlowIdentity` (10,000 spins: about 0.3 s per image)."""
    path = folder / "slow.pt"
    torch.jit.save(torch.jit.script(SlowIdentity(spins)), str(path))
    return path.read_bytes()


# -- child processes ----------------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """A running child process (a Celery worker, the API server) and the file its output goes to.

    It leads its own process group, so :meth:`kill` also ends what it started (beat, sandboxes).
    """

    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """``kill -9`` the process group."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(errors="replace")


def start_process(args: list[str], *, env: Mapping[str, str], log: Path) -> ServiceProcess:
    """Start ``args`` in the repository root with ``env`` over this process's environment."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return ServiceProcess(process, log)


def celery_worker_args(name: str, *, beat_schedule: Path | None = None) -> list[str]:
    """A solo-pool worker on both queues; ``beat_schedule`` embeds beat (the reconciler)."""
    args = [str(BIN / "celery"), "-A", "worker.celery_app", "worker", "-Q", "validate,score",
            "--pool=solo", "-c", "1", "--without-heartbeat", "--without-gossip",
            "--without-mingle", "--loglevel=INFO", "-n", f"{name}@%h"]  # fmt: skip
    if beat_schedule is not None:
        args += ["-B", "-s", str(beat_schedule)]
    return args


def wait_for(
    condition: Callable[[], bool], processes: list[ServiceProcess], timeout: float = 45.0
) -> None:
    """Poll ``condition`` every 50 ms; on timeout fail with the processes' output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    logs = "\n".join(process.output()[-4000:] for process in processes)
    pytest.fail(f"condition not met within {timeout} s; process output:\n{logs}")


def free_port() -> int:
    """A TCP port nothing listens on right now (for a live API server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def api_server_args(port: int) -> list[str]:
    """uvicorn serving the whole app on ``port``."""
    return [str(BIN / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-proxy-headers"]  # fmt: skip


def wait_ready(base_url: str, processes: list[ServiceProcess], timeout: float = 60.0) -> None:
    """Wait until ``/readyz`` answers 200; fail with the processes' output if one exits or
    the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.process.poll() is not None for p in processes):
            break
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.log.name}\n{p.output()[-3000:]}" for p in processes)
    pytest.fail(f"the API at {base_url} was not ready within {timeout} s:\n{logs}")
