"""The demo benchmark, one idempotent step at a time: each step first looks for what an earlier
run left (account, image sets, tasks, lines, version) and only makes what is missing.

The pool is small so that lines for every task train on two CPU cores in minutes: Table C.1's
ten single degradations (keys 1-10), ten of its mixtures (:mod:`app.demo.pool`, keys = their Table
C.1 numbers) and the stratified hidden set of ``GIR_HIDDEN_SEED`` with two tasks per order.
Everything goes through the benchmark services the operator CLI uses; only the representative
rows are written here, because the service adds Table C.1 as all fifty tasks or none.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.auth import service as auth_service
from app.auth.models import User
from app.benchmarks import images as image_service
from app.benchmarks import service as task_service
from app.benchmarks import versions
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef
from app.errors import Conflict, NotFound
from app.migrate import upgrade
from app.settings import get_settings
from gir_core.demo import write_demo_images
from gir_core.errors import ImageError
from gir_core.images import centre_crop, encode_png, load_image_u8, to_uint8, write_bytes_atomic
from gir_core.tasks import representative_tasks

Say = Callable[[str], None]
"""Prints one progress line."""
StepProgress = Callable[[str], None]
"""Shows transient progress (overwritten in place on a terminal)."""

GT_SET = "demo"
TRAIN_SET = "demo-train"


@dataclass(frozen=True)
class RealPhoto:
    """A package-shipped photo with a real (not synthesised) degradation, for NIQE."""

    set_name: str
    relative_path: str
    kind: str
    crop: int | None


REAL_PHOTOS: tuple[RealPhoto, ...] = (
    RealPhoto(
        "real-camera-shake",
        "data/clock_motion.png",
        "camera-shake motion blur (greyscale photo)",
        None,
    ),
    RealPhoto(
        "real-hubble-jpeg", "data/hubble_deep_field.jpg", "JPEG-compressed telescope photo", 512
    ),
)
"""scikit-image's ``clock_motion.png`` (a wall clock photographed while moving the camera,
public domain, Stéfan van der Walt) and ``hubble_deep_field.jpg`` (NASA's Hubble eXtreme Deep
Field as a JPEG with visible compression blocks, public domain), centre-cropped to 512 px so
NIQE stays quick; cropping, unlike downscaling, keeps the degradation as it is. Both are at
least 96 px a side, as NIQE needs."""


def prepare_database() -> None:
    """Migrate the configured database to the newest schema (SQLite: create its folder)."""
    settings = get_settings()
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    upgrade()


def ensure_admin(*, session: Session, email: str, credentials: Path) -> tuple[User, str | None]:
    """The demo administrator, created with a random password on the first run.

    The password is written once to ``credentials`` (mode 0600) and returned so it can be
    printed once; later runs return None for it and point at the file.
    """
    found = session.scalar(select(User).where(User.email == email))
    if found is not None:
        return found, None
    password = secrets.token_urlsafe(15)
    user = auth_service.create_user(
        session=session, email=email, name="demo admin", password=password, admin=True
    )
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.unlink(missing_ok=True)
    handle = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(
            f"GIR Bench demo administrator, created {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n"
            f"e-mail:   {email}\npassword: {password}\n"
        )
    return user, password


def _find_set(session: Session, name: str) -> ImageSet | None:
    try:
        return image_service.get_image_set(session=session, name=name)
    except NotFound:
        return None


def ensure_gt_set(*, session: Session, folder: Path, max_side: int, say: Say) -> ImageSet:
    """The demo ground truth: centre crops of the seven package-shipped photos."""
    found = _find_set(session, GT_SET)
    if found is not None:
        return found
    write_demo_images(folder, max_side=max_side)
    made = image_service.add_image_set(session=session, folder=folder, name=GT_SET, role="gt")
    say(f"ground truth: {len(made.images)} demo photos, {max_side} px centre crops")
    return made


def ensure_real_sets(*, session: Session, folder: Path, say: Say) -> list[ImageSet]:
    """One real-world set per photo of :data:`REAL_PHOTOS`, named by its degradation."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        say("no real-world set: scikit-image is not installed")
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    sets = []
    for photo in REAL_PHOTOS:
        found = _find_set(session, photo.set_name)
        if found is None:
            pixels = load_image_u8(package / photo.relative_path, convert_grey=True)
            if photo.crop is not None:
                pixels = centre_crop(pixels, photo.crop, photo.crop)
            target = folder / photo.set_name
            write_bytes_atomic(target / f"{Path(photo.relative_path).stem}.png", encode_png(pixels))
            found = image_service.add_image_set(
                session=session, folder=target, name=photo.set_name, role="real", label=photo.kind
            )
            height, width = pixels.shape[:2]
            say(f"real-world set {photo.set_name}: {photo.kind}, {width}×{height}")
        sets.append(found)
    return sets


def ensure_tasks(
    *, session: Session, numbers: tuple[int, ...], hidden_per_order: int, say: Say
) -> list[TaskDef]:
    """Table C.1 tasks ``numbers`` under their own numbers, and the stratified hidden set of
    ``GIR_HIDDEN_SEED`` with ``hidden_per_order`` tasks of each order 1..5.

    Raises:
        Conflict: the pool holds another task under one of those numbers.
    """
    table = representative_tasks()
    added = 0
    for number in numbers:
        task = table[number - 1]
        row = session.scalar(select(TaskDef).where(TaskDef.key == str(number)))
        if row is not None and row.task_hash != task.id:
            raise Conflict(f"pool task {number} is not Table C.1 task {number}; reset the demo")
        if row is None:
            session.add(
                TaskDef(
                    key=str(number),
                    spec=str(task),
                    task_hash=task.id,
                    kind=task_service.REPRESENTATIVE,
                    order=task.order,
                )
            )
            added += 1
    session.commit()
    drawn = task_service.sample_hidden(session=session, per_order=hidden_per_order)
    if added or drawn:
        say(f"task pool: {added} representative and {len(drawn)} hidden tasks added")
    return task_service.list_tasks(session=session)


