"""Reference rows of the demo leaderboard: an identity model, and the acceptance and excellence
lines.

The identity model is a real submission: an ONNX file uploaded by the demo administrator through
the submission service, validated and scored by the worker like any other, flagged as a baseline.

The lines are not one model each but thirty (one network per task), so they cannot be submitted.
Each becomes a baseline row whose PSNR on a task *is* that task's line — the mean test PSNR its
network reached when the line was trained, on the same test images with the same seed as every
submission — so by definition the acceptance row passes no acceptance line and the excellence
row no excellence line, and the rows read as the paper's reference points. Training keeps only
the mean, so the rows carry one PSNR per task (their bootstrap interval is a point). SSIM is not
measured by training; it comes from running each exported ONNX network once on its own task's
inputs from the scoring cache (the same bytes submissions see), which also checks that the
network reproduces its line. The row's stored file is a JSON manifest naming the networks.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from typing import Literal

from onnx import TensorProto, helper
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.benchmarks import moderation
from app.benchmarks.models import BenchmarkVersion, VersionTask
from app.benchmarks.versions import version_sets
from app.demo.benchmark import Say, StepProgress
from app.storage import get_storage
from app.submissions import lifecycle
from app.submissions.models import Submission
from app.submissions.schemas import SubmissionCreate
from app.submissions.service import create_submission
from app.submissions.status import Status
from app.submissions.upload import ReceivedUpload
from gir_core.images import load_image, read_png_u8, to_float
from gir_core.runners import RunOptions, load_runner, restore
from gir_core.scoring import TaskResult
from gir_core.synthesis import synthesise
from gir_core.tasks import Task

LineKind = Literal["acceptance", "excellence"]
KINDS: tuple[LineKind, ...] = ("acceptance", "excellence")
IDENTITY_NAME = "Identity (returns its input)"
IDENTITY_TEXT = (
    "Reference row: an ONNX model whose output is its input, submitted by the demo administrator "
    "and scored by the worker like any submission. It scores the degraded inputs themselves, "
    "so a task it passes has a line below doing nothing."
)
_NETS = {"acceptance": "3-layer SRCNN", "excellence": "deep residual network"}
_BY_DEFINITION = {
    "acceptance": "its AR is 0 by definition, and its ER counts the tasks whose acceptance line "
    "lies above the excellence line (where the excellence network fell short)",
    "excellence": "its ER is 0 by definition, and its AR counts the tasks whose excellence line "
    "lies above the acceptance line",
}


def identity_model() -> bytes:
    """A one-node ONNX model (opset 17) that returns its input: the do-nothing reference."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input"], ["output"])], "identity", [x], [y]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return bytes(model.SerializeToString())


def ensure_identity(*, session: Session, owner: User) -> tuple[int, bool]:
    """Submit the identity model as a baseline; (submission id, whether it was new).

    An earlier identity submission is reused; a failed one is rescored (a cancelled one was
    someone's decision, and stays).
    """
    data = identity_model()
    digest = hashlib.sha256(data).hexdigest()
    found = session.scalar(
        select(Submission).where(Submission.owner_id == owner.id, Submission.sha256 == digest)
    )
    if found is not None:
        if found.status == Status.FAILED:
            moderation.rescore(session=session, submission_id=found.id)
        return found.id, False
    storage = get_storage()
    key = f"submissions/{owner.id}/demo-identity.onnx"
    writer = storage.writer(key)
    writer.write(data)
    writer.commit()
    created = create_submission(
        session=session,
        owner=owner,
        meta=SubmissionCreate(name=IDENTITY_NAME, description=IDENTITY_TEXT),
        upload=ReceivedUpload(key=key, format="onnx", size=writer.size, sha256=writer.sha256),
    )
    submission = session.get(Submission, created.id)
    assert submission is not None
    submission.is_baseline = True
    session.commit()
    return created.id, True


def line_row_name(kind: str, profile: str) -> str:
    """The leaderboard name of a line's reference row."""
    return f"{kind.capitalize()} line ({profile} profile)"


@dataclass(frozen=True)
class _Measured:
    """One line network run on its own task's test inputs."""

    psnr: tuple[float, ...]
    ssim: tuple[float, ...]
    seconds: float


