"""`gir check` and `gir eval`: exit codes and output a researcher's CI can rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gir_core.cli import app
from gir_core.demo import write_demo_images
from gir_core.images import list_images, load_image
from gir_core.metrics import psnr
from gir_core.tasks import Task

runner = CliRunner()


def test_check_accepts_a_good_model_and_reports_protections(models: dict[str, Path]) -> None:
    result = runner.invoke(app, ["check", str(models["invert_ts"])])
    assert result.exit_code == 0, result.output
    assert "format      : torchscript" in result.output
    assert "file access (Landlock)" in result.output
    assert "the model meets the contract" in result.output


def test_check_json_has_the_file_digest(models: dict[str, Path]) -> None:
    import hashlib

    result = runner.invoke(app, ["check", str(models["invert_onnx"]), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["sha256"] == hashlib.sha256(models["invert_onnx"].read_bytes()).hexdigest()
    assert report["info"]["format"] == "onnx"
    assert report["seconds_per_megapixel"] > 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [("one_channel", "output has 1 channel, expected 3"), ("custom_domain", "custom op domain")],
)
def test_check_rejects_with_exit_1_and_the_reason(
    models: dict[str, Path], name: str, reason: str
) -> None:
    result = runner.invoke(app, ["check", str(models[name])])
    assert result.exit_code == 1
    assert reason in result.output


def test_check_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "absent.onnx")])
    assert result.exit_code == 2
    assert "no such model file" in result.output


def test_eval_scores_public_tasks_and_computes_ar_er(
    models: dict[str, Path], tmp_path: Path
) -> None:
    write_demo_images(tmp_path / "gt", max_side=32)
    gt = list_images(tmp_path / "gt")  # sorted by name: the index each image is degraded with
    task = Task.parse("noise(sigma=10)")

    def mean_psnr(crop: int) -> float:
        scores = [
            float(
                psnr(task.apply(load_image(p), 0, image_index=i), load_image(p), crop_border=crop)
            )
            for i, p in enumerate(gt)
        ]
        return sum(scores) / len(scores)

    expected = mean_psnr(4)  # the authors' convention by default
    lines = tmp_path / "lines.csv"
    lines.write_text(
        f"task_id,acceptance_psnr,excellence_psnr\n{task.id},{expected - 1},{expected + 1}\n"
    )
    args = ["eval", str(models["identity_onnx"]), "--images", str(tmp_path / "gt")]
    args += ["--tasks", str(task), "--lines", str(lines), "--cache", str(tmp_path / "c"), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # progress goes to stderr: stdout is pure JSON
    assert payload["tasks"][0]["task"] == task.id
    assert payload["tasks"][0]["psnr"] == pytest.approx(expected, abs=1e-9)
    assert (payload["ar"], payload["er"]) == (1.0, 0.0)
    assert payload["metric_convention"] == "rgb,crop=4,8bit"
    legacy = runner.invoke(app, [*args, "--convention", "rgb,crop=0,8bit"])
    assert legacy.exit_code == 0, legacy.output
    again = json.loads(legacy.stdout)
    assert again["tasks"][0]["psnr"] == pytest.approx(mean_psnr(0), abs=1e-9)
    assert abs(mean_psnr(0) - expected) > 1e-6
    table = runner.invoke(app, args[:-1])
    assert "PSNR: RGB, 8-bit, 4-px border cropped" in table.output
    bad = runner.invoke(app, [*args, "--convention", "rgb,crop4"])
    assert bad.exit_code == 2 and "is not a metric convention" in bad.output


def test_eval_bad_task_text_is_exit_2(models: dict[str, Path], tmp_path: Path) -> None:
    write_demo_images(tmp_path / "gt", max_side=32)
    args = [
        "eval",
        str(models["identity_onnx"]),
        "--images",
        str(tmp_path / "gt"),
        "--tasks",
        "nois",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "did you mean 'noise'" in result.output
