"""Contact sheets: the clean image beside each task's degraded version, labelled with the task.

The first thing an operator or a reviewer looks at to trust the degradations; rendering is Pillow
only (its bundled font), so it works offline and headless.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from gir_core.degradations import ImageContext
from gir_core.images import FloatImage, to_uint8
from gir_core.tasks import Task

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SheetLayout:
    """Thumbnail size, columns and label room of a contact sheet."""

    thumb: int = 192
    columns: int = 6
    label_lines: int = 5
    font_size: int = 12
    margin: int = 8


def _thumbnail(image: FloatImage, size: int) -> Image.Image:
    picture = Image.fromarray(to_uint8(image), mode="RGB")
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    return picture


def _label(title: str, text: str, width_chars: int, lines: int) -> list[str]:
    wrapped = textwrap.wrap(text, width=width_chars, break_long_words=True) or [""]
    body = wrapped[: lines - 1]
    if len(wrapped) > lines - 1:
        body[-1] = body[-1][: max(width_chars - 1, 1)] + "…"
    return [title, *body]


def contact_sheet(
    clean: FloatImage,
    tasks: Sequence[Task],
    *,
    seed: int = 0,
    titles: Sequence[str] | None = None,
    layout: SheetLayout | None = None,
    context: ImageContext | None = None,
    progress: Progress | None = None,
) -> Image.Image:
    """Render the clean image and one degraded thumbnail per task into one RGB picture.

    Example:
        >>> import numpy as np
        >>> sheet = contact_sheet(np.full((64, 64, 3), 0.5, np.float32), [Task.parse("noise")])
        >>> sheet.mode
        'RGB'
    """
    lay = layout or SheetLayout()
    heads = list(titles) if titles is not None else [f"#{i}" for i in range(1, len(tasks) + 1)]
    ctx = context if context is not None else ImageContext()
    cells: list[tuple[Image.Image, list[str]]] = []
    chars = max(lay.thumb // 7, 8)
    cells.append((_thumbnail(clean, lay.thumb), ["clean", f"{clean.shape[1]}x{clean.shape[0]} px"]))
    for done, (task, head) in enumerate(zip(tasks, heads, strict=True), start=1):
        degraded = task.apply(clean, seed, context=ctx)
        cells.append(
            (_thumbnail(degraded, lay.thumb), _label(head, str(task), chars, lay.label_lines))
        )
        if progress is not None:
            progress(done, len(tasks))
    return _compose(cells, lay)


def _compose(cells: list[tuple[Image.Image, list[str]]], lay: SheetLayout) -> Image.Image:
    font = ImageFont.load_default(size=lay.font_size)
    line_height = lay.font_size + 3
    cell_w = lay.thumb + lay.margin
    cell_h = lay.thumb + line_height * lay.label_lines + lay.margin * 2
    columns = min(lay.columns, len(cells))
    rows = math.ceil(len(cells) / columns)
    sheet = Image.new("RGB", (columns * cell_w + lay.margin, rows * cell_h + lay.margin), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (thumb, lines) in enumerate(cells):
        x = lay.margin + (index % columns) * cell_w
        y = lay.margin + (index // columns) * cell_h
        sheet.paste(thumb, (x, y))
        for row, line in enumerate(lines):
            ink = (0, 0, 0) if row == 0 else (60, 60, 60)
            draw.text((x, y + lay.thumb + 4 + row * line_height), line, fill=ink, font=font)
    return sheet


def save_sheet(sheet: Image.Image, out_dir: Path, stem: str) -> Path:
    """Write ``sheet`` as ``<out_dir>/<stem>.png`` (creating the folder) and return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}.png"
    sheet.save(path, format="PNG", optimize=False)
    return path
