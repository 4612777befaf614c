"""Worker test fixtures: a database, Redis database and storage folder of their own, a tiny
benchmark version, model files, and real Celery worker processes that are always killed.

The worker runs in another process, so everything it reads is committed (every table is
emptied after each test). The settings reach it through the environment: short heartbeat and
staleness intervals make the reconciler testable in seconds.

Why not ``service_env``/``live_db`` from ``tests/app/conftest.py``: pytest shows a conftest's
fixtures only below its folder; importing them here would make a second session fixture that
drops and recreates the same database under the API tests running in the same xdist worker.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg
import pytest
import redis
import torch
from onnx import TensorProto, helper, numpy_helper
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app import db as app_db
from app import queue, settings
from app.auth.models import User
from app.benchmarks.models import (
    BenchmarkVersion,
    Image,
    ImageSet,
    TaskDef,
    VersionImageSet,
    VersionTask,
)
from app.migrate import upgrade
from app.models import Base
from app.storage import get_storage
from app.submissions.models import Submission
from gir_core.demo import write_demo_images
from gir_core.images import load_image
from gir_core.metrics import psnr
from gir_core.tasks import Task
from worker.plan import prepare_inputs, scoring_plan

PG_ADMIN = os.environ.get("GIR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("GIR_TEST_REDIS", "redis://127.0.0.1:6379")
ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")
SEED = 7
# key, spec, kind, identity PSNR minus (acceptance, excellence): identity passes the acceptance
# line of 1, 3 and h1 and the excellence line of 3 only, so AR = 3/4 and ER = 1/4.
TASKS = (
    ("1", "noise", "representative", (1.0, -1.0)),
    ("2", "blur", "representative", (-1.0, -2.0)),
    ("3", "compression + noise", "representative", (2.0, 1.0)),
    ("h1", "rain + blur", "hidden", (0.5, -0.5)),
)


def _index(worker_id: str) -> int:
    return int(worker_id[2:]) if worker_id.startswith("gw") else 0


@pytest.fixture(scope="session")
def worker_db(worker_id: str) -> Iterator[str]:
    """An empty database of this test process's own, migrated by Alembic, dropped afterwards."""
    name = f"gir_worker_test_{_index(worker_id)}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def worker_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One storage folder per session: the synthesis cache is reused across tests."""
    return tmp_path_factory.mktemp("worker-storage")


def _clear_caches() -> None:
    settings.get_settings.cache_clear()
    app_db.get_engine.cache_clear()
    app_db._factory.cache_clear()
    queue.get_celery.cache_clear()


@pytest.fixture
def worker_env(
    worker_db: str, worker_storage: Path, worker_id: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Settings for this test and its worker processes; committed rows are removed afterwards."""
    env = {
        "GIR_ENVIRONMENT": "test",
        "GIR_SECRET_KEY": "test-secret-key-not-for-production",
        "GIR_DATABASE_URL": worker_db,
        "GIR_BROKER_URL": f"{REDIS}/{15 - _index(worker_id)}",
        "GIR_STORAGE_DIR": str(worker_storage),
        "GIR_DEVICE": "cpu",
        "GIR_SANDBOX_THREADS": "1",
        "GIR_HEARTBEAT_S": "0.5",
        "GIR_STALE_AFTER_S": "3",
        "GIR_RECONCILE_EVERY_S": "1",
        "GIR_MAX_ATTEMPTS": "3",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _clear_caches()
    redis.Redis.from_url(env["GIR_BROKER_URL"]).flushdb()
    yield env
    engine = app_db.get_engine()
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    _clear_caches()


@pytest.fixture
def engine(worker_env: dict[str, str]) -> Engine:
    """The engine of the worker tests' database."""
    return app_db.get_engine()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A plain session: what it commits, the worker process sees."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


# -- the benchmark ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """The test version: ids, and the identity model's expected per-image PSNRs per task key."""

    version_id: int
    identity_psnr: dict[str, list[float]]
    real_set_id: int


def _store(data: bytes, key: str) -> str:
    writer = get_storage().writer(key)
    writer.write(data)
    writer.commit()
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
                storage_key=_store(data, f"images/{name}/{position}.png"),
                width=width,
                height=height,
            )
        )
    return ImageSet(name=name, role=role, label=label, images=images)


