"""`gir eval MODEL --images DIR`: score a model locally on public tasks, no server needed."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from gir_core.cli.check_cmd import EXIT_BAD_INPUT, EXIT_REJECTED, DeviceOpt, MultipleOpt, TileOpt
from gir_core.cli.generality_cmd import read_lines_csv
from gir_core.convention import DEFAULT as DEFAULT_CONVENTION
from gir_core.convention import MetricConvention
from gir_core.errors import GirError, ModelError, ParameterError
from gir_core.generality import GeneralitySummary, TaskLine, summarize
from gir_core.images import list_images
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel
from gir_core.scoring import Benchmark, BenchmarkTask, RealWorldResult, TaskResult, score
from gir_core.tasks import select_tasks


def _summary(lines_csv: Path | None, results: list[TaskResult]) -> GeneralitySummary | None:
    if lines_csv is None:
        return None
    lines = {line.task_id: line for line in read_lines_csv(lines_csv)}
    missing = [r.key for r in results if r.key not in lines]
    if missing:
        raise ParameterError(f"the lines file has no line for task(s) {', '.join(missing[:5])}")
    chosen: list[TaskLine] = [lines[r.key] for r in results]
    return summarize(chosen, {r.key: r.mean_psnr for r in results})


def _table(results: list[TaskResult], texts: dict[str, str]) -> str:
    rows = [f"{'task':>16}  {'PSNR':>6}  {'SSIM':>6}  spec"]
    rows += [
        f"{r.key:>16}  {r.mean_psnr:6.2f}  {r.mean_ssim:6.4f}  {texts[r.key]}" for r in results
    ]
    return "\n".join(rows)


def eval_model(
    model: Annotated[Path, typer.Argument(help="ONNX or TorchScript file.")],
    images: Annotated[Path, typer.Option("--images", help="Folder of clean GT images.")],
    tasks: Annotated[str, typer.Option(help="'representative' or a task text.")] = "representative",
    lines: Annotated[Path | None, typer.Option(help="Lines CSV for AR/ER.")] = None,
    seed: Annotated[int, typer.Option(help="Degradation seed.")] = 0,
    max_side: Annotated[int | None, typer.Option(help="Downscale GT to this side.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Synthesis cache folder.")] = None,
    size_multiple: MultipleOpt = 1,
    tile: TileOpt = None,
    device: DeviceOpt = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    convention: Annotated[
        str,
        typer.Option(
            help="Metric convention of the benchmark version (its lines were measured so)."
        ),
    ] = DEFAULT_CONVENTION.text,
) -> None:
    """Score MODEL on public tasks over your images; AR/ER when --lines is given.

    PSNR follows the version's metric convention: the authors' (RGB, 8-bit, 4-px border
    cropped) unless --convention says otherwise, e.g. rgb,crop=0,8bit for versions frozen
    before conventions were recorded.
    """
    try:
        measured = MetricConvention.parse(convention)
        selected = select_tasks(tasks)
        bench = Benchmark(
            gt_images=tuple(list_images(images)),
            tasks=tuple(BenchmarkTask(key, task) for key, task in selected),
            seed=seed,
            cache_dir=cache or Path(tempfile.gettempdir()) / "gir-eval-cache",
            max_side=max_side,
            convention=measured,
        )
        options = RunOptions(size_multiple, tile, device=device)
        results: list[TaskResult] = []
        with (
            SandboxedModel(model, options) as sandbox,
            # stderr: stdout carries only the results (``--json`` output must parse as it is).
            typer.progressbar(length=len(selected), label="scoring", file=sys.stderr) as bar,
        ):
            for result in score(sandbox, bench, progress=lambda *_: bar.update(1)):
                if not isinstance(result, RealWorldResult):
                    results.append(result)
        summary = _summary(lines, results)
    except ModelError as error:
        typer.echo(f"rejected: {error}", err=True)
        raise typer.Exit(EXIT_REJECTED) from None
    except (GirError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    texts = {key: str(task) for key, task in selected}
    _print(results, texts, summary, as_json, measured)


def _print(
    results: list[TaskResult],
    texts: dict[str, str],
    summary: GeneralitySummary | None,
    as_json: bool,
    convention: MetricConvention,
) -> None:
    if as_json:
        payload: dict[str, object] = {
            "metric_convention": convention.text,
            "tasks": [
                {"task": r.key, "spec": texts[r.key], "psnr": r.mean_psnr, "ssim": r.mean_ssim}
                for r in results
            ],
        }
        if summary is not None:
            payload |= {"ar": summary.ar, "er": summary.er, "mean_psnr": summary.mean_psnr}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(convention.describe())
    typer.echo(_table(results, texts))
    if summary is not None:
        typer.echo(f"AR {summary.ar:.2f}  ER {summary.er:.2f}  mean PSNR {summary.mean_psnr:.2f}")


def register(app: typer.Typer) -> None:
    """Add the ``eval`` command to ``app``."""
    app.command("eval")(eval_model)
