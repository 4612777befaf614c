"""Shapes of the leaderboard API: the query (sort, filters, page) and one row per submission."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.db import DB_INT_MAX, PRINTABLE
from app.submissions.published import Rounded

SortKey = Literal[
    "rank",
    "id",
    "name",
    "owner",
    "format",
    "ar",
    "er",
    "ar_low",
    "ar_high",
    "er_low",
    "er_high",
    "mean_psnr",
    "psnr_low",
    "psnr_high",
    "mean_ssim",
    "ar_representative",
    "ar_hidden",
    "gap",
    "mean_niqe",
    "parameters",
    "seconds_per_mp",
    "created_at",
]


class LeaderboardFilters(BaseModel):
    """Which board (benchmark version), and how it is sorted and filtered (the CSV export)."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(default=None, description="Benchmark version name (active).")
    sort: SortKey = Field(default="rank", description="Column to sort by (nulls always last).")
    order: Literal["asc", "desc"] | None = Field(
        default=None, description="Default: ascending for rank, name, owner; else descending."
    )
    format: Literal["onnx", "torchscript"] | None = None
    baselines: bool = Field(default=True, description="Include the reference (baseline) rows.")
    q: str | None = Field(
        default=None,
        max_length=100,
        pattern=PRINTABLE,
        description="Case-insensitive text in name or owner.",
    )
    id: int | None = Field(
        default=None,
        ge=1,
        le=DB_INT_MAX,
        description="Only this submission's row, with its rank on the whole board (empty page "
        "if it is not on the board: private, hidden, unscored or another version).",
    )


class LeaderboardQuery(LeaderboardFilters):
    """The JSON board adds a page."""

    limit: int = Field(default=50, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=DB_INT_MAX)


class LeaderboardRow(BaseModel):
    """One public, scored, unmoderated submission and its summary on the version."""

    rank: int = Field(description="Place by AR, then ER, then mean PSNR (ties share a rank).")
    id: int
    url: str
    name: str
    owner: str
    format: str
    paper_url: str
    code_url: str
    is_baseline: bool
    ar: float
    er: float
    ar_low: float = Field(description="Bootstrap CI of AR over test images (low end).")
    ar_high: float
    er_low: float | None = Field(description="Bootstrap CI of ER (low end; null if not computed).")
    er_high: float | None
    # Mixes hidden tasks in: published rounded (see app.submissions.published).
    mean_psnr: Rounded
    psnr_low: Rounded = Field(description="Bootstrap CI of mean PSNR (low end).")
    psnr_high: Rounded
    mean_ssim: Rounded
    ar_representative: float | None
    ar_hidden: float | None
    gap: float | None = Field(description="AR on representative minus AR on hidden tasks.")
    mean_niqe: float | None
    parameters: int | None
    seconds_per_mp: float | None
    created_at: datetime


class LeaderboardPage(BaseModel):
    """A page of the board for one benchmark version (null before any version is active)."""

    version: str | None
    metric_convention: str | None = Field(
        default=None, description="The version's metric convention, e.g. rgb,crop=4,8bit."
    )
    metric_convention_text: str | None = Field(
        default=None, description="The same in words, e.g. PSNR: RGB, 8-bit, 4-px border cropped."
    )
    foreign_lines: str | None = Field(
        default=None,
        description="Set when AR/ER are measured against imported foreign lines, with the reason.",
    )
    sort: SortKey
    order: Literal["asc", "desc"]
    total: int
    limit: int
    offset: int
    items: list[LeaderboardRow]
    gt_public: bool = Field(
        False,
        description="The version's ground truth is public (e.g. package-shipped photos): scores "
        "show that the service works, not how good a model is.",
    )
    weak_lines: int = Field(
        0,
        description="Tasks whose lines break the line-quality rule (acceptance not above the "
        "degraded input, or excellence less than 0.1 dB above acceptance).",
    )
