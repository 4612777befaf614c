"""Public views of tasks and benchmark versions.

Hidden task specs never reach these models: :meth:`TaskRead.of` drops the spec of a hidden task,
and a version's seed (the hidden seed) is not a field at all. GT images are cited by a digest of
their hashes, not listed file by file: the digest identifies the set for a paper, while file names
and per-file hashes would let anyone confirm which public images are the test set.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from app.benchmarks.models import BenchmarkVersion, ImageSet, VersionTask
from app.benchmarks.provenance import foreign_mark
from app.benchmarks.versions import version_counts, version_sets
from gir_core.line_quality import line_problems


class TaskRead(BaseModel):
    """A task of a benchmark version as anyone may see it."""

    key: str = Field(description="Public id: '1'..'50' representative, 'h01'.. hidden.")
    kind: Literal["representative", "hidden"]
    order: int = Field(description="Number of degradation steps k.")
    spec: str | None = Field(description="Canonical task text; null for hidden tasks.")
    acceptance_psnr: float = Field(description="Acceptance line, mean PSNR (dB).")
    excellence_psnr: float = Field(description="Excellence line, mean PSNR (dB).")
    input_psnr: float | None = Field(
        None,
        description="PSNR of the degraded inputs themselves (doing nothing), same convention; "
        "null for hidden tasks and for lines frozen without it.",
    )
    line_marks: list[str] = Field(
        default_factory=list,
        description="Line-quality problems: 'below the input', 'excellence not above acceptance'.",
    )

    @classmethod
    def of(cls, row: VersionTask) -> TaskRead:
        """The public view of a frozen task; the spec only for representative tasks."""
        task = row.task
        kind: Literal["representative", "hidden"] = (
            "representative" if task.kind == "representative" else "hidden"
        )
        return cls(
            key=task.key,
            kind=kind,
            order=task.order,
            spec=task.spec if kind == "representative" else None,
            acceptance_psnr=row.acceptance_psnr,
            excellence_psnr=row.excellence_psnr,
            input_psnr=row.input_psnr if kind == "representative" else None,
            line_marks=list(
                line_problems(row.input_psnr, row.acceptance_psnr, row.excellence_psnr)
            ),
        )


class TaskPage(BaseModel):
    """The tasks of one version (the active one unless asked for another)."""

    version: str | None = Field(description="Version name; null when none is active yet.")
    items: list[TaskRead]


class ImageSetRead(BaseModel):
    """An image set a version scores on."""

    name: str
    role: Literal["gt", "real"]
    kind: str = Field(description="Real-world kind, e.g. 'old photo'; empty for GT.")
    images: int
    digest: str = Field(description="SHA-256 over the images' SHA-256s in order.")

    @classmethod
    def of(cls, image_set: ImageSet) -> ImageSetRead:
        """Count and digest of a set (see the module docstring for why not the files)."""
        digest = hashlib.sha256("\n".join(i.sha256 for i in image_set.images).encode())
        role: Literal["gt", "real"] = "gt" if image_set.role == "gt" else "real"
        return cls(
            name=image_set.name,
            role=role,
            kind=image_set.label,
            images=len(image_set.images),
            digest=digest.hexdigest(),
        )


class VersionRead(BaseModel):
    """A benchmark version in lists."""

    name: str
    active: bool
    created_at: datetime
    tasks: dict[str, int] = Field(description="Task counts: representative, hidden.")
    images: dict[str, int] = Field(description="Image counts: gt, real.")

    @classmethod
    def of(cls, version: BenchmarkVersion) -> VersionRead:
        """Counts of a version."""
        counts = version_counts(version)
        return cls(
            name=version.name,
            active=version.is_active,
            created_at=version.created_at,
            tasks=counts.tasks,
            images=counts.images,
        )


class MeasurementRead(BaseModel):
    """How a benchmark version measures (#10): said wherever its numbers are shown."""

    metric_convention: str = Field(description="e.g. rgb,crop=4,8bit (gir_core.convention).")
    metric_convention_text: str = Field(description="e.g. PSNR: RGB, 8-bit, 4-px border cropped.")
    foreign_lines: str | None = Field(
        description="Set when AR/ER are against imported foreign lines, with the reason."
    )
    real_world_max_side: int | None = Field(
        description="Real-world inputs are downscaled to this side before the model (null: not)."
    )

    @classmethod
    def of(cls, version: BenchmarkVersion) -> MeasurementRead:
        """The version's convention, foreign-line mark and real-world input size."""
        return cls(
            metric_convention=version.convention.text,
            metric_convention_text=version.convention.describe(),
            foreign_lines=foreign_mark(version.foreign_lines),
            real_world_max_side=version.real_world_max_side,
        )


class VersionDetail(VersionRead):
    """One version with what it measures and on which image sets."""

    max_side: int | None = Field(description="GT images were downscaled to this side; or none.")
    measurement: MeasurementRead
    metric_settings: dict[str, Any]
    image_sets: list[ImageSetRead]

    @classmethod
    def of(cls, version: BenchmarkVersion) -> VersionDetail:
        """Counts, settings and sets of a version."""
        return cls(
            **VersionRead.of(version).model_dump(),
            max_side=version.max_side,
            measurement=MeasurementRead.of(version),
            metric_settings=version.metric_settings,
            image_sets=[ImageSetRead.of(s) for s in version_sets(version)],
        )
