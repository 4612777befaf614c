"""Synthesis: deterministic across processes, content-addressed, never recomputes, never partial."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gir_core import synthesis
from gir_core.degradations import FolderSnowMasks, ImageContext
from gir_core.demo import write_demo_images
from gir_core.errors import GirError
from gir_core.images import load_image
from gir_core.synthesis import (
    SynthesisResult,
    cache_key,
    cache_path,
    load_degraded,
    synthesise,
)
from gir_core.tasks import Task

REPO = Path(__file__).resolve().parents[2]
TASK_TEXTS = ["noise", "haze + noise", "snow + blur", "rain + compression", "damage + ringing"]
TASKS = [Task.parse(text) for text in TASK_TEXTS]
SIDE = 32


@pytest.fixture(scope="module")
def gt_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small demo crops (a module fixture: written once, never modified by tests)."""
    scratch, folder = tmp_path_factory.mktemp("demo"), tmp_path_factory.mktemp("gt")
    for path in write_demo_images(scratch, max_side=SIDE)[:3]:
        shutil.copy(path, folder / path.name)
    return folder


def _file_hashes(result: SynthesisResult) -> dict[str, str]:
    return {r.key: hashlib.sha256(r.path.read_bytes()).hexdigest() for r in result.records}


def test_records_follow_the_documented_recipe(gt_folder: Path, tmp_path: Path) -> None:
    result = synthesise(gt_folder, TASKS, seed=5, cache_dir=tmp_path, workers=1)
    assert [r.image_name for r in result.records[:: len(TASKS)]] == [
        "astronaut",
        "chelsea",
        "coffee",
    ]
    assert (result.computed, result.cached) == (15, 0)
    for record in result.records:
        assert record.path == tmp_path / record.key[:2] / f"{record.key}.png"
        task = TASKS[result.records.index(record) % len(TASKS)]
        assert (record.task_id, record.task_text) == (task.id, str(task))
        clean = load_image(gt_folder / f"{record.image_name}.png")
        context = ImageContext(name=record.image_name)
        expected = task.apply(clean, 5, image_index=record.image_index, context=context)
        np.testing.assert_array_equal(load_degraded(record), expected)


