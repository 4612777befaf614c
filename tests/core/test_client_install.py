"""The base install is the client: `gir submit/status/results/leaderboard` need only the base
dependencies (httpx, typer), and the science commands say which extra they need.

A fresh virtual environment cannot be filled in CI without the network, so the client runs in a
subprocess whose import system refuses every module that neither the standard library, our
package nor the base dependencies (with their own dependencies, read from the installed
metadata) provide: what a fresh ``pip install gir-bench`` would have. The built wheel's metadata
is checked too, so the list the hook allows is the list pip would install.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
# Refuse what is not allowed, and say so at exit (an import swallowed by a try is still seen).
HOOK = """
import atexit, json, os, sys
allowed = set(json.loads(os.environ["GIR_ALLOWED_MODULES"]))
blocked = []
class Refuse:
    def find_spec(self, name, path=None, target=None):
        root = name.partition(".")[0]
        if root not in allowed and not root.startswith("_sysconfigdata"):
            blocked.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Refuse())
atexit.register(lambda: print("BLOCKED " + json.dumps(sorted(set(blocked))), file=sys.stderr))
sys.argv = ["gir", *sys.argv[1:]]
from gir_core.cli import main
main()
"""


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _closure(requirements: list[str]) -> set[str]:
    """Distributions a plain install of ``requirements`` brings on this machine (markers
    evaluated here, with no extra requested)."""
    seen: set[str] = set()
    todo = [_name(r) for r in requirements]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_name(requirement.name))
    return seen


def _modules_of(distributions: set[str]) -> set[str]:
    owners = metadata.packages_distributions()
    return {m for m, dists in owners.items() if {_name(d) for d in dists} & distributions}


def _allowed_modules() -> list[str]:
    base = _closure(list(_pyproject()["dependencies"]))
    return sorted({*sys.stdlib_module_names, "gir_core", *_modules_of(base)})


def _extras_modules() -> set[str]:
    """What the [core] and [server] extras add to the base install: the client must not try
    to import any of it (optional imports of other libraries, e.g. httpx's brotli, may fail)."""
    extras = _pyproject()["optional-dependencies"]
    wanted = [r for key in ("core", "server") for r in extras[key] if _name(r) != "gir-bench"]
    base = _closure(list(_pyproject()["dependencies"]))
    # Typer 0.29 bundles its own click and only probes for a separate one (a server dependency).
    return (_modules_of(_closure(wanted) - base) - {"click"}) | {"app", "worker"}


def _heavy_attempts(result: subprocess.CompletedProcess[str]) -> set[str]:
    """The modules of the extras the command tried (and failed) to import."""
    return {name.partition(".")[0] for name in _blocked(result)} & _extras_modules()


def _gir(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    env = {"GIR_ALLOWED_MODULES": json.dumps(_allowed_modules()), "PATH": "/usr/bin:/bin"}
    if token:
        env["GIR_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-c", HOOK, *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def _blocked(result: subprocess.CompletedProcess[str]) -> list[str]:
    line = [row for row in result.stderr.splitlines() if row.startswith("BLOCKED ")][-1]
    return list(json.loads(line.removeprefix("BLOCKED ")))


def test_the_base_dependencies_are_the_client_and_the_rest_are_extras() -> None:
    project = _pyproject()
    assert {_name(r) for r in project["dependencies"]} == {"httpx", "typer"}
    extras = {
        key: {_name(r) for r in value} for key, value in project["optional-dependencies"].items()
    }
    assert {"numpy", "torch", "onnx", "onnxruntime"} <= extras["core"]
    assert {"gir-bench", "fastapi", "sqlalchemy", "alembic", "celery"} <= extras["server"]
    assert extras["gpu"] == {"onnxruntime-gpu"}
    assert "gir-bench" in extras["test"]  # tests run the service: [server] brings [core]


@pytest.mark.parametrize("command", ["submit", "status", "results", "leaderboard"])
def test_client_commands_need_nothing_beyond_the_base_install(command: str) -> None:
    result = _gir(command, "--help", token="gir_secret-in-the-environment")
    assert result.returncode == 0, result.stderr
    assert "Usage: gir " + command in result.stdout
    assert "GIR_TOKEN" in result.stdout and "gir_secret" not in result.stdout
    assert _heavy_attempts(result) == set()
    if command == "submit":  # the exit-code table is part of the help
        for code in range(6):
            assert f" {code}: " in result.stdout


def test_science_commands_say_which_extra_they_need() -> None:
    listing = _gir("--help")
    assert listing.returncode == 0, listing.stderr
    assert "(needs pip install 'gir-bench[core]')" in listing.stdout
    check = _gir("check", "model.onnx", "--tile", "64")
    assert check.returncode == 2
    message = check.stderr.splitlines()[0]
    assert message.startswith("error: gir check needs the science extra, which is not installed")
    assert message.endswith("pip install 'gir-bench[core]'")
    assert _heavy_attempts(check) & {"numpy", "torch", "onnx", "onnxruntime"}


def test_submit_without_the_science_extra_skips_the_local_check(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not checked locally")
    result = _gir("submit", str(model), "--url", "http://127.0.0.1:9", "--json", token="t")
    assert "notice: local contract check skipped (it needs pip install 'gir-bench[core]')" in (
        result.stderr
    )
    assert result.returncode == 4, result.stderr  # nothing listens on port 9
    body = json.loads(result.stdout)
    assert body["exit_code"] == 4 and body["error"].startswith("cannot reach http://127.0.0.1:9")
    assert _heavy_attempts(result) & {"numpy", "torch"}  # the local check, refused
    assert not _heavy_attempts(result) & {"app", "worker", "fastapi", "sqlalchemy", "celery"}


def test_the_wheel_asks_pip_for_the_base_list_only(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves a build/ folder beside the project it builds, and
    # stale modules there (renamed or deleted since) would end up in later wheels of the tree.
    source = tmp_path / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("gir_core", "app", "worker"):
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("gir_bench-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(name).decode().splitlines()
    requires = [line.removeprefix("Requires-Dist: ") for line in lines if "Requires-Dist" in line]
    assert sorted(_name(r) for r in requires if "extra ==" not in r) == ["httpx", "typer"]
    assert {"core", "server", "gpu", "test"} <= {
        line.removeprefix("Provides-Extra: ") for line in lines if line.startswith("Provides")
    }
