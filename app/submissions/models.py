"""Submissions, their per-task and real-world results, and the summary the leaderboard reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Base, UTCDateTime, utcnow
from app.submissions.status import Status, StatusColumn


class Submission(Base):
    """An uploaded model and its way through validation and scoring."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("owner_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    paper_url: Mapped[str] = mapped_column(String(500), default="")
    code_url: Mapped[str] = mapped_column(String(500), default="")
    format: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(300))
    size_multiple: Mapped[int] = mapped_column(Integer, default=1)
    tile_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    visibility: Mapped[str] = mapped_column(String(8), default="public")
    is_baseline: Mapped[bool] = mapped_column(Boolean, default=False)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Changed by app.submissions.lifecycle only.
    status: Mapped[Status] = mapped_column(StatusColumn, default=Status.QUEUED, index=True)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    current_task: Mapped[str] = mapped_column(String(16), default="")
    error_code: Mapped[str] = mapped_column(String(32), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Task results stored when the latest attempt started: an attempt that stored more was
    # interrupted by the service, not by its model, and is not charged (lifecycle.charged).
    attempt_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parameters: Mapped[int | None] = mapped_column(Integer, nullable=True)
    seconds_per_mp: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker_host: Mapped[str] = mapped_column(String(120), default="")
    log_key: Mapped[str] = mapped_column(String(300), default="")
    benchmark_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("benchmark_versions.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    owner: Mapped[User] = relationship()
    summary: Mapped[Summary | None] = relationship(back_populates="submission", uselist=False)


class TaskResultRow(Base):
    """Per-task result: mean and per-image PSNR/SSIM, runtime. One row per (submission, task)."""

    __tablename__ = "task_results"
    __table_args__ = (UniqueConstraint("submission_id", "version_task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    version_task_id: Mapped[int] = mapped_column(ForeignKey("version_tasks.id"))
    mean_psnr: Mapped[float] = mapped_column(Float)
    mean_ssim: Mapped[float] = mapped_column(Float)
    psnr: Mapped[list[float]] = mapped_column(JSON)
    ssim: Mapped[list[float]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)


class RealWorldResultRow(Base):
    """Mean and per-image NIQE of one submission on one real-world set."""

    __tablename__ = "realworld_results"
    __table_args__ = (UniqueConstraint("submission_id", "image_set_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    image_set_id: Mapped[int] = mapped_column(ForeignKey("image_sets.id"))
    mean_niqe: Mapped[float | None] = mapped_column(Float, nullable=True)
    niqe: Mapped[list[float | None]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)


class Summary(Base):
    """What the leaderboard shows: AR/ER with CIs, means, rep-vs-hidden split, bias."""

    __tablename__ = "summaries"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    benchmark_version_id: Mapped[int] = mapped_column(
        ForeignKey("benchmark_versions.id"), index=True
    )
    ar: Mapped[float] = mapped_column(Float, index=True)
    er: Mapped[float] = mapped_column(Float)
    mean_psnr: Mapped[float] = mapped_column(Float)
    mean_ssim: Mapped[float] = mapped_column(Float)
    ar_low: Mapped[float] = mapped_column(Float)
    ar_high: Mapped[float] = mapped_column(Float)
    er_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    er_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    psnr_low: Mapped[float] = mapped_column(Float)
    psnr_high: Mapped[float] = mapped_column(Float)
    ar_representative: Mapped[float | None] = mapped_column(Float, nullable=True)
    ar_hidden: Mapped[float | None] = mapped_column(Float, nullable=True)
    psnr_representative: Mapped[float | None] = mapped_column(Float, nullable=True)
    psnr_hidden: Mapped[float | None] = mapped_column(Float, nullable=True)
    mean_niqe: Mapped[float | None] = mapped_column(Float, nullable=True)
    bias: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="summary")
