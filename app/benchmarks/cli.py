"""`gir-admin images|tasks|lines|versions`: the benchmark side of the operator CLI.

Commands parse, open their own session, call a service and print; domain errors become one
sentence and exit code 2 in :mod:`app.admin_cli`'s command group, so nothing here catches them.
Hidden task specs are printed only by ``tasks list --show-hidden``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.benchmarks import images as image_service
from app.benchmarks import line_import, provenance, service, versions
from app.benchmarks import lines as line_service
from app.benchmarks.models import TaskDef
from app.benchmarks.quality import task_marks
from app.db import new_session
from app.errors import Invalid, NotFound
from gir_core.convention import AUTHORS, MetricConvention
from gir_core.errors import GirError
from gir_core.hidden import DEFAULT_PER_ORDER
from gir_core.images import list_images
from gir_core.line_quality import line_problems
from gir_core.tasks import DEGRADATION_VERSION

images_app = typer.Typer(help="Image sets: ground truth, real-world, line training.")
tasks_app = typer.Typer(help="The task pool: representative and hidden tasks.")
lines_app = typer.Typer(help="Acceptance and excellence lines of the pool's tasks.")
versions_app = typer.Typer(help="Benchmark versions: freeze the pool, activate one.")

MaxSide = Annotated[
    int | None, typer.Option("--max-side", min=4, help="Downscale images to this longest side.")
]


def _import_set(
    folder: Path, name: str, role: image_service.Role, label: str, max_side: int | None
) -> None:
    total = len(list_images(folder))
    with (
        new_session() as session,
        typer.progressbar(length=total, label=f"importing {name}") as bar,
    ):
        image_set = image_service.add_image_set(
            session=session,
            folder=folder,
            name=name,
            role=role,
            label=label,
            max_side=max_side,
            progress=lambda _name: bar.update(1),
        )
        sizes = {(i.width, i.height) for i in image_set.images}
        trained = sum(
            1 for t in service.list_tasks(session=session) if t.line_source.startswith("trained:")
        )
    shown = ", ".join(f"{w}×{h}" for w, h in sorted(sizes)[:3])
    typer.echo(f"added {role} set {name!r}: {len(image_set.images)} images ({shown})")
    if role == "gt" and trained:
        typer.echo(
            f"note: {trained} tasks have lines measured on the previous GT set; retrain them"
        )


@images_app.command("add-gt")
def add_gt(
    folder: Annotated[Path, typer.Argument(help="Folder of clean ground-truth images.")],
    name: Annotated[str, typer.Option("--name", help="Name of the new set.")],
    max_side: MaxSide = None,
) -> None:
    """Add a ground-truth set: the newest one is what lines are measured on and versions freeze."""
    _import_set(folder, name, "gt", "", max_side)


@images_app.command("add-real")
def add_real(
    folder: Annotated[Path, typer.Argument(help="Folder of real degraded images (no GT).")],
    name: Annotated[str, typer.Option("--name", help="Name of the new set.")],
    kind: Annotated[str, typer.Option("--kind", help="What they are, e.g. 'old photo'.")],
    max_side: MaxSide = None,
) -> None:
    """Add a real-world set, scored without reference (NIQE); greyscale files are accepted."""
    _import_set(folder, name, "real", kind, max_side)


@images_app.command("add-train")
def add_train(
    folder: Annotated[Path, typer.Argument(help="Folder of clean training images.")],
    name: Annotated[str, typer.Option("--name", help="Name of the new set.")],
    max_side: MaxSide = None,
) -> None:
    """Add line-training images (must be disjoint from the GT test images)."""
    _import_set(folder, name, "train", "", max_side)


@images_app.command("list")
def list_sets() -> None:
    """List the image sets."""
    with new_session() as session:
        for image_set in image_service.list_image_sets(session=session):
            label = f" ({image_set.label})" if image_set.label else ""
            typer.echo(
                f"{image_set.name:<24} {image_set.role:<6} {len(image_set.images):>5}{label}"
            )


def _describe(task: TaskDef, show_hidden: bool) -> str:
    spec = task.spec if task.kind != "hidden" or show_hidden else "(hidden)"
    return f"{task.key:>5}  {task.kind:<14} k={task.order}  {spec}"


@tasks_app.command("add")
def add_task(
    text: Annotated[str, typer.Argument(help="Task text, e.g. 'haze + noise(sigma=20)'.")],
    hidden: Annotated[bool, typer.Option("--hidden", help="Add as a hidden task.")] = False,
) -> None:
    """Add one task to the pool (the next number, or the next hNN with --hidden)."""
    with new_session() as session:
        task = service.add_task(session=session, text=text, hidden=hidden)
        typer.echo(f"added task {task.key} ({task.kind}, k={task.order})")


@tasks_app.command("add-representative")
def add_representative() -> None:
    """Add Table C.1's 50 representative tasks as keys 1..50 (idempotent)."""
    with new_session() as session:
        added = service.add_representative(session=session)
    typer.echo(f"added {len(added)} representative tasks ({50 - len(added)} were present)")


