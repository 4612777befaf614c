"""`gir-admin preview`: contact sheets an operator can trust, and clear errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from app.admin_cli import EXIT_BAD_INPUT, app

runner = CliRunner()


def _photo(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def test_preview_of_one_task_writes_a_sheet_with_two_cells(tmp_path: Path) -> None:
    image = _photo(tmp_path / "scene.png")
    result = runner.invoke(
        app, ["preview", "--tasks", "noise + blur", "--image", str(image), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    sheet_path = tmp_path / "scene.png"
    assert result.output.strip() == str(sheet_path)
    sheet = np.asarray(Image.open(sheet_path).convert("RGB"))
    # Two cells (clean + one task) side by side: wider than tall, and not blank.
    assert sheet.shape[1] > sheet.shape[0]
    assert sheet.std() > 10


def test_preview_representative_has_51_cells(tmp_path: Path) -> None:
    image = _photo(tmp_path / "gt.png", (32, 32))
    out = tmp_path / "sheets"
    result = runner.invoke(app, ["preview", "--image", str(image), "--out", str(out)])
    assert result.exit_code == 0, result.output
    sheet = Image.open(out / "gt.png")
    # 6 columns × ceil(51 / 6) = 9 rows of equal cells.
    assert sheet.height / sheet.width > 9 / 6 * 0.9


def test_preview_bad_task_text_is_a_sentence_and_exit_2(tmp_path: Path) -> None:
    image = _photo(tmp_path / "gt.png")
    result = runner.invoke(
        app, ["preview", "--tasks", "blurr + noise", "--image", str(image), "--out", str(tmp_path)]
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "unknown degradation 'blurr'" in result.output
    assert "did you mean 'blur'" in result.output


def test_preview_unreadable_image_is_a_sentence_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    result = runner.invoke(
        app, ["preview", "--tasks", "noise", "--image", str(broken), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "broken.png" in result.output
    assert not (tmp_path / "o" / "broken.png").exists()
