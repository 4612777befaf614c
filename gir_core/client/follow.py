"""Following a submission until it ends: queue position, tasks done/total, ETA.

The service is polled (``GET /submissions/{id}``): a CI runner often cannot keep a streaming
connection open through proxies, and a poll every few seconds costs the service one cheap read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gir_core.client.api import Api, Json
from gir_core.client.errors import ClientError, Exit
from gir_core.client.progress import Progress, bar, duration

ENDED = frozenset({"scored", "failed", "cancelled"})
POLL_S = 2.0
MAX_MISSES = 5
"""Failed status reads in a row (service unreachable or 5xx) before following gives up."""


@dataclass
class Eta:
    """Remaining time from the rate of tasks finished since this client first saw progress.

    The first observation is the baseline, so a submission followed half-way through does not
    count the tasks it did before the client started watching.
    """

    clock: Callable[[], float] = time.monotonic
    _start: tuple[float, int] | None = field(default=None, init=False)

    def update(self, done: int, total: int) -> float | None:
        """Seconds left, or None until at least one task finished while watched."""
        now = self.clock()
        if self._start is None or done < self._start[1]:
            self._start = (now, done)
            return None
        began, first = self._start
        if done == first or total <= done:
            return None
        return (now - began) / (done - first) * (total - done)


def describe(submission: Json, eta: Eta) -> str:
    """One line for the submission's state (missing optional fields are left out)."""
    status = str(submission.get("status", "unknown"))
    progress = submission.get("progress") or {}
    if status == "queued" and isinstance(progress.get("queue_position"), int):
        ahead = progress["queue_position"]
        return f"queued: {ahead} ahead of it" if ahead else "queued: next"
    done, total = progress.get("done"), progress.get("total")
    if status != "running" or not isinstance(done, int) or not isinstance(total, int) or not total:
        return status
    left = eta.update(done, total)
    text = f"running {bar(done / total)} {done}/{total} tasks"
    return text + (f", ETA {duration(left)}" if left is not None else "")


def follow(
    api: Api,
    submission_id: int,
    progress: Progress,
    *,
    timeout: float | None,
    poll: float = POLL_S,
    clock: Callable[[], float] = time.monotonic,
) -> Json:
    """Poll until the submission has ended; its final state.

    Raises:
        ClientError: ``Exit.TIMEOUT`` once ``timeout`` seconds passed (it keeps running on the
            service), or what the API answered (unreachable, token refused …).
    """
    deadline = None if timeout is None else clock() + timeout
    eta, misses = Eta(clock), 0
    while True:
        try:
            submission = api.submission(submission_id)
            misses = 0
        except ClientError as error:
            # A wait can last hours: one dropped connection or 502 must not fail the build.
            misses += 1
            if not error.transient or misses > MAX_MISSES:
                raise
            progress.note(f"{error.message}; retrying ({misses}/{MAX_MISSES})")
            submission = {"status": "unknown"}
        progress.show(describe(submission, eta))
        if submission.get("status") in ENDED:
            progress.end()
            return submission
        left = None if deadline is None else deadline - clock()
        if left is not None and left <= 0:
            progress.end()
            raise ClientError(
                f"--timeout {timeout:g} s passed while submission {submission_id} was "
                f"{submission.get('status')}; it keeps running: {api.page_url(submission_id)}",
                Exit.TIMEOUT,
            )
        time.sleep(poll if left is None else min(poll, left))
