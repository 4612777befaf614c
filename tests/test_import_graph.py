"""Imports between our own modules point one way: no module of ``app`` or ``worker`` is part of an
import circle.

A circle works only while every module in it happens to be imported in a lucky order, and the
usual way to keep it working — an import moved into a function — hides the circle from the
reader instead of removing it. The graph is read from the source (``ast``), so it sees imports
inside functions too; ``if TYPE_CHECKING:`` blocks are left out (they never run). Importing a
submodule also imports its package, but that edge is Python's, not ours, and is not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "worker")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _statements(body: list[ast.stmt], *, nested: bool) -> Iterator[ast.stmt]:
    """Every statement that can run, module level only or also inside functions and classes."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _statements(node.orelse, nested=nested)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            children = getattr(node, field, None)
            if not isinstance(children, list):
                continue
            inner = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            if nested or not inner:
                for child in children:
                    if isinstance(child, ast.ExceptHandler):
                        yield from _statements(child.body, nested=nested)
                    elif isinstance(child, ast.stmt):
                        yield from _statements([child], nested=nested)


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module of ours that ``name`` (a module or a name inside one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _graph(*, nested: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _statements(ast.parse(path.read_text()).body, nested=nested):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                # `from pkg import sub` imports the submodule; `from mod import name` the module.
                targets = [_owner(f"{base}.{alias.name}", modules) or base for alias in node.names]
            for target in targets:
                owner = _owner(target, modules)
                if owner is not None and owner != name:
                    graph[name].add(owner)
    return graph


def _circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports() -> None:
    # Guards the reader: an empty graph would find no circle and prove nothing.
    graph = _graph(nested=True)
    assert "app.auth.security" in graph["app.auth.cookies"]
    assert "app.auth.cookies" in graph["app.auth.csrf"]
    assert "app.queue" in graph["worker.celery_app"]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset("abc")}


def test_no_circle_at_import_time() -> None:
    assert _circles(_graph(nested=False)) == set()


def test_no_circle_hidden_in_a_function() -> None:
    # An import moved into a function to break a circle still leaves the circle: move the shared
    # piece into a module both can import instead.
    assert _circles(_graph(nested=True)) == set()


@pytest.mark.parametrize(
    "module", sorted(f"app.auth.{path.stem}" for path in (ROOT / "app" / "auth").glob("[!_]*.py"))
)
def test_each_auth_module_imports_first(module: str) -> None:
    # A fresh interpreter per module: whichever module a process happens to import first works.
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
