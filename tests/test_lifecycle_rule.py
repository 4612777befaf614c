"""No status spelled as a string outside its enum: ``app/`` and ``worker/`` say ``Status.SCORED``.

A bare ``"scored"`` compares equal to the enum, so nothing else would catch a misspelling or a
status added to one place and not another. The enum and its table live in
``app/submissions/status.py``, the one file allowed to spell the values; migrations are history
and keep their strings. Templates compare against the ``Status`` global the pages provide.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.submissions.status import Status

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {ROOT / "app" / "submissions" / "status.py"}
WORDS = {status.value for status in Status}
# A quoted status word inside a Jinja expression or statement ({{ … }}, {% … %}).
TEMPLATE_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
QUOTED = re.compile("['\"](" + "|".join(sorted(WORDS)) + ")['\"]")


def _status_literals(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS
    ]


def test_no_status_literal_outside_the_enum() -> None:
    files = sorted(path for folder in ("app", "worker") for path in (ROOT / folder).rglob("*.py"))
    assert len(files) > 50  # the walk found the tree
    found = [line for path in files if path not in ALLOWED for line in _status_literals(path)]
    assert found == []


def test_the_rule_sees_a_literal(tmp_path: Path) -> None:
    """The check itself can fail: a comparison with a bare word is found, a docstring is not."""
    sample = tmp_path / "sample.py"
    sample.write_text('"""A queued row."""\nok = row.status == "queued"\n')
    assert _status_literals(sample, tmp_path) == ["sample.py:2: 'queued'"]


def test_templates_compare_statuses_through_the_enum() -> None:
    templates = sorted((ROOT / "frontend" / "templates").rglob("*.html"))
    assert templates
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in templates
        for tag in TEMPLATE_TAG.findall(path.read_text())
        for match in QUOTED.finditer(tag)
    ]
    assert found == []
    assert QUOTED.search("{% if s.status == 'failed' %}")  # what the check would catch
