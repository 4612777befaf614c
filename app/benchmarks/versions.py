"""Benchmark versions: freeze the pool into an immutable version, activate one, read them.

A version cites everything a score depends on (SPEC §2.3): its tasks with the line values at
freeze time, the GT set (per-image SHA-256 in :class:`~app.benchmarks.models.Image`, checked
against storage when freezing), the real-world sets, the metric settings, the seed and the GT
size limit. The seed is ``GIR_HIDDEN_SEED``: it is the seed the lines were measured with, and
keeping it secret means nobody can regenerate the hidden degraded inputs even from a guessed
spec. It is therefore never part of the public API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.benchmarks import quality
from app.benchmarks.images import current_gt_set, list_image_sets, verify_set
from app.benchmarks.models import (
    BenchmarkVersion,
    ImageSet,
    LineRecord,
    TaskDef,
    VersionImageSet,
    VersionTask,
)
from app.benchmarks.provenance import current_records, mismatch, target
from app.benchmarks.service import list_tasks
from app.errors import Conflict, Invalid, NotFound
from app.settings import get_settings
from app.storage import Storage
from gir_core.convention import DEFAULT as DEFAULT_CONVENTION
from gir_core.convention import MetricConvention
from gir_core.images import LOADER_VERSION
from gir_core.line_quality import MIN_SPREAD_DB, weak_lines
from gir_core.tasks import DEGRADATION_VERSION

METRIC_SETTINGS: dict[str, str] = {
    "ssim": "Y, 11x11 gaussian 1.5, pyiqa convention, border crop of the metric convention",
    "psnr_y": "Y of YIQ, pyiqa psnry",
    "ssim_rgb": "per RGB channel, 11x11 gaussian 1.5, pyiqa ssimc",
    "niqe": "Y, official MATLAB pristine parameters, on the output at the size the model made",
    "lines": "AR/ER count tasks whose mean PSNR is strictly above the line",
}
"""What a version records about how it measures, besides its metric convention."""


def freeze_version(
    *,
    session: Session,
    name: str,
    activate: bool = False,
    storage: Storage | None = None,
    convention: MetricConvention = DEFAULT_CONVENTION,
    real_world_max_side: int | None = None,
    allow_weak_lines: bool = False,
    public_gt: bool = False,
    refuse_public: bool = False,
    warn: Callable[[str], None] | None = None,
) -> BenchmarkVersion:
    """Copy the pool — every task with its lines, the newest GT set, every real-world set —
    into a new version called ``name``, measured with ``convention`` (the authors' by default).

    Every line with provenance must fit the version (GT set, degradation code, seed and
    convention), unless it was imported as foreign: the version then records the reasons.
    ``real_world_max_side`` downscales real-world inputs before the model (None: full size).

    Lines are checked against the line-quality rule first (input PSNRs missing from imported
    lines are measured here); weak lines refuse the freeze unless ``allow_weak_lines``. A GT
    image equal to a package-shipped photo makes the version's ground truth public (``warn``
    is told); with ``refuse_public`` (the operator CLI) such a version can only be activated
    when declared public (``public_gt``, the demo).

    Raises:
        Conflict: a version with this name exists.
        Invalid: an empty pool, tasks without lines (named by key), a line that does not fit
            (task, kind and field named), weak lines, activating an undeclared public-GT
            version, a bad max side, or a GT file that is missing or changed in storage.
        NotFound: no GT set.
    """
    name = name.strip()
    if not name or len(name) > 80:
        raise Invalid("a version name needs 1 to 80 characters")
    if session.scalar(select(BenchmarkVersion.id).where(BenchmarkVersion.name == name)):
        raise Conflict(f"a benchmark version named {name!r} exists already")
    tasks = list_tasks(session=session)
    if not tasks:
        raise Invalid("the task pool is empty; add tasks before freezing a version")
    missing = [t.key for t in tasks if t.acceptance_psnr is None or t.excellence_psnr is None]
    if missing:
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        shown = ", ".join(missing[:20]) + more
        raise Invalid(f"tasks without lines: {shown}; train or import their lines first")
    if real_world_max_side is not None and real_world_max_side < 96:
        raise Invalid(
            f"the real-world max side must be at least 96 (NIQE's minimum), got "
            f"{real_world_max_side}"
        )
    gt = current_gt_set(session=session)
    sets = [gt, *list_image_sets(session=session, role="real")]
    for image_set in sets:
        verify_set(image_set, storage)
    records = current_records(session=session, task_ids=[task.id for task in tasks])
    foreign = _check_lines(session, tasks, records, convention)
    _check_quality(session, tasks, allow_weak_lines, convention, storage, warn)
    shipped = _check_public(
        gt, public_gt=public_gt, activate=activate and refuse_public, storage=storage, warn=warn
    )
    version = BenchmarkVersion(
        name=name,
        seed=get_settings().hidden_seed,
        max_side=gt.max_side,
        gt_public=public_gt or shipped,
        metric_settings=_settings(tasks),
        metric_convention=convention.text,
        real_world_max_side=real_world_max_side,
        foreign_lines=foreign,
        tasks=[
            VersionTask(
                task=task,
                position=position,
                acceptance_psnr=task.acceptance_psnr,
                excellence_psnr=task.excellence_psnr,
                input_psnr=task.input_psnr,
                acceptance_record=records.get((task.id, "acceptance")),
                excellence_record=records.get((task.id, "excellence")),
            )
            for position, task in enumerate(tasks)
        ],
        image_sets=[VersionImageSet(image_set=image_set) for image_set in sets],
    )
    session.add(version)
    session.flush()
    if activate:
        _activate(session, version)
    session.commit()
    return version


def _check_lines(
    session: Session,
    tasks: list[TaskDef],
    records: dict[tuple[int, str], LineRecord],
    convention: MetricConvention,
) -> str | None:
    """Refuse a line that does not fit; the joined reasons of foreign lines (None if none).

    Lines stored before provenance was kept have no record and pass, as they always did.
    """
    goal = target(session=session, convention=convention)
    reasons: set[str] = set()
    for task in tasks:
        for kind in ("acceptance", "excellence"):
            record = records.get((task.id, kind))
            if record is None:
                continue
            if record.foreign_reason:
                reasons.add(record.foreign_reason)
                continue
            problem = mismatch(record, goal)
            if problem is not None:
                raise Invalid(
                    f"the {kind} line of task {task.key} does not fit this version: {problem}; "
                    'retrain it, or import it with --foreign "reason"'
                )
    return "; ".join(sorted(reasons))[:2000] if reasons else None


def _check_quality(
    session: Session,
    tasks: list[TaskDef],
    allow_weak: bool,
    convention: MetricConvention,
    storage: Storage | None,
    warn: Callable[[str], None] | None,
) -> None:
    """Measure missing input PSNRs, then refuse (or, when allowed, report) weak lines."""
    missing = [t for t in tasks if t.input_psnr is None]
    quality.measure_inputs(session=session, tasks=missing, convention=convention, storage=storage)
    weak = weak_lines((t.key, t.input_psnr, t.acceptance_psnr, t.excellence_psnr) for t in tasks)
    if not weak:
        return
    shown = "; ".join(w.sentence() for w in weak[:10]) + (" …" if len(weak) > 10 else "")
    text = f"{len(weak)} of {len(tasks)} tasks have weak lines ({shown})"
    if not allow_weak:
        raise Invalid(
            f"{text}: a line must lie above the degraded input and the excellence line at least "
            f"{MIN_SPREAD_DB} dB above the acceptance line; retrain them, or freeze anyway with "
            "--allow-weak-lines (the leaderboard then says so)"
        )
    if warn is not None:
        warn(f"warning: {text}; frozen anyway (--allow-weak-lines)")


def _check_public(
    gt: ImageSet,
    *,
    public_gt: bool,
    activate: bool,
    storage: Storage | None,
    warn: Callable[[str], None] | None,
) -> bool:
    """Whether GT images are package-shipped photos; refuse activating that unless declared."""
    matches = quality.public_photo_matches(gt, storage)
    if not matches:
        return False
    shown = ", ".join(matches[:5]) + (" …" if len(matches) > 5 else "")
    if activate and not public_gt:
        raise Invalid(
            f"{len(matches)} ground-truth images are photos shipped in installed packages "
            f"({shown}): anyone can carry them in a model, so this version cannot be activated "
            "as a real benchmark; use other ground truth, or declare a demo with --public-gt"
        )
    if warn is not None:
        warn(
            f"warning: {len(matches)} ground-truth images are photos shipped in installed "
            f"packages ({shown}); the version is marked as having public ground truth"
        )
    return True


def _settings(tasks: list[TaskDef]) -> dict[str, object]:
    return {
        **METRIC_SETTINGS,
        "line_sources": sorted({task.line_source for task in tasks} - {""}),
        "loader_version": LOADER_VERSION,
        "degradation_version": DEGRADATION_VERSION,
    }


def activate_version(*, session: Session, name: str) -> BenchmarkVersion:
    """Make ``name`` the one active version (the leaderboard's and new submissions').

    Raises:
        NotFound: no such version.
    """
    version = get_version(session=session, name=name)
    _activate(session, version)
    session.commit()
    return version


def _activate(session: Session, version: BenchmarkVersion) -> None:
    # Two statements in this order: the partial unique index never sees two active rows.
    session.execute(
        update(BenchmarkVersion).where(BenchmarkVersion.is_active).values(is_active=False)
    )
    session.execute(
        update(BenchmarkVersion).where(BenchmarkVersion.id == version.id).values(is_active=True)
    )
    session.expire_all()


_LOAD_ALL = (
    selectinload(BenchmarkVersion.tasks).selectinload(VersionTask.task),
    selectinload(BenchmarkVersion.image_sets)
    .selectinload(VersionImageSet.image_set)
    .selectinload(ImageSet.images),
)
"""Load a version's tasks and images in a few queries instead of one per row."""


