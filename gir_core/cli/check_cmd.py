"""`gir check MODEL`: validate the model contract locally, in the same sandbox the service uses."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from gir_core.contract import CheckReport, check_model
from gir_core.errors import DeviceUnavailableError, GirError, ModelError
from gir_core.runners import RunOptions

EXIT_REJECTED = 1
EXIT_BAD_INPUT = 2

MultipleOpt = Annotated[int, typer.Option("--size-multiple", help="Pad inputs to a multiple.")]
TileOpt = Annotated[int | None, typer.Option("--tile", help="Run in tiles of this size.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def describe(report: CheckReport) -> str:
    """The human-readable report: identity, I/O, cost and the sandbox's protections."""
    info = report.info
    fixed = f"{info.fixed_size[0]}×{info.fixed_size[1]} (tiled)" if info.fixed_size else "any"
    lines = [
        f"format      : {info.format}{' (float16)' if info.half else ''}",
        f"sha256      : {report.sha256}",
        f"size        : {report.size_bytes / 2**20:.2f} MiB, {info.parameters:,} parameters",
        f"input size  : {fixed}; probes {', '.join(f'{w}×{h}' for h, w in report.probes)} OK",
        f"device      : {info.device}" + (f" ({info.provider})" if info.provider else ""),
        f"time        : {report.seconds_per_megapixel:.3f} s per megapixel (estimate)",
        "sandbox     :",
        *(f"  active    {name}: {detail}" for name, detail in report.protections.items()),
        *(f"  MISSING   {name}: {reason}" for name, reason in report.missing.items()),
        "result      : the model meets the contract",
    ]
    return "\n".join(lines)


def check(
    model: Annotated[Path, typer.Argument(help="ONNX or TorchScript file.")],
    size_multiple: MultipleOpt = 1,
    tile: TileOpt = None,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
) -> None:
    """Check MODEL against the contract (SPEC §3) in the sandbox; exit 1 with the reason if not."""
    if not model.is_file():
        typer.echo(f"error: no such model file: {model}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        report = check_model(model, RunOptions(size_multiple, tile, device=device))
    except DeviceUnavailableError as error:  # the machine's fault, not the model's
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ModelError as error:
        typer.echo(f"rejected: {error}", err=True)
        raise typer.Exit(EXIT_REJECTED) from None
    except GirError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(json.dumps(asdict(report), indent=2) if as_json else describe(report))


def register(app: typer.Typer) -> None:
    """Add the ``check`` command to ``app``."""
    app.command("check")(check)
