"""Request and response shapes of the submissions API (pydantic v2).

Hidden task specs have no field here at all except :attr:`TaskResultRead.spec`, which the
service fills only for representative tasks.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from app.benchmarks.schemas import MeasurementRead
from app.db import DB_INT_MAX
from app.submissions.published import MaybeRounded, Rounded
from app.submissions.status import Status as StatusEnum

Visibility = Literal["public", "private"]
# The enum, documented inline as the plain string enum the API has always published.
_STATUS_SCHEMA = {"enum": [status.value for status in StatusEnum], "title": "Status"}
Status = Annotated[StatusEnum, WithJsonSchema({**_STATUS_SCHEMA, "type": "string"})]
Format = Literal["onnx", "torchscript"]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ErrorDetail(BaseModel):
    """What went wrong, as a stable code and a sentence to act on."""

    code: str = Field(description="Stable machine-readable code, e.g. `quota_exceeded`.")
    message: str = Field(description="A sentence for the person who sent the request.")


class ErrorRead(BaseModel):
    """Every error response: ``{"detail": {"code", "message", ...}}`` (extra fields vary)."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": True})

    detail: ErrorDetail


class SubmissionCreate(BaseModel):
    """The metadata fields of an upload (multipart form fields beside ``file``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120, description="Model name shown publicly.")
    description: str = Field(default="", max_length=5000, description="Free text (escaped).")
    paper_url: str = Field(default="", max_length=500, description="http(s) URL or empty.")
    code_url: str = Field(default="", max_length=500, description="http(s) URL or empty.")
    size_multiple: int = Field(
        default=1, ge=1, le=256, description="Inputs are reflect-padded to a multiple of this."
    )
    tile_size: int | None = Field(
        default=None, ge=16, le=4096, description="Run tile by tile (fixed-size models); empty."
    )
    visibility: Visibility = Field(
        default="public", description="`private`: only you and admins see it; not ranked."
    )

    @field_validator("name", "description")
    @classmethod
    def _printable(cls, value: str, info: ValidationInfo) -> str:
        text = value.replace("\r\n", "\n") if info.field_name == "description" else value
        if _CONTROL.search(text) or (info.field_name == "name" and "\n" in text):
            raise ValueError("control characters are not allowed")
        return text

    @field_validator("paper_url", "code_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"\s", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("tile_size", mode="before")
    @classmethod
    def _empty_tile(cls, value: object) -> object:
        return None if value == "" else value


class SubmissionCreated(BaseModel):
    """The answer to an accepted upload (202): where to watch it."""

    id: int
    url: str = Field(description="The submission's API URL (also in the Location header).")
    status: Status


class OwnerRead(BaseModel):
    """Who submitted (public name only)."""

    id: int
    name: str


class ProgressRead(BaseModel):
    """Tasks scored so far, and the place in the queue while queued."""

    done: int
    total: int
    fraction: float = Field(description="done / total (0 before scoring starts).")
    queue_position: int | None = Field(
        description="Queued submissions ahead of this one (0: next); null unless queued."
    )
    current_task: str = Field(description="Public key of the task being scored, if any.")


class SummaryRead(BaseModel):
    """The generality summary of a scored submission (paper Eq. 5-6 and extras)."""

    model_config = ConfigDict(from_attributes=True)

    ar: float
    er: float
    ar_low: float
    ar_high: float
    er_low: float | None = Field(description="Bootstrap CI of ER (null before it was computed).")
    er_high: float | None
    # Values that mix hidden tasks in are published rounded (app.submissions.published).
    mean_psnr: Rounded
    psnr_low: Rounded
    psnr_high: Rounded
    mean_ssim: Rounded
    ar_representative: float | None
    ar_hidden: float | None
    psnr_representative: MaybeRounded
    psnr_hidden: MaybeRounded
    mean_niqe: float | None
    bias: dict[str, Any] = Field(
        description=(
            "Per basic degradation, over public tasks: single_score (s of its order-1 task), "
            "median_score, pass_rate (share above acceptance) and n_mixtures over the mixtures "
            "containing it, n_broken (tasks with broken lines, left out), and mean_all_tasks "
            "(the old mean of s over every task containing it: outlier-prone). Summaries made "
            "before this measure hold only n_tasks and mean_score (that old mean)."
        )
    )
    computed_at: datetime


class SubmissionRead(BaseModel):
    """One submission as the caller may see it (errors only for its owner and admins)."""

    id: int
    url: str
    name: str
    description: str
    paper_url: str
    code_url: str
    owner: OwnerRead
    format: Format
    sha256: str
    size_bytes: int
    size_multiple: int
    tile_size: int | None
    visibility: Visibility
    is_baseline: bool
    is_hidden: bool = Field(description="Taken off the public board by a moderator.")
    status: Status
    progress: ProgressRead
    error_code: str = Field(description="Why it failed (owner and admins only; else empty).")
    error_message: str = Field(description="A sentence on the failure (owner and admins only).")
    benchmark_version: str | None
    parameters: int | None
    seconds_per_mp: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: SummaryRead | None


class SubmissionPage(BaseModel):
    """A page of submissions, newest first."""

    items: list[SubmissionRead]
    total: int
    limit: int
    offset: int


class SubmissionFilters(BaseModel):
    """Query parameters of the list."""

    model_config = ConfigDict(extra="forbid")

    owner: Literal["me"] | None = Field(default=None, description="`me`: only yours.")
    status: Status | None = None
    format: Format | None = None
    baseline: bool | None = Field(default=None, description="Only (or no) baseline rows.")
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=DB_INT_MAX)


class TaskResultRead(BaseModel):
    """One task's result. Hidden tasks are named by key and order only (``spec`` is null), and
    their numbers are coarsened (see :mod:`app.submissions.published`)."""

    key: str
    kind: str
    order: int
    spec: str | None = Field(description="The task's text; null for hidden tasks.")
    mean_psnr: float | None = Field(
        description="Hidden tasks: to 2 decimals for the owner, null for everyone else."
    )
    mean_ssim: float | None = Field(
        description="Hidden tasks: to 2 decimals for the owner, null for everyone else."
    )
    psnr: list[float] = Field(description="Per image; empty for hidden tasks.")
    ssim: list[float] = Field(description="Per image; empty for hidden tasks.")
    seconds: float | None = Field(
        description="Inference time; null for hidden tasks (their total is `hidden_seconds`)."
    )
    acceptance_psnr: float
    excellence_psnr: float
    line_broken: bool = Field(
        description="The excellence line is not above the acceptance line (equal or reversed): "
        "the task has no score and no pass marks (gir_core.generality.task_mark)."
    )
    passed_acceptance: bool | None = Field(
        description="mean PSNR strictly above the acceptance line; null when `line_broken`."
    )
    passed_excellence: bool | None = Field(
        description="mean PSNR strictly above the excellence line; null when `line_broken`."
    )
    score: float | None = Field(
        description="(psnr − acc) / (exc − acc): 0 acc., 1 exc.; null when `line_broken`; hidden "
        "tasks: 2 decimals for the owner, null for everyone else."
    )
    band: str | None = Field(
        default=None,
        description="Hidden tasks seen by anyone but the owner: the band of `score` "
        "(below acceptance, acceptance to midway, midway to excellence, above excellence); "
        "null when `line_broken`.",
    )


class RealWorldResultRead(BaseModel):
    """NIQE (lower is better) on one real-world set."""

    set_name: str
    label: str
    mean_niqe: float | None
    niqe: list[float | None]
    seconds: float


class SubmissionResults(BaseModel):
    """Everything scored so far for one submission, in benchmark order."""

    submission_id: int
    status: Status
    benchmark_version: str | None
    measurement: MeasurementRead | None = None
    tasks: list[TaskResultRead]
    hidden_seconds: float | None = Field(
        default=None,
        description="Total inference time of the hidden tasks (2 significant figures); there is "
        "no per-task time for them.",
    )
    real_world: list[RealWorldResultRead]
    summary: SummaryRead | None


class DailyQuota(BaseModel):
    """Submissions in the last 24 hours (a rolling window)."""

    limit: int | None = Field(description="null: unlimited (administrators).")
    used: int
    remaining: int | None
    resets_at: datetime | None = Field(
        description="When the next slot frees (the oldest counted submission leaves the window)."
    )
    window: str = "rolling 24 hours"


class ActiveQuota(BaseModel):
    """Submissions queued, validating or running now."""

    limit: int | None
    used: int
    remaining: int | None


class QuotaRead(BaseModel):
    """What the caller may still submit; contract-check rejections do not count."""

    exempt: bool
    daily: DailyQuota
    active: ActiveQuota