def ensure_line_rows(
    *,
    session: Session,
    owner: User,
    version: BenchmarkVersion,
    profile: str,
    threads: int | None = None,
    say: Say | None = None,
    show: StepProgress | None = None,
) -> list[int]:
    """Add the missing line rows of ``version``; the ids of the rows added.

    A row that is no longer scored (an operator's ``submissions rescore --all`` queues it, and
    the worker then fails it: a manifest is not a model) is deleted and made again.
    """
    kinds = []
    for kind in KINDS:
        found = session.scalar(
            select(Submission).where(
                Submission.owner_id == owner.id, Submission.storage_key == _row_key(version, kind)
            )
        )
        if found is not None and found.status == Status.SCORED:
            continue
        if found is not None:
            session.execute(delete(Submission).where(Submission.id == found.id))
            session.commit()
        kinds.append(kind)
    if not kinds:
        return []
    tell = say or (lambda _text: None)
    if not _networks_stored(version):
        # Shipped lines come as values, without their networks: no SSIM or runtime to show.
        tell("reference rows: the lines were imported without their networks; no line rows")
        return []
    tell(f"reference rows: running the {' and '.join(kinds)} networks on their own tasks (SSIM)")
    measured = _measure(version, kinds, threads, show)
    added = [_insert_row(session, owner, version, kind, profile, measured[kind]) for kind in kinds]
    tell(f"reference rows: {' and '.join(kinds)} line rows added (submissions {added})")
    return added


def _networks_stored(version: BenchmarkVersion) -> bool:
    """Whether every line network of ``version`` is in storage (trained here, not imported)."""
    from app.benchmarks.lines import line_model_key

    storage = get_storage()
    return all(
        storage.exists(line_model_key(vt.task.key, kind)) for vt in version.tasks for kind in KINDS
    )


def _row_key(version: BenchmarkVersion, kind: LineKind) -> str:
    """Storage key of a line row's manifest: one row per version and line."""
    return f"reference/version-{version.id}/{kind}-line.json"


def _frozen(version: BenchmarkVersion) -> list[VersionTask]:
    return sorted(version.tasks, key=lambda vt: vt.position)


def _measure(
    version: BenchmarkVersion,
    kinds: list[LineKind],
    threads: int | None,
    show: StepProgress | None,
) -> dict[LineKind, dict[str, _Measured]]:
    """Run every line network of ``kinds`` on its own task's cached inputs."""
    from app.benchmarks.lines import line_model_key

    storage = get_storage()
    paths = [storage.local_path(image.storage_key) for image in version_sets(version)[0].images]
    gts = [load_image(path, max_side=version.max_side) for path in paths]
    frozen = [(vt.task.key, Task.parse(vt.task.spec)) for vt in _frozen(version)]
    made = synthesise(
        paths,
        [task for _, task in frozen],
        seed=version.seed,
        cache_dir=storage.synthesis_dir(),
        max_side=version.max_side,
        workers=threads,
    )
    inputs = {(record.image_index, record.task_id): record.path for record in made.records}
    options = RunOptions(device="cpu", threads=threads or os.cpu_count() or 1)
    convention = version.convention  # measured exactly as the lines and submissions are
    results: dict[LineKind, dict[str, _Measured]] = {kind: {} for kind in kinds}
    for done, (key, task) in enumerate(frozen, start=1):
        images = [to_float(read_png_u8(inputs[(i, task.id)])) for i in range(len(gts))]
        for kind in kinds:
            model = storage.read_bytes(line_model_key(key, kind))
            runner = load_runner(model, options, "onnx")
            started = time.perf_counter()
            outputs = [restore(runner, image, options) for image in images]
            seconds = time.perf_counter() - started
            measured = [convention.measure(out, gt) for out, gt in zip(outputs, gts, strict=True)]
            results[kind][key] = _Measured(
                psnr=tuple(value for value, _ in measured),
                ssim=tuple(value for _, value in measured),
                seconds=seconds,
            )
        if show is not None:
            show(f"  line networks on their own tasks: {done}/{len(frozen)}")
    return results