def ensure_train_set(*, session: Session, gt: ImageSet, folder: Path, profile: str) -> ImageSet:
    """The line-training images: the demo photos outside their test crops, as a ``train`` set.

    These are :func:`~app.benchmarks.lines.demo_training_regions` minus the strips on which the
    offline depth proxy of haze and snow fails: on two very dark strips its colour cue is
    negative almost everywhere and :func:`~gir_core.degradations.depth.proxy_depth` raises
    "depth map must have a positive maximum", so training haze or snow tasks on the plain demo
    regions (``lines train`` without ``--train-set``) fails. Without those two strips every task
    trains.
    """
    found = _find_set(session, TRAIN_SET)
    if found is not None:
        return found
    from app.benchmarks.lines import demo_training_regions
    from gir_core.baselines.profiles import get_profile
    from gir_core.degradations.depth import proxy_depth

    patch_size = get_profile(profile).patch_size
    for index, region in enumerate(demo_training_regions(gt, patch_size)):
        try:
            proxy_depth(region)
        except ImageError:
            continue
        write_bytes_atomic(folder / f"region-{index:02d}.png", encode_png(to_uint8(region)))
    return image_service.add_image_set(session=session, folder=folder, name=TRAIN_SET, role="train")


def ensure_version(*, session: Session, name: str, say: Say) -> BenchmarkVersion:
    """The demo version, frozen from the pool and made active (unless another one is)."""
    try:
        version = versions.get_version(session=session, name=name)
    except NotFound:
        # The demo's ground truth ships in scikit-image/scikit-learn: declared public. Weak
        # lines (a smaller profile, or trained on a changed pool) are frozen with a warning
        # and counted on the board rather than leaving the demo without a version.
        versions.freeze_version(
            session=session,
            name=name,
            activate=True,
            public_gt=True,
            allow_weak_lines=True,
            warn=say,
        )
        counts = versions.version_counts(versions.get_version(session=session, name=name))
        say(
            f"froze and activated benchmark version {name}: {counts.tasks['representative']} "
            f"representative + {counts.tasks['hidden']} hidden tasks, {counts.images['gt']} GT "
            f"and {counts.images['real']} real-world images"
        )
        return versions.get_version(session=session, name=name)
    if versions.active_version(session=session) is None:
        versions.activate_version(session=session, name=name)
        say(f"activated benchmark version {name}")
    return version


def describe(task: TaskDef) -> str:
    """What a task is, for the terminal: a hidden task by its order only, never by its spec."""
    return f"hidden, k={task.order}" if task.kind == task_service.HIDDEN else task.spec


def _steps(show: StepProgress, label: str) -> Callable[[str, int, int], None]:
    """Training progress of one task as a transient line."""
    return lambda kind, done, total: show(f"  {label}: {kind} network, step {done}/{total}")


def ensure_lines(
    *,
    session: Session,
    profile: str,
    threads: int | None,
    say: Say,
    show: StepProgress,
) -> int:
    """Train the acceptance and excellence lines of every pool task that has none; how many.

    With the ``demo`` profile the shipped lines (:mod:`app.demo.shipped`) of every task whose
    provenance matches this pool exactly (GT and training pixels, degradation version, seed,
    convention, network, profile, iterations) are imported instead; only the rest is trained.

    Each task's two networks are trained on :data:`TRAIN_SET` and measured on the GT set with
    the benchmark seed by :func:`~app.benchmarks.lines.train_lines` (their ONNX files stay in
    storage for the reference rows). One line per task is printed as it finishes, with an
    estimate of the time left.
    """
    todo = [t for t in task_service.list_tasks(session=session) if t.excellence_psnr is None]
    if not todo:
        return 0
    from app.benchmarks.lines import train_lines
    from app.demo.shipped import SHIPPED, import_shipped

    if profile == "demo":
        imported, why_not = import_shipped(session, profile, TRAIN_SET)
        if imported:
            say(f"lines: {imported} tasks' shipped lines imported ({SHIPPED.name}, provenance "
                "matches)")  # fmt: skip
        if not why_not:
            return 0
        say(f"lines: not shipped for this pool ({why_not}); training those")
        todo = [t for t in todo if t.excellence_psnr is None]

    say(f"training lines ({profile} profile) for {len(todo)} tasks: 2 networks each")
    started = datetime.now(UTC)
    for done, task in enumerate(todo, start=1):
        label = f"[{done:>2}/{len(todo)}] task {task.key}"
        lines = train_lines(
            session=session,
            task_key=task.key,
            profile=profile,
            train_set=TRAIN_SET,
            num_threads=threads,
            progress=_steps(show, label),
        )
        spent = (datetime.now(UTC) - started).total_seconds()
        left = spent / done * (len(todo) - done)
        say(
            f"  {label}: acceptance {lines.acceptance_psnr:5.2f} dB, excellence "
            f"{lines.excellence_psnr:5.2f} dB (input {lines.input_psnr:5.2f} dB)  "
            f"~{left:.0f} s left  ({describe(task)})"
        )
    return len(todo)
