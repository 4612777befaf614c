"""Benchmark versions, their frozen tasks with lines, and the image sets they score on.

Tasks and image sets are first added to a pool; ``versions freeze`` copies the current pool
(with line values) into an immutable :class:`BenchmarkVersion`, so every result row can cite
exactly what it was scored on (SPEC §2.3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from gir_core.convention import AUTHORS, MetricConvention
from gir_core.generality import TaskKind, TaskLine
from gir_core.tasks import Task


class ImageSet(Base):
    """A folder of images in storage: ground truth (``gt``), real-world (``real``) or line
    training images (``train``), stored as PNGs of the pixels :func:`gir_core.images.load_image`
    gave at import (``max_side`` records the downscale applied then, None for none)."""

    __tablename__ = "image_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(8))  # "gt" | "real"
    label: Mapped[str] = mapped_column(String(80), default="")  # e.g. "old photo"
    max_side: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    images: Mapped[list[Image]] = relationship(
        back_populates="image_set", order_by="Image.position", cascade="all, delete-orphan"
    )


class Image(Base):
    """One image file of a set; ``position`` is its image index in synthesis seeds."""

    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("image_set_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_set_id: Mapped[int] = mapped_column(ForeignKey("image_sets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)

    image_set: Mapped[ImageSet] = relationship(back_populates="images")


class TaskDef(Base):
    """A task in the pool: spec text (secret when hidden), kind, order and its lines."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(16), unique=True)  # public id, e.g. "12", "h07"
    spec: Mapped[str] = mapped_column(Text)
    task_hash: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))  # "representative" | "hidden"
    order: Mapped[int] = mapped_column(Integer)
    acceptance_psnr: Mapped[float | None] = mapped_column(Float, nullable=True)
    excellence_psnr: Mapped[float | None] = mapped_column(Float, nullable=True)
    line_source: Mapped[str] = mapped_column(String(120), default="")
    # PSNR of the degraded inputs themselves (what doing nothing scores), measured with the lines
    # or at freeze time: the line-quality rule needs it (gir_core.line_quality).
    input_psnr: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BenchmarkVersion(Base):
    """A frozen benchmark: tasks with lines, image sets, metric settings and the seed."""

    __tablename__ = "benchmark_versions"
    # At most one active version, enforced by the database (a partial unique index).
    __table_args__ = (
        Index(
            "uq_benchmark_versions_one_active",
            "is_active",
            unique=True,
            postgresql_where=text("is_active"),
            sqlite_where=text("is_active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    seed: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    max_side: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metric_settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Ground truth anyone can download (the demo's package photos): scores show that the service
    # works, not how good a model is; the leaderboard says so.
    gt_public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # gir_core.convention text; versions frozen before it was recorded hold "rgb,crop=0,8bit".
    metric_convention: Mapped[str] = mapped_column(String(40), default=AUTHORS.text)
    # Real-world inputs are downscaled to this side before the model (None: full size).
    real_world_max_side: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Set when some lines were imported with ``--foreign REASON``: AR/ER are "against foreign
    # lines: REASON" (the reasons of all such lines, joined).
    foreign_lines: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    tasks: Mapped[list[VersionTask]] = relationship(
        back_populates="version", order_by="VersionTask.position", cascade="all, delete-orphan"
    )
    image_sets: Mapped[list[VersionImageSet]] = relationship(
        back_populates="version", cascade="all, delete-orphan"
    )

    @property
    def convention(self) -> MetricConvention:
        """The metric convention every score and line of this version is measured with."""
        return MetricConvention.parse(self.metric_convention)


class VersionTask(Base):
    """A task as frozen into a version, with the line values at freeze time."""

    __tablename__ = "version_tasks"
    __table_args__ = (UniqueConstraint("version_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("benchmark_versions.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    position: Mapped[int] = mapped_column(Integer)
    acceptance_psnr: Mapped[float] = mapped_column(Float)
    excellence_psnr: Mapped[float] = mapped_column(Float)
    input_psnr: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The lines' provenance as frozen (None for versions frozen before provenance was kept).
    acceptance_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_records.id"), nullable=True
    )
    excellence_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_records.id"), nullable=True
    )

    version: Mapped[BenchmarkVersion] = relationship(back_populates="tasks")
    task: Mapped[TaskDef] = relationship()
    acceptance_record: Mapped[LineRecord | None] = relationship(foreign_keys=[acceptance_record_id])
    excellence_record: Mapped[LineRecord | None] = relationship(foreign_keys=[excellence_record_id])

    @property
    def kind(self) -> TaskKind:
        """The task's kind as scoring and the summary's split know it."""
        return "hidden" if self.task.kind == "hidden" else "representative"

    def task_line(self, parsed: Task | None = None) -> TaskLine:
        """The task's lines as :mod:`gir_core.generality` scores them: its key, both lines, its
        kind and its degradations' names. The one place a frozen task becomes a line, for the
        worker's summary and the demo's reference rows alike."""
        names = (parsed or Task.parse(self.task.spec)).names  # ``parsed``: the caller's parse
        return TaskLine(self.task.key, self.acceptance_psnr, self.excellence_psnr, self.kind, names)


class LineRecord(Base):
    """One line as measured or imported, with its provenance (#10 §3): append-only, the newest
    record of a (task, kind) is the pool's current line; versions point at the ones they froze.

    A line is only meaningful against models scored on the same inputs the same way: the GT set
    hash, degradation code version, benchmark seed and metric convention must match the version
    it is frozen into, unless it was imported with ``--foreign REASON`` (``foreign_reason``).
    Fields are None where an imported file did not say (only possible for foreign lines).
    """

    __tablename__ = "line_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "acceptance" | "excellence"
    psnr: Mapped[float] = mapped_column(Float)
    gt_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    degradation_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metric_convention: Mapped[str | None] = mapped_column(String(40), nullable=True)
    network: Mapped[str | None] = mapped_column(String(120), nullable=True)
    profile: Mapped[str | None] = mapped_column(String(40), nullable=True)
    iterations: Mapped[int | None] = mapped_column(Integer, nullable=True)
    train_set_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    train_seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    made_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(120), default="")
    foreign_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VersionImageSet(Base):
    """An image set used by a version (GT sets are scored full-reference, real ones by NIQE)."""

    __tablename__ = "version_image_sets"
    __table_args__ = (UniqueConstraint("version_id", "image_set_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("benchmark_versions.id", ondelete="CASCADE"))
    image_set_id: Mapped[int] = mapped_column(ForeignKey("image_sets.id"))

    version: Mapped[BenchmarkVersion] = relationship(back_populates="image_sets")
    image_set: Mapped[ImageSet] = relationship()
