"""Worker test fixtures: a database, Redis database and storage folder of their own, a tiny
benchmark version, model files, and real Celery worker processes that are always killed.

The worker runs in another process, so everything it reads is committed (every table is
emptied after each test). The settings reach it through the environment: short heartbeat and
staleness intervals make the reconciler testable in seconds.

Why not ``service_env``/``live_db`` from ``tests/app/conftest.py``: pytest shows a conftest's
fixtures only below its folder; importing them here would make a second session fixture that
drops and recreates the same database under the API tests running in the same xdist worker.
What the browser tests need too (the benchmark, model files, child processes) lives in
``tests/support/stack.py``; where PostgreSQL and Redis are, and each process's database names,
in ``tests/support/services.py``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app import db as app_db
from app.auth.models import User
from app.models import Base
from app.submissions.models import Submission
from tests.support.factories import Rows
from tests.support.services import (
    clear_caches,
    create_database,
    database_name,
    drop_database,
    service_settings,
)
from tests.support.stack import (
    Bench,
    ServiceProcess,
    build_bench,
    celery_worker_args,
    onnx_model,
    slow_model,
    start_process,
    store,
    wait_for,
    write_demo_pngs,
)

# What the worker tests import from here.
WorkerProcess = ServiceProcess
__all__ = [
    "OWNER_EMAIL",
    "Bench",
    "WorkerProcess",
    "add_submission",
    "finished",
    "onnx_model",
    "reread",
    "slow_model",
    "submission_owner",
    "wait_for",
]


@pytest.fixture(scope="session")
def worker_db(worker_id: str) -> Iterator[str]:
    """An empty database of this test process's own, migrated by Alembic, dropped afterwards."""
    name = database_name("worker", worker_id)
    yield create_database(name)
    drop_database(name)


@pytest.fixture(scope="session")
def worker_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One storage folder per session: the synthesis cache is reused across tests."""
    return tmp_path_factory.mktemp("worker-storage")


@pytest.fixture
def worker_env(
    worker_db: str, worker_storage: Path, worker_id: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Settings for this test and its worker processes; committed rows are removed afterwards."""
    env = {
        **service_settings("worker", worker_id, worker_db, worker_storage),
        "GIR_DEVICE": "cpu",
        "GIR_SANDBOX_THREADS": "1",
        "GIR_HEARTBEAT_S": "0.5",
        "GIR_STALE_AFTER_S": "3",
        "GIR_RECONCILE_EVERY_S": "1",
        "GIR_MAX_ATTEMPTS": "3",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clear_caches()
    redis.Redis.from_url(env["GIR_BROKER_URL"]).flushdb()
    yield env
    engine = app_db.get_engine()
    names = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    clear_caches()


@pytest.fixture
def engine(worker_env: dict[str, str]) -> Engine:
    """The engine of the worker tests' database."""
    return app_db.get_engine()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A plain session: what it commits, the worker process sees."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def rows(db: Session) -> Rows:
    """Users, tokens and submissions committed through ``db`` (worker processes read them)."""
    return Rows(db, commit=True)


# -- the benchmark ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_pngs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    """Two 48 px GT images and one 128 px real-world image from the package's demo photos."""
    return write_demo_pngs(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def bench(db: Session, demo_pngs: tuple[list[Path], list[Path]]) -> Bench:
    """An active version of four tasks (one hidden) with lines around the identity's PSNR."""
    return build_bench(db, *demo_pngs)


# -- submissions --------------------------------------------------------------------------------

OWNER_EMAIL = "owner@example.org"  # who owns what add_submission makes


def submission_owner(db: Session) -> User | None:
    """The owner of what :func:`add_submission` makes (None before its first submission)."""
    return db.scalar(select(User).filter_by(email=OWNER_EMAIL))


def add_submission(
    db: Session, name: str, data: bytes, fmt: str = "onnx", *, validated: bool = False
) -> int:
    """A committed queued submission of ``owner@example.org`` (made on first use) with its model
    file in storage; returns its id."""
    committed = Rows(db, commit=True)
    owner = submission_owner(db)
    if owner is None:
        owner = committed.user("owner", email=OWNER_EMAIL)
    digest = hashlib.sha256(data).hexdigest()
    submission = committed.submission(
        owner, name=name, format=fmt, sha256=digest, size_bytes=len(data),
        storage_key=store(data, f"models/{digest}"), status="queued",
        parameters=0 if validated else None, seconds_per_mp=0.1 if validated else None,
    )  # fmt: skip
    return submission.id


def reread(db: Session, submission_id: int) -> Submission:
    """The submission as the worker last committed it."""
    db.expire_all()
    submission = db.get(Submission, submission_id)
    assert submission is not None
    return submission


def finished(db: Session, submission_id: int) -> Callable[[], bool]:
    """A :func:`wait_for` condition: the submission is scored or failed."""
    return lambda: reread(db, submission_id).status in ("scored", "failed")


# -- worker processes ---------------------------------------------------------------------------


@pytest.fixture
def start_worker(
    worker_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real worker processes (``beat=True`` adds the reconciler); all killed at teardown."""
    started: list[WorkerProcess] = []

    def start(*, beat: bool = False) -> WorkerProcess:
        number = len(started)
        schedule = tmp_path / f"beat-{number}" if beat else None
        args = celery_worker_args(f"test{number}", beat_schedule=schedule)
        log = tmp_path / f"worker-{number}.log"
        started.append(start_process(args, env=worker_env, log=log))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()
