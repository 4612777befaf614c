"""The demo's lines as data: produced once by a documented command, shipped, checked on import.

Lines that mean something (above the degraded input, excellence clearly above acceptance) cost
more training than ``make demo`` may spend on two cores, so the demo's line values ship in
:data:`SHIPPED` (one row per task and line, with full provenance) and ``make demo`` imports them
when their provenance matches the demo version exactly (:func:`matching_rows`); otherwise it
trains. Made again with::

    nice python -m app.demo.shipped --out app/demo/data/demo-lines.csv [--jobs 2]

which trains every line of the demo pool (Table C.1 tasks :data:`~app.demo.pool.SINGLES` +
:data:`~app.demo.pool.MIXTURES` and the stratified hidden set of ``GIR_HIDDEN_SEED``, two per
order) with the ``demo`` profile on the demo's training regions, one CPU thread each, measured
under the authors' convention. One thread and no producer processes make a line a pure function
of its provenance, which a test checks by retraining one line and comparing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from app.demo.pool import MIXTURES, SINGLES
from gir_core import __version__
from gir_core.baselines import KINDS, LineKind, get_profile, network_name, train_line
from gir_core.baselines.options import TrainingOptions
from gir_core.convention import AUTHORS, MetricConvention
from gir_core.degradations.depth import proxy_depth
from gir_core.demo import DEMO_IMAGES, DemoImage, demo_crop_box
from gir_core.errors import ImageError
from gir_core.hidden import hidden_tasks
from gir_core.images import crop_to_multiple, encode_png, load_image_u8, to_float
from gir_core.tasks import DEGRADATION_VERSION, Task, representative_tasks

SHIPPED = Path(__file__).parent / "data" / "demo-lines.csv"
PROFILE = "demo"
TRAIN_SEED = 0
MAX_SIDE = 256
HIDDEN_PER_ORDER = 2


@dataclass(frozen=True)
class LineRow:
    """One line with its provenance: the CSV format ``lines import`` reads (issue #10 §3)."""

    task: str
    kind: str
    psnr: float
    gt_hash: str
    degradation_version: str
    seed: int
    metric_convention: str
    network: str
    profile: str
    iterations: int
    train_set_hash: str
    train_seed: int
    code_version: str
    created_at: str


COLUMNS = tuple(f.name for f in fields(LineRow))


def set_hash(images: Iterable[NDArray[np.uint8]]) -> str:
    """The set hash :func:`app.benchmarks.provenance.set_hash` gives these pixels once stored
    as a set (position and SHA-256 of each stored PNG), computed without a database."""
    digest = hashlib.sha256()
    for position, image in enumerate(images):
        stored = hashlib.sha256(encode_png(image)).hexdigest()
        digest.update(f"{position}:{stored}\n".encode())
    return digest.hexdigest()


def profile_tag(name: str, kind: str) -> str:
    """``name@fingerprint`` of the settings ``kind`` trains with: a changed setting (a learning
    rate, a batch size) changes the tag, so shipped lines made before it no longer match and are
    trained again instead of imported; settings of the other net do not enter it."""
    chosen = get_profile(name).for_kind(kind)
    if kind == "acceptance":
        chosen = replace(chosen, excellence_iterations=0, excellence_lr_start=0.0,
                         excellence_blocks=0, excellence_channels=1)  # fmt: skip
    else:
        chosen = replace(chosen, acceptance_features=(1, 1), acceptance_start="default")
    return f"{name}@{hashlib.sha256(repr(chosen).encode()).hexdigest()[:8]}"


def line_network(kind: LineKind, profile: str) -> str:
    """The ``network`` text of a line trained with ``profile``."""
    chosen = get_profile(profile)
    return network_name(
        kind,
        features=chosen.acceptance_features,
        blocks=chosen.excellence_blocks,
        channels=chosen.excellence_channels,
    )


def demo_pool(hidden_seed: int) -> list[tuple[str, Task]]:
    """(key, task) of the demo pool in the order ``make demo`` adds them: Table C.1 numbers,
    then the stratified hidden set as h01, h02, ..."""
    table = representative_tasks()
    shown = [(str(n), table[n - 1]) for n in SINGLES + MIXTURES]
    avoid = [str(task) for _, task in shown]
    hidden = hidden_tasks(hidden_seed, HIDDEN_PER_ORDER, avoid=avoid)
    return shown + [(f"h{i:02d}", task) for i, task in enumerate(hidden, start=1)]


def _by_file_name() -> list[DemoImage]:
    """The demo photos in the order the GT set stores them (``add_image_set`` sorts by name)."""
    return sorted(DEMO_IMAGES, key=lambda image: f"{image.name}.png")


def demo_test_images(max_side: int = MAX_SIDE) -> list[NDArray[np.uint8]]:
    """The demo's ground truth as stored: the centre crops of the package photos."""
    crops = []
    for image in _by_file_name():
        full = load_image_u8(image.path)
        top, left, h, w = demo_crop_box(image, max_side)
        crops.append(full[top : top + h, left : left + w])
    return crops


def demo_train_images(patch_size: int, max_side: int = MAX_SIDE) -> list[NDArray[np.uint8]]:
    """The demo's training set as ``ensure_train_set`` stores it: the photos' strips outside the
    test crops, at least ``patch_size`` a side, without those the depth proxy cannot use."""
    from app.benchmarks.lines import _strips

    regions = []
    for image in _by_file_name():
        full = load_image_u8(image.path)
        for strip in _strips(full, demo_crop_box(image, max_side)):
            if min(strip.shape[:2]) < patch_size:
                continue
            try:
                proxy_depth(to_float(strip))
            except ImageError:
                continue
            regions.append(crop_to_multiple(strip))
    return regions


@dataclass(frozen=True)
class _Job:
    key: str
    task: str
    kind: LineKind
    hidden_seed: int


def train_one(job: _Job, convention: MetricConvention = AUTHORS) -> tuple[float, float]:
    """(line PSNR, input PSNR) of one demo line, trained as the shipped values were."""
    profile = get_profile(PROFILE)
    train = [to_float(r) for r in demo_train_images(profile.patch_size)]
    test = [to_float(t) for t in demo_test_images()]
    result = train_line(
        job.task,
        train,
        test,
        kind=job.kind,
        profile=profile,
        seed=TRAIN_SEED,
        benchmark_seed=job.hidden_seed,
        num_threads=1,
        convention=convention,
        options=TrainingOptions(producers=0),
    )
    return result.psnr, result.input_psnr


def _row(
    job: _Job, value: float, gt_hash: str, train_hash: str, profile_name: str = PROFILE
) -> LineRow:
    profile = get_profile(profile_name)
    return LineRow(
        task=job.key,
        kind=job.kind,
        psnr=round(value, 4),
        gt_hash=gt_hash,
        degradation_version=DEGRADATION_VERSION,
        seed=job.hidden_seed,
        metric_convention=AUTHORS.text,
        network=line_network(job.kind, profile_name),
        profile=profile_tag(profile_name, job.kind),
        iterations=profile.for_kind(job.kind).iterations,
        train_set_hash=train_hash,
        train_seed=TRAIN_SEED,
        code_version=f"gir-bench {__version__}",
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _run(job: _Job) -> tuple[_Job, float, float]:
    value, given = train_one(job)
    print(f"task {job.key} {job.kind}: {value:.3f} dB (input {given:.3f})", flush=True)
    return job, value, given


def produce(out: Path, hidden_seed: int, jobs: int, only: Sequence[str] = ()) -> list[LineRow]:
    """Train every demo line (or the tasks ``only``) and write the CSV; the rows.

    Rows already in ``out`` with the same provenance are kept (an interrupted run continues),
    and the file is rewritten after each line, in pool order.
    """
    patch = get_profile(PROFILE).patch_size
    gt_hash, train_hash = set_hash(demo_test_images()), set_hash(demo_train_images(patch))
    pool = demo_pool(hidden_seed)
    wanted = [
        _Job(key, str(task), kind, hidden_seed)
        for key, task in pool
        if not only or key in only
        for kind in KINDS
    ]
    fresh = {job.kind: _row(job, 0.0, gt_hash, train_hash) for job in wanted}
    done = {
        (r.task, r.kind): r
        for r in read_rows(out)
        if r.kind in fresh and mismatch(r, fresh[r.kind]) is None
    }
    order: dict[tuple[str, str], int] = {(j.key, j.kind): i for i, j in enumerate(wanted)}
    todo = [job for job in wanted if (job.key, job.kind) not in done]
    with ProcessPoolExecutor(max_workers=jobs) as executor:
        for future in as_completed([executor.submit(_run, job) for job in todo]):
            job, value, _ = future.result()
            done[(job.key, job.kind)] = _row(job, value, gt_hash, train_hash)
            write_rows(out, sorted(done.values(), key=lambda r: order[(r.task, r.kind)]))
    return sorted(done.values(), key=lambda r: order[(r.task, r.kind)])


def write_rows(path: Path, rows: Sequence[LineRow]) -> None:
    """Write line rows as CSV (header :data:`COLUMNS`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)


def read_rows(path: Path = SHIPPED) -> list[LineRow]:
    """The rows of a line CSV (empty when the file does not exist)."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            LineRow(**{**raw, "psnr": float(raw["psnr"]), "seed": int(raw["seed"]),  # type: ignore[arg-type]
                       "iterations": int(raw["iterations"]), "train_seed": int(raw["train_seed"])})
            for raw in csv.DictReader(handle)
        ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.demo.shipped``: produce the demo's line CSV."""
    parser = argparse.ArgumentParser(description="Train the demo's lines and write their CSV.")
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--jobs", type=int, default=1, help="lines trained at once")
    parser.add_argument("--seed", type=int, default=None, help="default: GIR_HIDDEN_SEED")
    parser.add_argument("--only", nargs="*", default=[], help="task keys (default: all)")
    args = parser.parse_args(argv)
    from app.settings import get_settings

    seed = get_settings().hidden_seed if args.seed is None else args.seed
    rows = produce(args.out, seed, max(1, args.jobs), args.only)
    print(f"wrote {len(rows)} lines to {args.out}", file=sys.stderr)
    return 0