@tasks_app.command("sample-hidden")
def sample_hidden(
    per_order: Annotated[
        int, typer.Option("--per-order", min=1, help="Hidden tasks per order k = 1..5.")
    ] = DEFAULT_PER_ORDER,
) -> None:
    """Add the stratified hidden set drawn from GIR_HIDDEN_SEED (per-order tasks of each order
    1..5, as `gir tasks --hidden` lists it); their specs are not printed."""
    with new_session() as session:
        added = service.sample_hidden(session=session, per_order=per_order)
        keys = [task.key for task in added]
    listed = ", ".join(keys) if keys else "none (the pool holds them all already)"
    typer.echo(f"added {len(keys)} hidden tasks: {listed}")


@tasks_app.command("select")
def select(
    order: Annotated[int, typer.Option("--order", help="Steps per task, 1..5.")],
    n: Annotated[int, typer.Option("--n", help="How many tasks to select.")],
    candidates: Annotated[int, typer.Option("--candidates", help="Candidates to cluster.")],
    seed: Annotated[int, typer.Option(help="Sampling and degradation seed.")] = 0,
    max_side: Annotated[
        int, typer.Option("--max-side", min=16, help="Downscale GT images for clustering.")
    ] = 256,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, do not add.")] = False,
) -> None:
    """Select representative tasks by spectral clustering on the GT images (appendix A.2)."""
    typer.echo(f"clustering {candidates} candidate tasks of order {order} …")
    with new_session() as session:
        picked = service.select_tasks(
            session=session,
            order=order,
            n=n,
            candidates=candidates,
            seed=seed,
            max_side=max_side,
            add=not dry_run,
        )
        keys = {row.task_hash: row.key for row in [*picked.added, *picked.already]}
        for task, size in zip(picked.result.tasks, picked.result.cluster_sizes, strict=True):
            typer.echo(f"{keys[task.id]:>5}  cluster of {size:>3}  {task}")
    verb = "would add" if dry_run else "added"
    typer.echo(f"{verb} {len(picked.added)}; {len(picked.already)} were in the pool already")


@tasks_app.command("list")
def list_tasks(
    show_hidden: Annotated[
        bool, typer.Option("--show-hidden", help="Print hidden specs too (keep them secret).")
    ] = False,
) -> None:
    """List the task pool; hidden specs only with --show-hidden."""
    with new_session() as session:
        for task in service.list_tasks(session=session):
            typer.echo(_describe(task, show_hidden))


def _format_line(value: float | None) -> str:
    return f"{value:6.2f}" if value is not None else "     -"


@lines_app.command("show")
def show_lines() -> None:
    """Show every task's lines, where they came from and their provenance (no specs)."""
    with new_session() as session:
        tasks = service.list_tasks(session=session)
        records = provenance.current_records(session=session, task_ids=[t.id for t in tasks])
        typer.echo(
            f"{'task':>5}  {'kind':<14} k  {'input':>6}  {'accept':>6}  {'excel':>6}  source"
        )
        for t in tasks:
            acc, exc = _format_line(t.acceptance_psnr), _format_line(t.excellence_psnr)
            given = _format_line(t.input_psnr)
            marks = "".join(f"  [{mark}]" for mark in task_marks(t))
            typer.echo(
                f"{t.key:>5}  {t.kind:<14} {t.order}  {given}  {acc}  {exc}  "
                f"{t.line_source or '-'}{marks}"
            )
            for kind in ("acceptance", "excellence"):
                record = records.get((t.id, kind))
                if record is not None:
                    typer.echo(f"{'':>7}{kind}: {provenance.describe(record)}")
        try:
            gt = image_service.current_gt_set(session=session)
        except NotFound:
            return
        typer.echo(
            f"lines must fit: gt_hash {provenance.set_hash(gt)} (GT set {gt.name!r}), "
            f"degradation_version {DEGRADATION_VERSION}, seed GIR_HIDDEN_SEED"
        )


ConventionOpt = Annotated[
    str,
    typer.Option("--convention", help="Metric convention of the version, e.g. rgb,crop=4,8bit."),
]


def _convention(text: str) -> MetricConvention:
    try:
        return MetricConvention.parse(text)
    except GirError as error:
        raise Invalid(str(error)) from None