@pytest.fixture(scope="session")
def demo_pngs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    """Two 48 px GT images and one 128 px real-world image from the package's demo photos."""
    root = tmp_path_factory.mktemp("demo")
    gt = write_demo_images(root / "gt", max_side=48)[:2]
    real = write_demo_images(root / "real", max_side=128)[2:3]
    return gt, real


@pytest.fixture
def bench(db: Session, demo_pngs: tuple[list[Path], list[Path]]) -> Bench:
    """An active version of four tasks (one hidden) with lines around the identity's PSNR."""
    gt_paths, real_paths = demo_pngs
    clean = [load_image(path) for path in gt_paths]
    identity: dict[str, list[float]] = {}
    version = BenchmarkVersion(name="test", seed=SEED, is_active=True)
    for position, (key, spec, kind, (below, above)) in enumerate(TASKS):
        task = Task.parse(spec)
        values = [
            float(psnr(task.apply(image, SEED, image_index=index), image))
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
    db.add(version)
    db.commit()
    # What the operators' synthesize job does: workers then find every input cached.
    plan = scoring_plan(session=db, version_id=version.id, storage=get_storage())
    prepare_inputs(plan, workers=1)
    return Bench(version.id, identity, real.id)


# -- models and submissions ---------------------------------------------------------------------


def onnx_model(kind: str) -> bytes:
    """``identity``, or ``scaled`` (x·255: breaks the [0, 1] output contract)."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    if kind == "identity":
        nodes, weights = [helper.make_node("Identity", ["input"], ["output"])], []
    else:
        nodes = [helper.make_node("Mul", ["input", "k"], ["output"])]
        weights = [numpy_helper.from_array(np.array([255.0], np.float32), "k")]
    graph = helper.make_graph(nodes, kind, [x], [y], weights)
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


def slow_model(tmp_path: Path, spins: int = 10000) -> bytes:
    """A TorchScript file of :class:`SlowIdentity` (a fraction of a second per image)."""
    path = tmp_path / "slow.pt"
    torch.jit.save(torch.jit.script(SlowIdentity(spins)), str(path))
    return path.read_bytes()


def add_submission(
    db: Session, name: str, data: bytes, fmt: str = "onnx", *, validated: bool = False
) -> int:
    """A committed queued submission with its model file in storage; returns its id."""
    owner = db.scalar(select(User).filter_by(email="owner@example.org"))
    if owner is None:
        owner = User(email="owner@example.org", name="owner", password_hash="-")
        db.add(owner)
    digest = hashlib.sha256(data).hexdigest()
    submission = Submission(
        owner=owner, name=name, format=fmt, sha256=digest, size_bytes=len(data),
        storage_key=_store(data, f"models/{digest}"), status="queued",
        parameters=0 if validated else None, seconds_per_mp=0.1 if validated else None,
    )  # fmt: skip
    db.add(submission)
    db.commit()
    return submission.id


# -- worker processes ---------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    """A running ``celery worker`` and the file its output goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """``kill -9`` the worker's process group (the worker and its embedded beat)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        """Everything the worker logged so far."""
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_worker(
    worker_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes (``beat=True`` adds the reconciler); all killed at teardown."""
    started: list[WorkerProcess] = []

    def start(*, beat: bool = False) -> WorkerProcess:
        number = len(started)
        args = [CELERY, "-A", "worker.celery_app", "worker", "-Q", "validate,score",
                "--pool=solo", "-c", "1", "--without-heartbeat", "--without-gossip",
                "--without-mingle", "--loglevel=INFO", "-n", f"test{number}@%h"]  # fmt: skip
        if beat:
            args += ["-B", "-s", str(tmp_path / f"beat-{number}")]
        log = tmp_path / f"worker-{number}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                args, cwd=ROOT, env={**os.environ, **worker_env}, stdout=sink,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        started.append(WorkerProcess(process, log))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()


def wait_for(
    condition: Callable[[], bool], workers: list[WorkerProcess], timeout: float = 45.0
) -> None:
    """Poll ``condition`` every 50 ms; on timeout fail with the workers' output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    logs = "\n".join(worker.output()[-4000:] for worker in workers)
    pytest.fail(f"condition not met within {timeout} s; worker output:\n{logs}")