def mismatch(have: LineRow | None, want: LineRow) -> str | None:
    """Why the shipped row ``have`` is not the line ``want`` describes (None: it is).

    ``want`` holds the provenance the pool would train with (its task, psnr, code version and
    time are not compared: a line is the same line whenever it was made).
    """
    if have is None:
        return f"no shipped {want.kind} line for task {want.task}"
    for name in COLUMNS:
        if name in {"task", "psnr", "created_at", "code_version"}:
            continue
        if getattr(have, name) != getattr(want, name):
            return f"task {want.task} {want.kind}: {name} differs"
    return None


def _record(task_id: int, row: LineRow, source: str) -> Any:
    """The provenance record of a shipped line, as ``lines import`` stores one."""
    from app.benchmarks.models import LineRecord

    return LineRecord(
        task_id=task_id,
        source=source,
        made_at=datetime.strptime(row.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        **{name: getattr(row, name) for name in COLUMNS if name not in {"task", "created_at"}},
    )


def import_shipped(
    session: Session, profile: str, train_set: str, path: Path = SHIPPED
) -> tuple[int, str]:
    """Set the lines of pool tasks whose shipped rows match the demo exactly.

    Returns (tasks imported, why the others were not: empty when all were). A task is imported
    only when both its lines match; the rest are left for training.
    """
    from app.benchmarks import provenance
    from app.benchmarks.images import current_gt_set, get_image_set
    from app.benchmarks.service import list_tasks
    from app.settings import get_settings

    rows = {(row.task, row.kind): row for row in read_rows(path)}
    if not rows:
        return 0, f"no shipped lines at {path}"
    seed = get_settings().hidden_seed
    pool = [t for t in list_tasks(session=session) if t.excellence_psnr is None]
    wanted = dict(demo_pool(seed))
    gt_hash = provenance.set_hash(current_gt_set(session=session))
    train_hash = provenance.set_hash(get_image_set(session=session, name=train_set))
    reasons, imported = [], 0
    for task in pool:
        if task.key not in wanted or wanted[task.key].id != task.task_hash:
            reasons.append(f"task {task.key} is not the demo pool's")
            continue
        expected = {
            kind: _row(_Job(task.key, task.spec, kind, seed), 0.0, gt_hash, train_hash, profile)
            for kind in KINDS
        }
        found = [mismatch(rows.get((task.key, kind)), want) for kind, want in expected.items()]
        if any(found):
            reasons += [reason for reason in found if reason]
            continue
        source = f"shipped:{path.name}"[:120]
        for kind in KINDS:
            session.add(_record(task.id, rows[(task.key, kind)], source))
        task.acceptance_psnr = rows[(task.key, "acceptance")].psnr
        task.excellence_psnr = rows[(task.key, "excellence")].psnr
        task.line_source = source
        imported += 1
    session.commit()
    shown = "; ".join(reasons[:3]) + (f" and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return imported, shown


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
