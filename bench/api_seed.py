"""Seed a PostgreSQL database like a busy GIR Bench: users, a version of 100 tasks (50 hidden),
1,000 scored submissions with summaries and 100,000 per-task results (used by ``bench/api.py``
and ``bench/pages.py``).

Core inserts (so the models' Python-side defaults apply) for the few thousand rows, PostgreSQL
``COPY`` for the per-task results; the schema itself comes from the Alembic migrations.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Engine, create_engine, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.auth.models import ApiToken, User  # noqa: E402  (after the path fix-up above)
from app.auth.security import new_api_token  # noqa: E402
from app.benchmarks.models import BenchmarkVersion, TaskDef, VersionTask  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.submissions.models import Submission, Summary  # noqa: E402
from gir_core.degradations import names as degradation_names  # noqa: E402

PG_ADMIN = os.environ.get("GIR_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IMAGES_PER_TASK = 10
DEGRADATIONS = degradation_names()


@dataclass
class Seeded:
    """What the load and upload phases need from the seeded database."""

    admin_token: str
    submissions: int
    task_results: int
    seconds: float


def database(name: str, *, create: bool) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if create:
            connection.execute(f"CREATE DATABASE {name}")


def _seed_users(engine: Engine, users: int) -> tuple[list[int], int, str]:
    """``users`` researchers and one admin with an API token (admins have no quota)."""
    rows = [
        {"email": f"user{n}@bench.example", "name": f"Researcher {n}", "password_hash": "!"}
        for n in range(users)
    ]
    token = new_api_token()
    with engine.begin() as connection:
        ids = list(connection.scalars(insert(User).returning(User.id), rows))
        admin = connection.scalar(
            insert(User).returning(User.id),
            {
                "email": "admin@bench.example",
                "name": "Operator",
                "password_hash": "!",
                "is_admin": True,
            },
        )
        assert admin is not None
        connection.execute(
            insert(ApiToken),
            {"user_id": admin, "name": "bench", "prefix": token.prefix, "token_hash": token.digest},
        )
    return ids, admin, token.secret


def _spec(rng: random.Random) -> str:
    steps = rng.sample(DEGRADATIONS, rng.randint(1, 4))
    return " + ".join(f"{name}(level={rng.randint(1, 50)})" for name in steps)


def _seed_version(engine: Engine, tasks: int, hidden: int) -> tuple[int, list[int], Counter[str]]:
    """An active version of ``tasks`` tasks, the last ``hidden`` of them hidden; also how many
    tasks use each degradation (the ``n_tasks`` of a summary's bias)."""
    rng = random.Random(4)
    rows = [
        {
            "key": f"h{n:02d}" if n >= tasks - hidden else str(n + 1),
            "spec": _spec(rng),
            "task_hash": f"{n:016x}",
            "kind": "hidden" if n >= tasks - hidden else "representative",
            "order": rng.randint(1, 5),
            "acceptance_psnr": 24.0 + rng.random(),
            "excellence_psnr": 27.0 + rng.random(),
        }
        for n in range(tasks)
    ]
    with engine.begin() as connection:
        task_ids = list(connection.scalars(insert(TaskDef).returning(TaskDef.id), rows))
        version = connection.scalar(
            insert(BenchmarkVersion).returning(BenchmarkVersion.id),
            {"name": "bench-v1", "seed": 1, "is_active": True, "metric_settings": {}},
        )
        assert version is not None
        lines = [
            {
                "version_id": version,
                "task_id": task_id,
                "position": position,
                "acceptance_psnr": row["acceptance_psnr"],
                "excellence_psnr": row["excellence_psnr"],
            }
            for position, (task_id, row) in enumerate(zip(task_ids, rows, strict=True))
        ]
        line_ids = list(connection.scalars(insert(VersionTask).returning(VersionTask.id), lines))
    uses = Counter(step.partition("(")[0] for row in rows for step in str(row["spec"]).split(" + "))
    return version, line_ids, uses


def _summary(
    submission_id: int, version: int, uses: Counter[str], rng: random.Random
) -> dict[str, object]:
    ar, psnr = rng.random(), 22.0 + 8.0 * rng.random()
    rep, hid = min(ar + 0.1 * rng.random(), 1.0), max(ar - 0.1 * rng.random(), 0.0)
    return {
        "submission_id": submission_id,
        "benchmark_version_id": version,
        "ar": ar,
        "er": ar * rng.random(),
        "mean_psnr": psnr,
        "mean_ssim": 0.6 + 0.3 * rng.random(),
        "ar_low": max(ar - 0.05, 0.0),
        "ar_high": min(ar + 0.05, 1.0),
        "psnr_low": psnr - 0.4,
        "psnr_high": psnr + 0.4,
        "ar_representative": rep,
        "ar_hidden": hid,
        "psnr_representative": psnr + 0.2,
        "psnr_hidden": psnr - 0.2,
        # The summary's shape (app.submissions.summary._bias), so model pages draw the chart.
        "bias": {
            name: {"n_tasks": uses[name], "mean_score": rng.uniform(-0.3, 1.3)}
            for name in DEGRADATIONS
            if uses[name]
        },
    }


def _seed_submissions(
    engine: Engine, owners: list[int], version: int, count: int, lines: int, uses: Counter[str]
) -> list[int]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    rows = [
        {
            "owner_id": owners[n % len(owners)],
            "name": f"Restorer-{n:04d}",
            "description": "seeded by bench/api.py",
            "paper_url": f"https://papers.example/{n}",
            "format": "onnx" if n % 3 else "torchscript",
            "sha256": f"{n:064x}",
            "size_bytes": 10_000_000 + n,
            "storage_key": f"submissions/bench/{n}.onnx",
            "is_baseline": n < 3,
            "status": "scored",
            "progress_done": lines,
            "progress_total": lines,
            "parameters": rng.randint(10_000, 50_000_000),
            "seconds_per_mp": rng.random(),
            "benchmark_version_id": version,
            "created_at": now - timedelta(minutes=count - n),
            "finished_at": now - timedelta(minutes=count - n - 1),
        }
        for n in range(count)
    ]
    with engine.begin() as connection:
        ids = list(connection.scalars(insert(Submission).returning(Submission.id), rows))
        connection.execute(insert(Summary), [_summary(i, version, uses, rng) for i in ids])
    return ids


def _copy_results(url: str, submissions: list[int], lines: list[int]) -> int:
    """Per-task results through COPY: 100,000 rows in a second or two, not minutes."""
    rng = random.Random(11)
    columns = "submission_id, version_task_id, mean_psnr, mean_ssim, psnr, ssim, seconds"
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY task_results ({columns}) FROM STDIN") as copy:
            for submission in submissions:
                for line in lines:
                    psnr = [round(20 + 10 * rng.random(), 3) for _ in range(IMAGES_PER_TASK)]
                    ssim = [round(0.5 + 0.4 * rng.random(), 4) for _ in range(IMAGES_PER_TASK)]
                    copy.write_row(
                        (
                            submission,
                            line,
                            statistics.fmean(psnr),
                            statistics.fmean(ssim),
                            Json(psnr),
                            Json(ssim),
                            0.01 + rng.random() / 10,
                        )
                    )
        connection.commit()
    return len(submissions) * len(lines)


def seed(url: str, *, submissions: int, tasks: int, hidden: int, users: int) -> Seeded:
    """Migrate the empty database with Alembic and fill it (ORM defaults via Core inserts)."""
    start = time.perf_counter()
    upgrade(url)
    engine = create_engine(url)
    try:
        owners, _, token = _seed_users(engine, users)
        version, lines, uses = _seed_version(engine, tasks, hidden)
        ids = _seed_submissions(engine, owners, version, submissions, len(lines), uses)
    finally:
        engine.dispose()
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    results = _copy_results(plain, ids, lines)
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("ANALYZE")  # what autovacuum does soon after a bulk load anyway
    return Seeded(token, len(ids), results, time.perf_counter() - start)


def add_seed_arguments(parser: argparse.ArgumentParser) -> None:
    """The board's size: ``--submissions``, ``--tasks``, ``--hidden``, ``--users``."""
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=50)
    parser.add_argument("--users", type=int, default=50)


@contextlib.contextmanager
def seeded_database(kind: str, args: argparse.Namespace) -> Iterator[tuple[str, Path, Seeded]]:
    """A fresh database seeded as ``args`` say (see :func:`add_seed_arguments`) and a scratch
    folder: their URL and path and what was seeded; both are removed afterwards."""
    name = f"gir_bench_{kind}_{os.getpid()}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    scratch = Path(tempfile.mkdtemp(prefix=f"gir-bench-{kind}-"))
    database(name, create=True)
    try:
        seeded = seed(
            url,
            submissions=args.submissions,
            tasks=args.tasks,
            hidden=args.hidden,
            users=args.users,
        )
        print(
            f"seeded {seeded.submissions} scored submissions × {args.tasks} tasks "
            f"({args.hidden} hidden) = {seeded.task_results} task results in {seeded.seconds:.1f} s"
        )
        yield url, scratch, seeded
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        database(name, create=False)