def _line(vt: VersionTask, kind: LineKind) -> float:
    return vt.acceptance_psnr if kind == "acceptance" else vt.excellence_psnr


def agreement(version: BenchmarkVersion, kind: LineKind, measured: dict[str, _Measured]) -> float:
    """Largest |mean PSNR of the ONNX re-run − recorded line| over the tasks, in dB."""
    gaps = []
    for vt in version.tasks:
        values = measured[vt.task.key].psnr
        gaps.append(abs(math.fsum(values) / len(values) - _line(vt, kind)))
    return max(gaps)


def _description(version: BenchmarkVersion, kind: LineKind, profile: str, gap: float) -> str:
    return (
        f"Reference row, not one model: on each task, that task's own {kind}-line network (a "
        f"{_NETS[kind]} trained on that task alone, {profile} profile). Its PSNR on each task is "
        f"the {kind} line as measured when the line was trained (same test images, same seed), "
        f"so {_BY_DEFINITION[kind]}. Training keeps only task means, so the interval is a point. "
        f"SSIM and runtime come from running the exported ONNX networks on their own tasks' "
        f"inputs, whose PSNR matched the lines within {gap:.1e} dB."
    )


def _manifest(version: BenchmarkVersion, kind: LineKind, profile: str) -> bytes:
    from app.benchmarks.lines import line_model_key

    storage = get_storage()
    models = {}
    for vt in _frozen(version):
        key = line_model_key(vt.task.key, kind)
        digest = storage.stored_sha256(key)
        models[vt.task.key] = {"storage_key": key, "sha256": digest}
    body = {"version": version.name, "line": kind, "profile": profile, "networks": models}
    return json.dumps(body, indent=1, sort_keys=True).encode()


def _insert_row(
    session: Session,
    owner: User,
    version: BenchmarkVersion,
    kind: LineKind,
    profile: str,
    measured: dict[str, _Measured],
) -> int:
    """The scored baseline submission of one line, made as a worker makes one: created queued
    (already validated), claimed, its per-task results stored, then finished by
    :func:`app.submissions.lifecycle.finish_scoring`, which writes the summary from the stored
    rows exactly as for a submission. Each task's one "image" is its line: the PSNR the line's
    network reached when trained (see the module's docstring)."""
    storage, key = get_storage(), _row_key(version, kind)
    writer = storage.writer(key)
    writer.write(_manifest(version, kind, profile))
    writer.commit()
    gts = version_sets(version)[0].images
    megapixels = len(version.tasks) * sum(image.width * image.height for image in gts) / 1e6
    submission = Submission(
        owner_id=owner.id,
        name=line_row_name(kind, profile),
        description=_description(version, kind, profile, agreement(version, kind, measured)),
        format="onnx",
        sha256=writer.sha256,
        size_bytes=writer.size,
        storage_key=key,
        is_baseline=True,
        benchmark_version_id=version.id,
        progress_total=len(version.tasks),
        seconds_per_mp=sum(m.seconds for m in measured.values()) / megapixels,
    )
    session.add(submission)
    session.commit()
    claimed = lifecycle.claim_scoring(session=session, submission_id=submission.id, host="")
    if claimed is None:
        raise RuntimeError(f"reference row {submission.id} could not be claimed")
    frozen = _frozen(version)
    for done, vt in enumerate(frozen, start=1):
        result = TaskResult(
            key=vt.task.key,
            kind=vt.kind,
            order=vt.task.order,
            psnr=(_line(vt, kind),),
            ssim=measured[vt.task.key].ssim,
            seconds=measured[vt.task.key].seconds,
        )
        progress = (done, len(frozen), "")
        lifecycle.store_result(
            session=session,
            submission_id=submission.id,
            target_id=vt.id,
            result=result,
            progress=progress,
        )
    finished = lifecycle.finish_scoring(
        session=session,
        submission_id=submission.id,
        version_id=version.id,
        lines=[vt.task_line() for vt in frozen],
        task_ids={vt.task.key: vt.id for vt in frozen},
    )
    if not finished:  # someone cancelled it meanwhile: the next bootstrap makes it again
        raise RuntimeError(f"reference row {submission.id} stopped before it was scored")
    return submission.id
