"""Line training in the service: checkpoints and progress records in storage, resumed runs."""

from __future__ import annotations

import json
import time
from pathlib import Path

from app.benchmarks.progress import (
    ProgressRecord,
    StorageCheckpoints,
    checkpoint_key,
    clear_progress,
    progress_key,
    read_progress,
)
from app.storage.local import LocalStorage


def test_checkpoints_live_in_storage_until_the_line_is_stored(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    store = StorageCheckpoints(storage, checkpoint_key("h03", "excellence"))
    assert store.load() is None
    store.save(b"state after 500 steps")
    store.save(b"state after 1000 steps")
    assert store.load() == b"state after 1000 steps"
    assert (tmp_path / "lines/h03/excellence.ckpt").read_bytes() == b"state after 1000 steps"
    store.clear()
    assert store.load() is None and not storage.exists("lines/h03/excellence.ckpt")


def test_progress_gives_steps_and_an_eta_from_this_runs_rate(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert read_progress(storage, "7", "acceptance") is None
    record = ProgressRecord(storage, "7", "acceptance")
    record.update(500, 2000)  # a resumed run starts counting at its checkpoint
    body = json.loads((tmp_path / progress_key("7", "acceptance")).read_bytes())
    body["started"] -= 10.0  # as if the next 500 steps took 10 s
    body["done"], body["updated"] = 1000, time.time()
    (tmp_path / progress_key("7", "acceptance")).write_text(json.dumps(body))
    found = read_progress(storage, "7", "acceptance")
    assert found is not None
    assert (found.done, found.total, found.percent) == (1000, 2000, 50.0)
    assert found.eta_s is not None and 19.0 < found.eta_s < 21.0  # 1000 steps at 50 steps/s
    clear_progress(storage, "7", "acceptance")
    assert read_progress(storage, "7", "acceptance") is None


def test_an_unreadable_progress_record_is_ignored(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    (tmp_path / "lines/9").mkdir(parents=True)
    (tmp_path / progress_key("9", "excellence")).write_text("{not json")
    assert read_progress(storage, "9", "excellence") is None