def test_identical_bytes_from_two_separate_processes(gt_folder: Path, tmp_path: Path) -> None:
    script = (
        "import hashlib, json, sys\n"
        "from gir_core.synthesis import synthesise\n"
        "from gir_core.tasks import Task\n"
        "if __name__ == '__main__':\n"
        "    tasks = [Task.parse(t) for t in json.loads(sys.argv[1])]\n"
        "    r = synthesise(sys.argv[2], tasks, seed=11, cache_dir=sys.argv[3],\n"
        "                   workers=int(sys.argv[4]))\n"
        "    print(json.dumps({x.key: hashlib.sha256(x.path.read_bytes()).hexdigest()\n"
        "                      for x in r.records}))\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, json.dumps(TASK_TEXTS), str(gt_folder), str(cache), n],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        for cache, n in [(tmp_path / "a", "1"), (tmp_path / "b", "2")]  # in-process vs pool
    ]
    outputs = [json.loads(run.communicate(timeout=120)[0]) for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert len(outputs[0]) == 15
    assert outputs[0] == outputs[1]
    here = synthesise(gt_folder, TASKS, seed=11, cache_dir=tmp_path / "c", workers=1)
    assert _file_hashes(here) == outputs[0]


def test_second_run_recomputes_nothing_and_starts_no_pool(
    gt_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = synthesise(gt_folder, TASKS, seed=1, cache_dir=tmp_path, workers=2)
    assert (first.computed, first.cached) == (15, 0)
    mtimes = {r.path: r.path.stat().st_mtime_ns for r in first.records}

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started although everything was cached")

    monkeypatch.setattr(synthesis, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(synthesis, "_run_unit", no_pool)
    second = synthesise(gt_folder, TASKS, seed=1, cache_dir=tmp_path, workers=2)
    assert (second.computed, second.cached) == (0, 15)
    assert all(r.cached for r in second.records)
    assert [replace(r, cached=False) for r in second.records] == list(first.records)
    assert {r.path: r.path.stat().st_mtime_ns for r in second.records} == mtimes


def test_progress_rises_monotonically_to_the_total(gt_folder: Path, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    synthesise(
        gt_folder,
        TASKS[:2],
        seed=0,
        cache_dir=tmp_path,
        workers=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)
    dones = [done for done, _ in calls]
    assert all(b > a for a, b in itertools.pairwise(dones))
    assert {total for _, total in calls} == {6}

    calls.clear()  # one more task: the 6 cached records count from the start
    synthesise(
        gt_folder,
        TASKS[:3],
        seed=0,
        cache_dir=tmp_path,
        workers=1,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(6, 9), (7, 9), (8, 9), (9, 9)]


def _key(
    *,
    task: Task = TASKS[0],
    sha: str = "ab" * 32,
    seed: int = 1,
    index: int = 0,
    fingerprint: str = "depth=proxy-v1;snow=procedural-v1",
    version: str = "1",
    max_side: int | None = None,
    convert_grey: bool = False,
) -> str:
    return cache_key(
        task=task,
        image_sha256=sha,
        seed=seed,
        image_index=index,
        context_fingerprint=fingerprint,
        max_side=max_side,
        convert_grey=convert_grey,
        version=version,
    )


def test_key_changes_with_every_input() -> None:
    reference = _key()
    # Pinned: a change here silently invalidates every cache, so it must be deliberate.
    assert reference == "68b4cd218a8dc7a1c520ddd82eea5d86cb4f25546e1cb15c24938f9e4349a9c7"
    assert _key() == reference
    variants = [
        _key(task=TASKS[1]),
        _key(sha="cd" * 32),
        _key(seed=2),
        _key(index=1),
        _key(fingerprint="depth=folder:0123;snow=procedural-v1"),
        _key(version="2"),
        _key(max_side=64),
        _key(convert_grey=True),
    ]
    assert len({reference, *variants}) == 1 + len(variants)
    assert cache_path("/c", reference) == Path("/c/68") / f"{reference}.png"


def test_seed_and_image_change_the_files(gt_folder: Path, tmp_path: Path) -> None:
    images = sorted(gt_folder.iterdir())
    a = synthesise(images, TASKS[:1], seed=0, cache_dir=tmp_path, workers=1)
    b = synthesise(images, TASKS[:1], seed=1, cache_dir=tmp_path, workers=1)
    swapped = synthesise(images[::-1], TASKS[:1], seed=0, cache_dir=tmp_path, workers=1)
    assert {r.key for r in a.records}.isdisjoint(r.key for r in b.records)
    assert not np.array_equal(load_degraded(a.records[0]), load_degraded(b.records[0]))
    # A list gives indices in its own order; the index seeds the noise, so files differ.
    assert [r.image_name for r in swapped.records] == ["coffee", "chelsea", "astronaut"]
    assert swapped.records[2].image_sha256 == a.records[0].image_sha256
    assert swapped.records[2].key != a.records[0].key


def test_duplicate_tasks_share_one_file(gt_folder: Path, tmp_path: Path) -> None:
    result = synthesise(gt_folder, [TASKS[0], TASKS[0]], seed=0, cache_dir=tmp_path, workers=2)
    assert (result.computed, result.cached) == (6, 0)
    assert result.records[0].path == result.records[1].path
    assert len(list(tmp_path.rglob("*.png"))) == 3


def test_fetch_brings_in_inputs_made_elsewhere_which_count_as_cached(
    gt_folder: Path, tmp_path: Path
) -> None:
    elsewhere = synthesise(gt_folder, TASKS[:2], seed=3, cache_dir=tmp_path / "a", workers=1)
    made = {record.key: record.path for record in elsewhere.records}
    asked: list[str] = []

    def fetch(missing: list[synthesis.SynthesisRecord]) -> None:
        for record in missing:
            asked.append(record.key)
            if record.task_id == TASKS[0].id:  # only the first task was "in the bucket"
                record.path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(made[record.key], record.path)

    here = synthesise(gt_folder, TASKS[:2], seed=3, cache_dir=tmp_path / "b", workers=1,
                      fetch=fetch)  # fmt: skip
    assert sorted(asked) == sorted(made)  # asked once, for everything missing here
    assert (here.cached, here.computed) == (3, 3)
    assert [r.cached for r in here.records] == [r.task_id == TASKS[0].id for r in here.records]
    assert _file_hashes(here) == _file_hashes(elsewhere)  # computed ones are the same bytes
    again = synthesise(gt_folder, TASKS[:2], seed=3, cache_dir=tmp_path / "b", workers=1,
                       fetch=fetch)  # fmt: skip
    assert again.cached == 6 and len(asked) == 6  # nothing missing: fetch not called


def test_partial_temporaries_never_count_as_cache_entries(
    gt_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = synthesise(gt_folder, TASKS[:2], seed=0, cache_dir=tmp_path / "plan", workers=1)
    key = planned.records[1].key  # astronaut × TASKS[1]: the write the crash below interrupts
    leftover = cache_path(tmp_path / "cache", key).with_name(f".{key}.png.crash.tmp")
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"\x89PNG half a file")  # what a crash mid-write leaves
    replaces = 0
    real_replace = os.replace

    def crash_on_second_replace(src: str, dst: str) -> None:
        nonlocal replaces
        replaces += 1
        if replaces == 2:
            raise OSError("simulated crash while storing")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_second_replace)
    with pytest.raises(GirError, match="failed on image 'astronaut'") as err:
        synthesise(gt_folder, TASKS[:3], seed=0, cache_dir=tmp_path / "cache", workers=1)
    assert str(TASKS[1]) in str(err.value)
    monkeypatch.undo()
    stored = list((tmp_path / "cache").rglob("*.png"))
    assert [p.name for p in stored] == [planned.records[0].path.name]  # only the completed one
    assert not [p for p in (tmp_path / "cache").rglob("*.tmp") if p != leftover]

    rerun = synthesise(gt_folder, TASKS[:3], seed=0, cache_dir=tmp_path / "cache", workers=1)
    assert (rerun.computed, rerun.cached) == (8, 1)
    assert [r.cached for r in rerun.records[:2]] == [True, False]
    assert rerun.records[1].key == key
    for record in rerun.records:
        assert load_degraded(record).shape == (SIDE, SIDE, 3)


def test_worker_errors_name_image_and_task(gt_folder: Path, tmp_path: Path) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    (masks / "broken.png").write_bytes(b"not a png")
    with pytest.raises(GirError) as err:
        synthesise(
            gt_folder,
            [TASKS[0], TASKS[2]],
            seed=0,
            cache_dir=tmp_path / "cache",
            workers=2,
            snow_source=FolderSnowMasks(masks),
        )
    message = str(err.value)
    assert "snow(A=0.9,beta=0.75) + blur(k=15,sigma=2)" in message
    assert "failed on image '" in message and "cannot read snow mask" in message


def test_unreadable_image_is_named(gt_folder: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    with pytest.raises(GirError, match=r"cannot load image 'bad' \(index 1"):
        synthesise(
            [gt_folder / "astronaut.png", bad], TASKS[:1], seed=0, cache_dir=tmp_path, workers=1
        )
    grey = tmp_path / "grey" / "g.png"
    grey.parent.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(grey)
    result = synthesise(grey.parent, TASKS[:1], seed=0, cache_dir=tmp_path, convert_grey=True)
    assert load_degraded(result.records[0]).shape == (8, 8, 3)
