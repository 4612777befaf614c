"""The benchmarks area on PostgreSQL: image sets in storage, the task pool, lines, versions,
moderation, and the public API — with hidden specs kept out of every public answer."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient
from PIL import Image as PILImage
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.benchmarks import (
    images,
    line_import,
    lines,
    moderation,
    provenance,
    service,
    versions,
)
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef
from app.errors import Conflict, Invalid, NotFound
from app.submissions.models import Summary, TaskResultRow
from gir_core.baselines import get_profile
from gir_core.demo import DEMO_IMAGES, write_demo_images
from gir_core.hidden import hidden_tasks
from gir_core.images import file_sha256, read_png_u8
from gir_core.tasks import DEGRADATION_VERSION, Task, representative_tasks
from tests.support.factories import Rows


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seven demo crops at 32×32 (tiny, fast to degrade and to train on)."""
    folder = tmp_path_factory.mktemp("demo-gt")
    write_demo_images(folder, max_side=32)
    return folder


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _gt(session: Session, folder: Path) -> ImageSet:
    return images.add_image_set(session=session, folder=folder, name=_name("gt"), role="gt")


def _with_lines(session: Session, *texts: str, hidden: tuple[str, ...] = ()) -> list[TaskDef]:
    rows = [service.add_task(session=session, text=t) for t in texts]
    rows += [service.add_task(session=session, text=t, hidden=True) for t in hidden]
    for number, row in enumerate(rows):
        row.acceptance_psnr, row.excellence_psnr = 25.0 + number, 27.0 + number
        row.line_source = "imported:test.csv"
    session.commit()
    return rows


# --- image sets -------------------------------------------------------------------------------


def test_gt_set_stores_pngs_of_the_loaded_pixels_with_their_hashes(
    session: Session, demo_dir: Path, storage_dir: Path
) -> None:
    image_set = _gt(session, demo_dir)
    names = sorted(f"{d.name}.png" for d in DEMO_IMAGES)
    assert [i.filename for i in image_set.images] == names  # file-name order = image index
    first = image_set.images[0]
    assert first.storage_key == f"images/{image_set.name}/0000-astronaut.png"
    stored = storage_dir / first.storage_key
    assert file_sha256(stored) == first.sha256
    np.testing.assert_array_equal(read_png_u8(stored), read_png_u8(demo_dir / "astronaut.png"))
    assert (first.width, first.height) == (32, 32)


