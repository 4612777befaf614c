"""Line training that survives a killed job and shows how far it got.

A line training run checkpoints into storage (``lines/<task>/<kind>.ckpt``, every
``GIR_LINES_CHECKPOINT_EVERY`` steps, default :data:`DEFAULT_CHECKPOINT_EVERY`): a rerun of the
same job (the worker's redelivery, or the operator's ``lines train`` again) resumes from it, not
from zero. Each run also keeps a small progress record (``lines/<task>/<kind>.progress.json``:
steps done and total, start and last update) from which the admin page shows per-line progress
and an ETA; both are removed when the line is stored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from app.storage import Storage, put_bytes

DEFAULT_CHECKPOINT_EVERY = 500


def checkpoint_key(task_key: str, kind: str) -> str:
    """Storage key of a line training run's checkpoint."""
    return f"lines/{task_key}/{kind}.ckpt"


def progress_key(task_key: str, kind: str) -> str:
    """Storage key of a line training run's progress record."""
    return f"lines/{task_key}/{kind}.progress.json"


class StorageCheckpoints:
    """A :class:`~gir_core.baselines.training.CheckpointStore` over one storage key."""

    def __init__(self, storage: Storage, key: str) -> None:
        self.storage, self.key = storage, key

    def load(self) -> bytes | None:
        """The stored checkpoint, or None."""
        if not self.storage.exists(self.key):
            return None
        return self.storage.read_bytes(self.key)

    def save(self, data: bytes) -> None:
        """Replace the checkpoint (the writer commits atomically)."""
        put_bytes(self.storage, self.key, data)

    def clear(self) -> None:
        """Forget the checkpoint once the line is stored."""
        if self.storage.exists(self.key):
            self.storage.delete(self.key)


class ProgressRecord:
    """Writes a line run's progress record at each log point."""

    def __init__(self, storage: Storage, task_key: str, kind: str) -> None:
        self.storage, self.key = storage, progress_key(task_key, kind)
        self.started = time.time()
        self.first_step: int | None = None

    def update(self, done: int, total: int) -> None:
        """Record ``done`` of ``total`` steps (the rate counts only this run's steps)."""
        if self.first_step is None:
            self.first_step = done
            self.started = time.time()
        body = {
            "done": done,
            "total": total,
            "first_step": self.first_step,
            "started": self.started,
            "updated": time.time(),
        }
        put_bytes(self.storage, self.key, json.dumps(body).encode())


@dataclass(frozen=True)
class LineProgress:
    """One line training run as the admin page shows it."""

    task_key: str
    kind: str
    done: int
    total: int
    eta_s: float | None
    updated: float

    @property
    def percent(self) -> float:
        """Share of the steps done, 0-100."""
        return 100.0 * self.done / self.total if self.total else 0.0


def read_progress(storage: Storage, task_key: str, kind: str) -> LineProgress | None:
    """The progress of a line run under way (None when there is none or it is unreadable)."""
    key = progress_key(task_key, kind)
    if not storage.exists(key):
        return None
    try:
        body = json.loads(storage.read_bytes(key))
        done, total = int(body["done"]), int(body["total"])
        first, started, updated = (
            int(body["first_step"]),
            float(body["started"]),
            float(body["updated"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    steps = done - first
    rate = steps / (updated - started) if steps > 0 and updated > started else None
    eta = (total - done) / rate if rate else None
    return LineProgress(task_key, kind, done, total, eta, updated)


def clear_progress(storage: Storage, task_key: str, kind: str) -> None:
    """Remove a finished run's progress record."""
    key = progress_key(task_key, kind)
    if storage.exists(key):
        storage.delete(key)
