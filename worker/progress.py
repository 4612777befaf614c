"""The progress a running submission shows, built so that it cannot time hidden tasks.

Anyone watching a submission (its owner first) sees tasks done, the task in progress and the
results landing. Were hidden tasks among them one by one, the moments they finish would give each
hidden task's runtime — and a model chooses its runtime freely, so that is a channel out of the
hidden set as wide as the published scores. So hidden tasks are scored last, as one block: while
the block runs, progress stays at the public tasks' count and names no task, and it moves on only
when the whole block is done (its rows are not shown before the submission ends either:
:func:`app.submissions.results.submission_results`). Watching gives the block's total time,
which is published anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from gir_core.scoring import Benchmark, BenchmarkTask


def hidden_last(benchmark: Benchmark) -> Benchmark:
    """The benchmark with its public tasks first, then its hidden ones (each in their order)."""
    ordered = sorted(benchmark.tasks, key=lambda item: item.kind == "hidden")
    return dataclasses.replace(benchmark, tasks=tuple(ordered))


@dataclasses.dataclass(frozen=True)
class Progress:
    """Published progress of one run over ``todo`` (scoring order, hidden last) of ``total``."""

    todo: Sequence[BenchmarkTask]
    total: int

    def after(self, finished: int) -> tuple[int, int, str]:
        """(done, total, current task) to publish once ``finished`` of ``todo`` are scored."""
        base = self.total - len(self.todo)
        if finished >= len(self.todo):
            return self.total, self.total, ""
        following = self.todo[finished]
        if following.kind == "hidden":
            public = sum(item.kind != "hidden" for item in self.todo)
            return base + min(finished, public), self.total, ""
        return base + finished, self.total, following.key