def test_gt_set_downscales_and_crops_to_multiples_of_four(
    session: Session, tmp_path: Path, storage_dir: Path
) -> None:
    rng = np.random.default_rng(0)
    PILImage.fromarray(rng.integers(0, 256, (50, 90, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    image_set = images.add_image_set(
        session=session, folder=tmp_path, name=_name("gt"), role="gt", max_side=45
    )
    image = image_set.images[0]
    assert (image.width, image.height) == (44, 24)  # 45×25 after INTER_AREA, then ×4 crop
    assert image_set.max_side == 45


def test_a_bad_file_leaves_nothing_behind(
    session: Session, tmp_path: Path, storage_dir: Path
) -> None:
    rng = np.random.default_rng(1)
    PILImage.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    name = _name("gt")
    with pytest.raises(Exception, match=r"b\.png"):
        images.add_image_set(session=session, folder=tmp_path, name=name, role="gt")
    assert not (storage_dir / "images" / name).exists()
    assert session.scalar(select(ImageSet).where(ImageSet.name == name)) is None


def test_duplicate_pixels_and_names_are_refused(
    session: Session, tmp_path: Path, demo_dir: Path
) -> None:
    pixels = np.full((8, 8, 3), 7, np.uint8)
    PILImage.fromarray(pixels).save(tmp_path / "a.png")
    PILImage.fromarray(pixels).save(tmp_path / "b.bmp")
    with pytest.raises(Invalid, match=r"b\.bmp has the same pixels as a\.png"):
        images.add_image_set(session=session, folder=tmp_path, name=_name("gt"), role="gt")
    taken = _gt(session, demo_dir).name
    with pytest.raises(Conflict, match="exists already"):
        images.add_image_set(session=session, folder=demo_dir, name=taken, role="gt")
    with pytest.raises(Invalid, match="must be 1-80 letters"):
        images.add_image_set(session=session, folder=demo_dir, name="../x", role="gt")


def test_real_world_sets_need_a_kind_and_accept_greyscale(session: Session, tmp_path: Path) -> None:
    PILImage.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(tmp_path / "old.png")
    with pytest.raises(Invalid, match="needs a kind"):
        images.add_image_set(session=session, folder=tmp_path, name=_name("r"), role="real")
    real = images.add_image_set(
        session=session, folder=tmp_path, name=_name("r"), role="real", label="old photo"
    )
    assert (real.role, real.label, len(real.images)) == ("real", "old photo", 1)
    with pytest.raises(Exception, match="greyscale"):
        images.add_image_set(session=session, folder=tmp_path, name=_name("g"), role="gt")


def test_the_newest_gt_set_is_current(session: Session, demo_dir: Path) -> None:
    with pytest.raises(NotFound, match="add-gt"):
        images.current_gt_set(session=session)
    _gt(session, demo_dir)
    newer = _gt(session, demo_dir)
    assert images.current_gt_set(session=session).id == newer.id


# --- the task pool ----------------------------------------------------------------------------


def test_representative_50_are_keyed_1_to_50_without_lines_and_idempotent(
    session: Session,
) -> None:
    added = service.add_representative(session=session)
    assert [t.key for t in added] == [str(n) for n in range(1, 51)]
    assert [t.spec for t in added] == [str(t) for t in representative_tasks()]
    assert all(t.kind == "representative" and t.acceptance_psnr is None for t in added)
    assert added[46].order == 5
    assert service.add_representative(session=session) == []


def test_add_task_numbers_and_refuses_duplicates_without_the_spec(session: Session) -> None:
    first = service.add_task(session=session, text="noise + blur")
    hidden = service.add_task(session=session, text="haze(A=0.8,beta=1.2) + noise", hidden=True)
    assert (first.key, first.kind, first.order) == ("1", "representative", 2)
    assert (hidden.key, hidden.kind) == ("h01", "hidden")
    assert hidden.spec == "haze(A=0.8,beta=1.2) + noise(sigma=20)"
    with pytest.raises(Conflict) as caught:
        service.add_task(session=session, text="haze(A=0.8, beta=1.2) + noise(sigma=20)")
    assert caught.value.message == "this task is in the pool already, as task h01"
    with pytest.raises(Invalid, match="did you mean 'blur'"):
        service.add_task(session=session, text="blurr")


def test_hidden_tasks_come_from_the_seed_and_continue_numbering(session: Session) -> None:
    service.add_task(session=session, text="noise(sigma=9)", hidden=True)  # h01, by hand
    first = service.sample_hidden(session=session, per_order=1, seed=99)
    more = service.sample_hidden(session=session, per_order=2, seed=99)
    assert service.sample_hidden(session=session, per_order=2, seed=99) == []
    expected = hidden_tasks(99, per_order=2, avoid=[])
    by_order = [expected[0], expected[2], expected[4], expected[6], expected[8]]
    assert [t.key for t in first] == ["h02", "h03", "h04", "h05", "h06"]
    assert [t.spec for t in first] == [str(task) for task in by_order]
    assert [t.key for t in more] == ["h07", "h08", "h09", "h10", "h11"]
    assert [t.spec for t in more] == [str(task) for task in expected[1::2]]
    for row in first + more:
        assert row.kind == "hidden" and row.task_hash == Task.parse(row.spec).id
        assert row.order == Task.parse(row.spec).order
    with pytest.raises(Invalid, match=r"per_order must be an integer in 1\.\.1000"):
        service.sample_hidden(session=session, per_order=0)


def test_list_orders_representative_by_number_then_hidden(session: Session) -> None:
    for text in ("noise", "blur", "resize", "ringing", "damage", "compression", "haze", "snow"):
        service.add_task(session=session, text=text)
    service.sample_hidden(session=session, per_order=2, seed=5)
    service.add_task(session=session, text="noise(sigma=3)", hidden=True)
    service.add_task(session=session, text="rain")
    keys = [t.key for t in service.list_tasks(session=session)]
    assert keys == [*(str(n) for n in range(1, 10)), *(f"h{n:02d}" for n in range(1, 12))]


def test_select_adds_cluster_centres_as_representative_tasks(
    session: Session, demo_dir: Path
) -> None:
    _gt(session, demo_dir)
    picked = service.select_tasks(session=session, order=2, n=3, candidates=12, seed=1)
    assert len(picked.result.tasks) == 3 and sum(picked.result.cluster_sizes) == 12
    assert [t.key for t in picked.added] == ["1", "2", "3"]
    assert [t.spec for t in picked.added] == [str(t) for t in picked.result.tasks]
    again = service.select_tasks(session=session, order=2, n=3, candidates=12, seed=1)
    assert again.added == [] and [t.key for t in again.already] == ["1", "2", "3"]
    with pytest.raises(Invalid, match="order"):
        service.select_tasks(session=session, order=9, n=3, candidates=12)


# --- lines ------------------------------------------------------------------------------------


def test_import_lines_sets_values_and_source_all_or_nothing(
    session: Session, tmp_path: Path
) -> None:
    service.add_task(session=session, text="noise")
    service.add_task(session=session, text="blur", hidden=True)
    good = tmp_path / "lines.csv"
    good.write_text(
        "task_id,kind,acceptance_psnr,excellence_psnr\n1,representative,30.5,32\n"
        "h01,hidden,20,21.25\n"
    )
    with pytest.raises(Invalid, match="lacks the provenance columns task, psnr, gt_hash"):
        line_import.import_lines(session=session, path=good)
    updated = line_import.import_lines(session=session, path=good, foreign="paper")
    assert [(t.key, t.acceptance_psnr, t.excellence_psnr) for t in updated] == [
        ("1", 30.5, 32.0),
        ("h01", 20.0, 21.25),
    ]
    assert updated[0].line_source == "imported:lines.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text("task_id,acceptance_psnr,excellence_psnr\n1,1,2\n7,1,2\nh9,1,2\n")
    with pytest.raises(Invalid, match="names task keys not in the pool: 7, h9"):
        line_import.import_lines(session=session, path=bad, foreign="paper")
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("task_id,kind,acceptance_psnr,excellence_psnr\n1,hidden,1,2\n")
    with pytest.raises(Invalid, match="task 1 is representative in the pool, not hidden"):
        line_import.import_lines(session=session, path=swapped, foreign="paper")
    assert service.get_task(session=session, key="1").acceptance_psnr == 30.5


def test_train_lines_on_demo_regions_outside_the_test_crops(
    session: Session, demo_dir: Path, storage_dir: Path
) -> None:
    gt = _gt(session, demo_dir)
    task = service.add_task(session=session, text="noise(sigma=30)")
    regions = lines.demo_training_regions(gt, patch_size=32)
    assert len(regions) >= 7 * 2 and all(min(r.shape[:2]) >= 32 for r in regions)
    seen: list[tuple[str, int, int]] = []
    done = lines.train_lines(
        session=session,
        task_key=task.key,
        profile="tiny",
        num_threads=1,
        progress=lambda kind, step, total: seen.append((kind, step, total)),
    )
    assert task.line_source == "trained:tiny"
    assert task.acceptance_psnr == done.acceptance_psnr
    assert task.excellence_psnr == done.excellence_psnr
    # sigma 30 noise leaves ~19 dB; even the tiny residual net must do better than nothing
    assert done.excellence_psnr > done.input_psnr and 15 < done.input_psnr < 22
    assert {kind for kind, _, _ in seen} == {"acceptance", "excellence"}
    for kind in ("acceptance", "excellence"):
        onnx_file = storage_dir / lines.line_model_key(task.key, kind)
        assert onnx_file.stat().st_size > 1000
    assert [m.kind for m in lines.line_models(session=session)] == ["acceptance", "excellence"]
    records = provenance.current_records(session=session, task_ids=[task.id])
    acceptance, excellence = records[(task.id, "acceptance")], records[(task.id, "excellence")]
    assert acceptance.psnr == done.acceptance_psnr and excellence.psnr == done.excellence_psnr
    for record in (acceptance, excellence):
        assert record.gt_hash == provenance.set_hash(gt) and len(record.gt_hash) == 64
        assert record.degradation_version == DEGRADATION_VERSION and record.seed == 20231
        assert record.metric_convention == "rgb,crop=4,8bit"
        assert (record.profile, record.train_seed) == ("tiny", 0)
        assert record.iterations == get_profile("tiny").iterations
        assert record.train_set_hash == provenance.demo_regions_hash(gt)
        assert record.code_version == "gir-bench 0.1.0" and record.made_at is not None
        assert record.source == "trained:tiny" and record.foreign_reason is None
    assert (acceptance.network, excellence.network) == ("srcnn-9-5-5-32-16", "srresnet-16x2")
    # The line is measured with the convention: 4 px cropped, as submissions will be.
    version = versions.freeze_version(session=session, name="trained", allow_weak_lines=True)
    assert version.tasks[0].acceptance_record is acceptance


def test_training_refuses_a_non_demo_gt_set_without_training_images(
    session: Session, tmp_path: Path, demo_dir: Path
) -> None:
    rng = np.random.default_rng(2)
    PILImage.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "x.png")
    images.add_image_set(session=session, folder=tmp_path, name=_name("gt"), role="gt")
    service.add_task(session=session, text="noise")
    with pytest.raises(Invalid, match="is not the demo set"):
        lines.train_lines(session=session, task_key="1", profile="tiny")
    with pytest.raises(Invalid, match="unknown training profile 'fast'"):
        lines.train_lines(session=session, task_key="1", profile="fast")
    gt_name = _gt(session, demo_dir).name
    with pytest.raises(Invalid, match="is a gt set"):
        lines.train_lines(session=session, task_key="1", profile="tiny", train_set=gt_name)


# --- versions ---------------------------------------------------------------------------------


def test_freeze_refuses_tasks_without_lines_naming_them(session: Session, demo_dir: Path) -> None:
    _gt(session, demo_dir)
    _with_lines(session, "noise")
    service.add_task(session=session, text="blur")
    service.add_task(session=session, text="noise(sigma=3)", hidden=True)
    with pytest.raises(Invalid) as caught:
        versions.freeze_version(session=session, name="v1")
    assert caught.value.message.startswith("tasks without lines: 2, h01;")
    assert session.scalar(select(BenchmarkVersion)) is None


def test_freeze_copies_tasks_lines_sets_and_settings(
    session: Session, demo_dir: Path, tmp_path: Path
) -> None:
    gt = _gt(session, demo_dir)
    PILImage.fromarray(np.full((12, 12), 90, np.uint8)).save(tmp_path / "p.png")
    real = images.add_image_set(
        session=session, folder=tmp_path, name=_name("r"), role="real", label="old photo"
    )
    _with_lines(session, "noise", "blur", hidden=("haze + noise",))
    version = versions.freeze_version(session=session, name="v1", activate=True)
    assert [(vt.task.key, vt.position, vt.acceptance_psnr) for vt in version.tasks] == [
        ("1", 0, 25.0),
        ("2", 1, 26.0),
        ("h01", 2, 27.0),
    ]
    assert {link.image_set.name for link in version.image_sets} == {gt.name, real.name}
    assert version.is_active and version.seed == 20231 and version.max_side is None
    assert version.metric_convention == "rgb,crop=4,8bit"  # the authors', by default
    assert version.convention.describe() == "PSNR: RGB, 8-bit, 4-px border cropped"
    assert version.real_world_max_side is None and version.foreign_lines is None
    assert version.metric_settings["line_sources"] == ["imported:test.csv"]
    counts = versions.version_counts(version)
    assert counts.tasks == {"representative": 2, "hidden": 1}
    assert counts.images == {"gt": 7, "real": 1}
    # Lines changed later do not change the frozen copy.
    service.get_task(session=session, key="1").acceptance_psnr = 1.0
    session.commit()
    assert versions.get_version(session=session, name="v1").tasks[0].acceptance_psnr == 25.0
    with pytest.raises(Conflict, match="exists already"):
        versions.freeze_version(session=session, name="v1")


def test_freeze_refuses_a_gt_file_changed_in_storage(
    session: Session, demo_dir: Path, storage_dir: Path
) -> None:
    gt = _gt(session, demo_dir)
    _with_lines(session, "noise")
    (storage_dir / gt.images[3].storage_key).write_bytes(b"tampered")
    with pytest.raises(Invalid, match="changed in storage"):
        versions.freeze_version(session=session, name="v1")


def test_exactly_one_version_is_active(session: Session, demo_dir: Path) -> None:
    _gt(session, demo_dir)
    _with_lines(session, "noise")
    versions.freeze_version(session=session, name="a", activate=True)
    versions.freeze_version(session=session, name="b")
    versions.freeze_version(session=session, name="c")
    versions.activate_version(session=session, name="c")
    versions.activate_version(session=session, name="b")
    active = session.scalars(select(BenchmarkVersion.name).where(BenchmarkVersion.is_active))
    assert list(active) == ["b"]
    assert versions.active_version(session=session).name == "b"
    with pytest.raises(NotFound, match="no benchmark version named 'zz'"):
        versions.activate_version(session=session, name="zz")
    with pytest.raises(IntegrityError):  # the database itself refuses a second active row
        session.execute(
            update(BenchmarkVersion).where(BenchmarkVersion.name == "a").values(is_active=True)
        )
        session.flush()
    session.rollback()


# --- moderation -------------------------------------------------------------------------------


def test_rescore_resets_deletes_results_and_enqueues(
    session: Session, rows: Rows, demo_dir: Path, broker: redis.Redis
) -> None:
    _gt(session, demo_dir)
    _with_lines(session, "noise")
    version = versions.freeze_version(session=session, name="v1", activate=True)
    owner = rows.user("r")
    scored = rows.submission(owner, status="scored", attempts=2, progress_done=1)
    session.add(
        TaskResultRow(
            submission_id=scored.id,
            version_task_id=version.tasks[0].id,
            mean_psnr=30.0,
            mean_ssim=0.9,
            psnr=[30.0],
            ssim=[0.9],
            seconds=1.0,
        )
    )
    session.add(
        Summary(
            submission_id=scored.id,
            benchmark_version_id=version.id,
            ar=1,
            er=0,
            mean_psnr=30,
            mean_ssim=0.9,
            ar_low=1,
            ar_high=1,
            psnr_low=30,
            psnr_high=30,
        )
    )
    session.commit()
    moderation.rescore(session=session, submission_id=scored.id)
    session.refresh(scored)
    assert (scored.status, scored.attempts, scored.progress_done) == ("queued", 0, 0)
    assert scored.benchmark_version_id is None  # the worker takes the active one
    assert (
        session.scalar(select(TaskResultRow).where(TaskResultRow.submission_id == scored.id))
        is None
    )
    assert session.get(Summary, scored.id) is None
    assert broker.llen("validate") == 1
    with pytest.raises(Conflict, match="is queued"):
        moderation.rescore(session=session, submission_id=scored.id)
    with pytest.raises(NotFound):
        moderation.rescore(session=session, submission_id=10**9)


def test_rescore_all_takes_scored_and_failed_only(session: Session, broker: redis.Redis) -> None:
    make = Rows(session)
    owner = make.user("r")
    rows = [make.submission(owner, status=s) for s in ("scored", "failed", "cancelled", "running")]
    line_row = make.submission(owner, status="scored")
    line_row.storage_key = "reference/version-1/acceptance-line.json"  # recorded values, no model
    session.commit()
    assert moderation.rescore_all(session=session) == [rows[0].id, rows[1].id]
    assert [r.status for r in rows] == ["queued", "queued", "cancelled", "running"]
    assert line_row.status == "scored"
    assert broker.llen("validate") == 2


def test_hide_and_unhide(session: Session, rows: Rows) -> None:
    submission = rows.submission(rows.user("r"), status="scored")
    assert moderation.hide(session=session, submission_id=submission.id).is_hidden
    assert not moderation.hide(session=session, submission_id=submission.id, hidden=False).is_hidden


# --- public API -------------------------------------------------------------------------------


def test_api_tasks_and_versions_never_show_hidden_specs(
    session: Session, client: TestClient, demo_dir: Path
) -> None:
    assert client.get("/api/v1/tasks").json() == {"version": None, "items": []}
    gt = _gt(session, demo_dir)
    rows = _with_lines(session, "noise", hidden=("haze(A=0.85,beta=1.5) + blur",))
    service.sample_hidden(session=session, per_order=1, seed=11)
    for row in service.list_tasks(session=session):
        row.acceptance_psnr, row.excellence_psnr = row.acceptance_psnr or 20.0, 22.0
    session.commit()
    versions.freeze_version(session=session, name="v1", activate=True, allow_weak_lines=True)
    hidden_specs = [t.spec for t in service.list_tasks(session=session) if t.kind == "hidden"]
    assert len(hidden_specs) == 6

    page = client.get("/api/v1/tasks")
    assert page.status_code == 200
    body = page.json()
    assert body["version"] == "v1"
    first = body["items"][0]
    assert 15.0 < first.pop("input_psnr") < 40.0  # measured at freeze: imported lines lack it
    assert first == {
        "key": "1",
        "kind": "representative",
        "order": 1,
        "spec": rows[0].spec,
        "acceptance_psnr": 25.0,
        "excellence_psnr": 22.0,
        "line_marks": ["excellence not above acceptance"],
    }
    assert [(i["key"], i["spec"], i["input_psnr"]) for i in body["items"][1:]] == [
        (f"h0{n}", None, None) for n in range(1, 7)
    ]
    listing = client.get("/api/v1/versions")
    detail = client.get("/api/v1/versions/v1")
    assert listing.json()[0]["tasks"] == {"representative": 1, "hidden": 6}
    assert listing.json()[0]["images"] == {"gt": 7, "real": 0}
    assert detail.json()["image_sets"][0]["name"] == gt.name
    assert detail.json()["image_sets"][0]["images"] == 7
    assert "seed" not in detail.json()
    assert detail.json()["measurement"] == {
        "metric_convention": "rgb,crop=4,8bit",
        "metric_convention_text": "PSNR: RGB, 8-bit, 4-px border cropped",
        "foreign_lines": None,
        "real_world_max_side": None,
    }
    for response in (page, listing, detail, client.get("/api/v1/tasks?version=v1")):
        for spec in hidden_specs:
            assert spec not in response.text
    missing = client.get("/api/v1/versions/nope")
    assert missing.status_code == 404
    assert missing.json()["detail"]["code"] == "not_found"
    assert client.get("/api/v1/tasks?version=nope").status_code == 404
