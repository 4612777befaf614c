"""`gir tasks`: the public listing researchers read first."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from gir_core.cli import app
from gir_core.tasks import Task

runner = CliRunner()


def test_tasks_table_lists_the_fifty_in_order() -> None:
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split() == ["id", "k", "task"]
    assert len(lines) == 51
    assert lines[1].split() == ["1", "1", "resize(scale=4)"]
    assert lines[15].split(maxsplit=2) == ["15", "2", "haze(A=0.9,beta=1.8) + noise(sigma=20)"]
    assert lines[50].split(maxsplit=2)[:2] == ["50", "5"]


def test_tasks_json_round_trips_and_carries_the_paper_lines() -> None:
    result = runner.invoke(app, ["tasks", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["number"] for row in rows] == list(range(1, 51))
    for row in rows:
        task = Task.parse(row["task"])
        assert str(task) == row["task"]
        assert task.id == row["id"]
        assert task.order == row["order"]
    assert rows[0]["acceptance_psnr"] == 25.33
    assert rows[0]["excellence_psnr"] == 26.10
