"""The paper's Table C.1 as package data: task numbers, published sequences and line values.

Kong et al., "A Preliminary Exploration Towards General Image Restoration", Table C.1. Ids 1-50 are
the representative tasks; 51-100 are hidden (sequence not published, so ``text`` is None).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class PaperLine:
    """One row of Table C.1: acceptance and excellence line PSNR (dB) of one task."""

    number: int
    text: str | None
    acceptance_psnr: float
    excellence_psnr: float


@cache
def paper_lines() -> tuple[PaperLine, ...]:
    """All 100 rows of Table C.1 in order.

    Example:
        >>> paper_lines()[0]
        PaperLine(number=1, text='resize', acceptance_psnr=25.33, excellence_psnr=26.1)
    """
    raw = resources.files("gir_core").joinpath("data/table_c1_lines.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO(raw))
    return tuple(
        PaperLine(
            number=int(row["task_id"]),
            text=row["degradations"].strip() or None,
            acceptance_psnr=float(row["acceptance_psnr"]),
            excellence_psnr=float(row["excellence_psnr"]),
        )
        for row in rows
    )
