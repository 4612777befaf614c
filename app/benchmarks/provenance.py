"""Line provenance (#10 §3): what a line was measured on and how, and whether it fits a version.

A line compares nothing unless it was measured on the inputs models are scored on, the same way:
the same GT images (:func:`set_hash`), the same degradation code (``DEGRADATION_VERSION``), the
same benchmark seed and the same metric convention. :class:`Target` holds those four for the
version about to be frozen from the pool; :func:`mismatch` names the first field a line gets
wrong, in a sentence that never prints the seed (the operator's secret). Lines imported with
``--foreign REASON`` skip the check and mark the version's AR/ER instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import gir_core
from app.benchmarks.images import current_gt_set
from app.benchmarks.models import ImageSet, LineRecord
from app.settings import get_settings
from gir_core.convention import MetricConvention
from gir_core.tasks import DEGRADATION_VERSION

FIELDS = (
    "gt_hash",
    "degradation_version",
    "seed",
    "metric_convention",
    "network",
    "profile",
    "iterations",
    "train_set_hash",
    "train_seed",
    "code_version",
    "created_at",
)
"""The provenance columns of a lines CSV (after ``task,kind,psnr``), in the issue's order."""

CHECKED = FIELDS[:4]
"""The fields that must equal the target version's for a line to be used without --foreign."""


def set_hash(image_set: ImageSet) -> str:
    """SHA-256 over the set's images in position order (position and file SHA-256 of each)."""
    digest = hashlib.sha256()
    for image in sorted(image_set.images, key=lambda i: i.position):
        digest.update(f"{image.position}:{image.sha256}\n".encode())
    return digest.hexdigest()


def demo_regions_hash(gt: ImageSet) -> str:
    """The training-set hash of lines trained on the demo photos outside their test crops."""
    return hashlib.sha256(f"demo-regions:{set_hash(gt)}".encode()).hexdigest()


def code_version() -> str:
    """The code that trained a line: this package's version."""
    return f"gir-bench {gir_core.__version__}"


@dataclass(frozen=True)
class Target:
    """What a line must have been measured with to count for the version about to be frozen."""

    gt_hash: str
    degradation_version: str
    seed: int
    metric_convention: str


def target(*, session: Session, convention: MetricConvention) -> Target:
    """The target of the current pool: newest GT set, today's degradation code and seed, and
    the convention the operator freezes with.

    Raises:
        NotFound: there is no GT set.
    """
    gt = current_gt_set(session=session)
    seed = get_settings().hidden_seed
    return Target(set_hash(gt), DEGRADATION_VERSION, seed, convention.text)


def mismatch(record: LineRecord, goal: Target) -> str | None:
    """The first checked field in which ``record`` differs from ``goal``, as a sentence; None
    when all four agree."""
    if record.gt_hash != goal.gt_hash:
        return (
            f"gt_hash {_short(record.gt_hash)} is not the current GT set's "
            f"({_short(goal.gt_hash)}): the line was measured on other images"
        )
    if record.degradation_version != goal.degradation_version:
        return (
            f"degradation_version {record.degradation_version or '(empty)'} is not this code's "
            f"({goal.degradation_version}): the inputs were degraded by other code"
        )
    if record.seed != goal.seed:
        return "seed is not the benchmark seed (GIR_HIDDEN_SEED): the inputs were other draws"
    if record.metric_convention != goal.metric_convention:
        return (
            f"metric_convention {record.metric_convention or '(empty)'} is not the version's "
            f"({goal.metric_convention}): the line was measured another way"
        )
    return None


def _short(value: str | None) -> str:
    return f"{value[:12]}…" if value else "(empty)"


def foreign_mark(reason: str | None) -> str | None:
    """How a version whose lines were imported as foreign is marked beside its AR/ER."""
    return f"against foreign lines: {reason}" if reason else None


def current_records(
    *, session: Session, task_ids: Iterable[int]
) -> dict[tuple[int, str], LineRecord]:
    """The newest record of each (task id, kind) among ``task_ids``."""
    ids = list(task_ids)
    if not ids:
        return {}
    query = select(LineRecord).where(LineRecord.task_id.in_(ids)).order_by(LineRecord.id)
    return {(record.task_id, record.kind): record for record in session.scalars(query)}


def describe(record: LineRecord | None) -> str:
    """One line of provenance for an operator or a page (never the seed's value).

    Example: ``trained:demo · SRCNN (57,281 parameters), demo, 300 it. · GT 1a2b3c4d5e6f…
    · degradations v2 · rgb,crop=4,8bit · train set 9f8e… seed 0 · gir-bench 0.1.0 ·
    2026-12-04``.
    """
    if record is None:
        return "provenance unknown (recorded before provenance was kept)"
    parts = [record.source or "?"]
    if record.foreign_reason:
        parts.append(f"FOREIGN: {record.foreign_reason}")
    training = ", ".join(
        text
        for text in (
            record.network,
            record.profile,
            f"{record.iterations} it." if record.iterations is not None else None,
        )
        if text
    )
    parts += [
        training or "network ?",
        f"GT {_short(record.gt_hash)}",
        f"degradations v{record.degradation_version or '?'}",
        record.metric_convention or "convention ?",
        f"train set {_short(record.train_set_hash)} seed "
        f"{record.train_seed if record.train_seed is not None else '?'}",
        record.code_version or "code ?",
        _date(record.made_at),
    ]
    return " · ".join(parts)


def _date(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "made ?"