@lines_app.command("import")
def import_lines(
    csv_path: Annotated[Path, typer.Argument(help="CSV: " + ",".join(line_import.HEADER))],
    foreign: Annotated[
        str | None,
        typer.Option("--foreign", help="Import lines that do not fit anyway, saying why."),
    ] = None,
    convention: ConventionOpt = AUTHORS.text,
) -> None:
    """Set lines from a CSV with their provenance (all or nothing); lines measured on other
    images, degradations, seed or convention are refused unless --foreign gives a reason."""
    with new_session() as session:
        updated = line_import.import_lines(
            session=session, path=csv_path, foreign=foreign, convention=_convention(convention)
        )
    mark = f" as foreign lines ({foreign})" if foreign else ""
    typer.echo(f"imported lines for {len(updated)} tasks{mark}")


@lines_app.command("train")
def train(
    task: Annotated[str | None, typer.Option("--task", help="Task key.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every task of the pool.")] = False,
    profile: Annotated[str, typer.Option(help="paper, demo or tiny.")] = "demo",
    train_set: Annotated[
        str | None, typer.Option("--train-set", help="Training image set (default: demo regions).")
    ] = None,
    missing_only: Annotated[
        bool, typer.Option("--missing-only", help="With --all: only tasks without lines.")
    ] = False,
    device: Annotated[str, typer.Option(help="Torch device.")] = "cpu",
    threads: Annotated[int | None, typer.Option(min=1, help="Torch CPU threads.")] = None,
    convention: ConventionOpt = AUTHORS.text,
) -> None:
    """Train and measure the acceptance and excellence lines (ONNX models kept in storage)."""
    if (task is None) == (not every):
        raise Invalid("give either --task KEY or --all")
    measured = _convention(convention)
    with new_session() as session:
        pool = service.list_tasks(session=session)
        if every:
            keys = [t.key for t in pool if not missing_only or t.acceptance_psnr is None]
        else:
            keys = [service.get_task(session=session, key=task or "").key]
    trained = line_service.train_many(
        keys,
        profile=profile,
        device=device,
        train_set=train_set,
        num_threads=threads,
        convention=measured,
    )
    with typer.progressbar(length=len(keys), label="training lines") as bar:
        for done in trained:
            bar.update(1)
            marks = line_problems(done.input_psnr, done.acceptance_psnr, done.excellence_psnr)
            typer.echo(
                f"  task {done.task_key}: acceptance {done.acceptance_psnr:.2f} dB, excellence "
                f"{done.excellence_psnr:.2f} dB (input {done.input_psnr:.2f} dB)"
                + "".join(f"  [{mark}]" for mark in marks)
            )


@versions_app.command("freeze")
def freeze(
    name: Annotated[str, typer.Argument(help="New version name, e.g. 'v1'.")],
    activate: Annotated[bool, typer.Option("--activate", help="Also activate it.")] = False,
    convention: ConventionOpt = AUTHORS.text,
    real_max_side: Annotated[
        int | None,
        typer.Option(
            "--real-max-side", help="Downscale real-world inputs to this side before the model."
        ),
    ] = None,
    allow_weak_lines: Annotated[
        bool,
        typer.Option(
            "--allow-weak-lines",
            help="Freeze even if some lines are below the input or too close together.",
        ),
    ] = False,
    public_gt: Annotated[
        bool,
        typer.Option(
            "--public-gt", help="Declare the ground truth public (a demo): the board says so."
        ),
    ] = False,
) -> None:
    """Freeze the pool (tasks with lines, newest GT set, real-world sets) into a version."""
    with new_session() as session:
        version = versions.freeze_version(
            session=session,
            name=name,
            activate=activate,
            convention=_convention(convention),
            real_world_max_side=real_max_side,
            allow_weak_lines=allow_weak_lines,
            public_gt=public_gt,
            refuse_public=True,
            warn=typer.echo,
        )
        counts = versions.version_counts(version)
        state = "active" if version.is_active else "inactive"
        measured = version.convention.describe()
        foreign = version.foreign_lines
    typer.echo(
        f"froze {name} ({state}): {counts.tasks['representative']} representative + "
        f"{counts.tasks['hidden']} hidden tasks, {counts.images['gt']} GT and "
        f"{counts.images['real']} real-world images; {measured}"
    )
    if foreign:
        typer.echo(f"AR/ER of {name} are against foreign lines: {foreign}")


@versions_app.command("activate")
def activate(name: Annotated[str, typer.Argument(help="Version name.")]) -> None:
    """Make NAME the one active version."""
    with new_session() as session:
        versions.activate_version(session=session, name=name)
    typer.echo(f"{name} is now the active version")


@versions_app.command("list")
def list_all() -> None:
    """List the versions."""
    with new_session() as session:
        for version in versions.list_versions(session=session):
            counts = versions.version_counts(version)
            mark = "*" if version.is_active else " "
            typer.echo(
                f"{mark} {version.name:<20} {version.created_at:%Y-%m-%d %H:%M}  "
                f"tasks {sum(counts.tasks.values()):>3}  GT images {counts.images['gt']:>4}  "
                f"{version.metric_convention}"
                + (f"  FOREIGN LINES: {version.foreign_lines}" if version.foreign_lines else "")
            )