def get_version(*, session: Session, name: str) -> BenchmarkVersion:
    """The version called ``name``, with its tasks and image sets loaded.

    Raises:
        NotFound: naming it.
    """
    query = select(BenchmarkVersion).where(BenchmarkVersion.name == name).options(*_LOAD_ALL)
    version = session.scalar(query)
    if version is None:
        raise NotFound(f"there is no benchmark version named {name!r}")
    return version


def active_version(*, session: Session) -> BenchmarkVersion | None:
    """The active version (tasks and image sets loaded), or None before the first activation."""
    query = select(BenchmarkVersion).where(BenchmarkVersion.is_active).options(*_LOAD_ALL)
    return session.scalar(query)


def version_or_active(*, session: Session, name: str | None) -> BenchmarkVersion | None:
    """The named version, or the active one when ``name`` is None."""
    if name is None:
        return active_version(session=session)
    return get_version(session=session, name=name)


def list_versions(*, session: Session) -> list[BenchmarkVersion]:
    """Every version, newest first, with what its counts need loaded."""
    query = select(BenchmarkVersion).order_by(BenchmarkVersion.id.desc()).options(*_LOAD_ALL)
    return list(session.scalars(query))


def version_names(*, session: Session) -> list[tuple[str, bool]]:
    """(name, is_active) of every version, newest first: one light query for selectors."""
    query = select(BenchmarkVersion.name, BenchmarkVersion.is_active).order_by(
        BenchmarkVersion.id.desc()
    )
    return [(name, bool(active)) for name, active in session.execute(query)]


@dataclass(frozen=True)
class VersionCounts:
    """How many tasks of each kind and images of each role a version holds."""

    tasks: dict[str, int]
    images: dict[str, int]


def version_counts(version: BenchmarkVersion) -> VersionCounts:
    """Task counts by kind and image counts by set role (for lists and pages)."""
    tasks = Counter(vt.task.kind for vt in version.tasks)
    images: Counter[str] = Counter()
    for link in version.image_sets:
        images[link.image_set.role] += len(link.image_set.images)
    return VersionCounts(
        tasks={"representative": tasks["representative"], "hidden": tasks["hidden"]},
        images={"gt": images["gt"], "real": images["real"]},
    )


def version_sets(version: BenchmarkVersion) -> list[ImageSet]:
    """The version's image sets: the GT set first, then the real-world sets by name."""
    sets = [link.image_set for link in version.image_sets]
    return sorted(sets, key=lambda s: (s.role != "gt", s.name))
