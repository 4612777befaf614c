"""The demo from nothing: :func:`bootstrap` builds (or finds) everything, :func:`run_demo` then
serves it until Ctrl-C. Both ``python -m app.demo`` and ``gir-admin demo`` call :func:`run_demo`.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.benchmarks.models import ImageSet
from app.db import new_session
from app.demo import benchmark, rows
from app.demo.pool import MIXTURES, SINGLES
from app.errors import Invalid
from app.settings import VAR, get_settings


@dataclass(frozen=True)
class DemoPlan:
    """What the demo builds. The defaults are ``make demo``'s; tests pass smaller numbers.

    Attributes:
        profile: line training profile (``demo``; tests use ``tiny``).
        tasks: Table C.1 numbers of the representative tasks.
        hidden_per_order: hidden tasks of each order 1..5, drawn from ``GIR_HIDDEN_SEED``.
        version: name of the benchmark version to freeze and activate.
        max_side: side of the GT centre crops.
        real_world: add the package-shipped real-world sets.
        folder: where the demo's own files go (GT crops, credentials).
        admin_email: the demo administrator's login.
        threads: torch/onnxruntime threads (None: all cores).
    """

    profile: str = "demo"
    tasks: tuple[int, ...] = SINGLES + MIXTURES
    hidden_per_order: int = 2
    version: str = "demo-v2"
    max_side: int = 256
    real_world: bool = True
    folder: Path = VAR
    admin_email: str = "demo@gir-bench.local"
    threads: int | None = None

    @property
    def credentials(self) -> Path:
        """The file holding the administrator's password (mode 0600)."""
        return self.folder / "demo-credentials.txt"


@dataclass
class DemoState:
    """What the bootstrap found or made: enough for the serving phase and the tests."""

    admin_email: str
    password: str | None
    version: str
    identity_id: int
    identity_new: bool
    line_row_ids: list[int] = field(default_factory=list)
    trained: int = 0
    seconds: float = 0.0


class Reporter:
    """Progress on stdout: one line per event with the time since start; transient step
    progress is redrawn in place on a terminal and skipped otherwise (logs stay readable)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._live = sys.stdout.isatty()
        self._transient = False

    def say(self, text: str) -> None:
        """Print one line, prefixed with the elapsed time."""
        self._clear()
        print(f"[{time.perf_counter() - self.started:6.1f}s] {text}", flush=True)

    def show(self, text: str) -> None:
        """Show a transient progress line (terminal only)."""
        if self._live:
            print(f"\r\x1b[2K{text}", end="", flush=True)
            self._transient = True

    def _clear(self) -> None:
        if self._transient:
            print("\r\x1b[2K", end="", flush=True)
            self._transient = False


def bootstrap(plan: DemoPlan, report: Reporter | None = None) -> DemoState:
    """Build whatever of the demo is missing: schema, administrator, image sets, task pool,
    lines, benchmark version, reference rows. Every step finds an earlier run's work first, so
    a second call adds nothing."""
    report = report or Reporter()
    say, started = report.say, time.perf_counter()
    benchmark.prepare_database()
    demo = plan.folder / "demo"
    with new_session() as session:
        admin, password = benchmark.ensure_admin(
            session=session, email=plan.admin_email, credentials=plan.credentials
        )
        gt = benchmark.ensure_gt_set(
            session=session, folder=demo / "gt", max_side=plan.max_side, say=say
        )
        if plan.real_world:
            benchmark.ensure_real_sets(session=session, folder=demo / "real", say=say)
        benchmark.ensure_tasks(
            session=session, numbers=plan.tasks, hidden_per_order=plan.hidden_per_order, say=say
        )
        trained = _lines(session, plan, gt, report)
        version = benchmark.ensure_version(session=session, name=plan.version, say=say)
        identity, new = rows.ensure_identity(session=session, owner=admin)
        if new:
            say(f"submitted the identity model as baseline submission {identity}")
        added = rows.ensure_line_rows(
            session=session,
            owner=admin,
            version=version,
            profile=plan.profile,
            threads=plan.threads,
            say=say,
            show=report.show,
        )
    return DemoState(
        admin_email=admin.email,
        password=password,
        version=version.name,
        identity_id=identity,
        identity_new=new,
        line_row_ids=added,
        trained=trained,
        seconds=time.perf_counter() - started,
    )


def _lines(session: Session, plan: DemoPlan, gt: ImageSet, report: Reporter) -> int:
    """Training images, then the lines of every task still without them."""
    benchmark.ensure_train_set(
        session=session, gt=gt, folder=plan.folder / "demo" / "train", profile=plan.profile
    )
    return benchmark.ensure_lines(
        session=session,
        profile=plan.profile,
        threads=plan.threads,
        say=report.say,
        show=report.show,
    )


def embedded_paths() -> list[Path]:
    """What ``--reset`` deletes: the SQLite file and its journals, broker and storage folders,
    and the demo's own files. Refuses configured (non-embedded) parts: a reset never touches a
    PostgreSQL database, a Redis broker or a storage folder outside ``var/``.

    Raises:
        Invalid: the database, broker or storage is not the embedded default under ``var/``.
    """
    settings = get_settings()
    database = make_url(settings.database_url).database if settings.is_sqlite else None
    root = VAR.resolve()
    parts = [Path(database) if database else None, settings.broker_dir, settings.storage_dir]
    if any(part is None or not part.resolve().is_relative_to(root) for part in parts):
        raise Invalid(
            "--reset only clears the embedded setup under var/; the configured database, broker "
            "or storage lies elsewhere, so clear it yourself"
        )
    return [VAR]


def reset() -> list[Path]:
    """Delete the embedded state (see :func:`embedded_paths`); the paths removed."""
    removed = []
    for path in embedded_paths():
        if path.exists():
            shutil.rmtree(path)
            removed.append(path)
    return removed
