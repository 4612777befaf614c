"""Parallel data producers: batches degraded in worker processes, fed through bounded queues.

Degrading patches costs more CPU than a small network's step, so one producer starves the loop
(at paper scale most of a GPU's time went to waiting for patches). :class:`BatchStream` runs
``producers`` processes; producer ``p`` makes batches ``start + p``, ``start + p + P``, … and
puts them in its own queue of ``depth`` slots, and the loop reads the queues round-robin. Since a
batch is a pure function of its index (:meth:`PatchSampler.batch`), the stream is the same for
any producer count, and per-producer queues keep it in order without an unbounded reorder buffer.

``producers=0`` makes the batches in a thread of this process instead (tests, tiny runs).
Producers start from a ``forkserver`` (``spawn`` where there is none), never by forking the
training process: that process has threads (torch, OpenCV's pool, a worker's), and a child forked
from it deadlocked in OpenCV on its first degradation. So ``make`` must pickle (a
:class:`~gir_core.baselines.data.PatchSampler`'s ``batch`` does: its images travel once per
producer); producers never touch torch.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator
from multiprocessing.context import BaseContext
from types import TracebackType
from typing import Any

from gir_core.errors import GirError, ParameterError

MakeBatch = Callable[[int], Any]
"""Makes batch ``index``; must be deterministic in the index."""

_POLL_S = 0.2


class ProducerError(GirError):
    """A data producer failed or died; the message says which batch and why."""


def default_producers(cpus: int | None = None) -> int:
    """Producer processes by default: every core but one for the training loop (at least 1).

    ``GIR_LINES_PRODUCERS`` overrides it (0 = a thread instead of processes).
    """
    configured = os.environ.get("GIR_LINES_PRODUCERS", "").strip()
    if configured:
        return parse_producers(configured)
    count = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, count - 1)


def parse_producers(text: str) -> int:
    """A producer count from text, with a sentence for anything else."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ParameterError(f"GIR_LINES_PRODUCERS must be an integer ≥ 0, got {text!r}")
    return value


class _Failure:
    """An error raised while making a batch, carried to the consumer as text (always picklable)."""

    def __init__(self, index: int, error: BaseException) -> None:
        self.index = index
        self.kind = type(error).__name__
        self.message = str(error)
        self.error = error if isinstance(error, GirError) else None


def _produce(make: MakeBatch, indices: range, out: Any, stop: Any) -> None:
    """Producer body: make each batch of ``indices`` in order; stop at the first failure."""
    try:
        import cv2

        cv2.setNumThreads(1)  # one core per producer: more would fight the other producers
    except ImportError:  # pragma: no cover - OpenCV is a dependency
        pass
    for index in indices:
        if stop.is_set():
            return
        try:
            item: Any = (index, make(index))
        except BaseException as error:  # carried to the consumer, which raises it
            item = _Failure(index, error)
        while not stop.is_set():
            try:
                out.put(item, timeout=_POLL_S)
                break
            except queue.Full:
                continue
        if isinstance(item, _Failure):
            return


def _context() -> BaseContext:
    """A clean start method: ``forkserver`` (modules preloaded once) or ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__, "gir_core.baselines.data"])
        return context
    return multiprocessing.get_context("spawn")


class BatchStream:
    """Yields batches ``start … start + count - 1`` of ``make`` in order, made ahead in parallel.

    Use as a context manager: leaving it stops and joins the producers.

    Example:
        >>> with BatchStream(lambda i: i * i, start=2, count=4, producers=0, depth=2) as s:
        ...     list(s)
        [4, 9, 16, 25]
    """

    def __init__(
        self, make: MakeBatch, *, start: int, count: int, producers: int, depth: int = 4
    ) -> None:
        if producers < 0 or depth < 1 or count < 0 or start < 0:
            raise ParameterError(
                f"need producers ≥ 0, depth ≥ 1, count ≥ 0 and start ≥ 0; got {producers}, "
                f"{depth}, {count}, {start}"
            )
        self._make, self._start, self._count, self._depth = make, start, count, depth
        context = _context() if producers > 0 else None
        self.producers = max(1, min(producers, count)) if context is not None else 0
        self._workers: list[Any] = []
        self._queues: list[Any] = []
        self._stop: Any = context.Event() if context is not None else threading.Event()
        self._context = context

    def _ranges(self) -> list[range]:
        end, step = self._start + self._count, max(1, self.producers)
        return [range(self._start + p, end, step) for p in range(step)]

    def __enter__(self) -> Iterator[Any]:
        for indices in self._ranges():
            if self._context is None:
                out: Any = queue.Queue(maxsize=self._depth)
                worker: Any = threading.Thread(
                    target=_produce, args=(self._make, indices, out, self._stop), daemon=True
                )
            else:
                out = self._context.Queue(maxsize=self._depth)
                worker = self._context.Process(  # type: ignore[attr-defined]
                    target=_produce, args=(self._make, indices, out, self._stop), daemon=True
                )
            worker.start()
            self._workers.append(worker)
            self._queues.append(out)
        return self._consume()

    def _consume(self) -> Iterator[Any]:
        lanes = len(self._queues)
        for offset in range(self._count):
            index = self._start + offset
            item = self._take(offset % lanes, index)
            if isinstance(item, _Failure):
                if item.error is not None:
                    raise item.error
                raise ProducerError(f"making training batch {item.index} failed: "
                                    f"{item.kind}: {item.message}")  # fmt: skip
            yield item[1]

    def _take(self, lane: int, index: int) -> Any:
        while True:
            try:
                return self._queues[lane].get(timeout=_POLL_S)
            except queue.Empty:
                if not self._workers[lane].is_alive() and self._queues[lane].empty():
                    raise ProducerError(
                        f"data producer {lane} stopped before training batch {index} "
                        "(killed, or out of memory?)"
                    ) from None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for worker, out in zip(self._workers, self._queues, strict=True):
            if self._context is not None:
                out.cancel_join_thread()  # a full queue must not block the exit
                worker.join(timeout=5)
                if worker.is_alive():
                    worker.terminate()
                    worker.join()
                out.close()
            else:
                worker.join()
