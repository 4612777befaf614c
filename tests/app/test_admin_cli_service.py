"""`gir-admin` against the test database: each command commits through its own session, so these
tests use ``live_db`` (tables emptied afterwards). Bad input is one sentence on stderr, exit 2;
hidden specs are printed only with ``--show-hidden``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from app.admin_cli import EXIT_BAD_INPUT, app
from app.auth.models import User
from app.benchmarks.models import BenchmarkVersion, ImageSet, TaskDef
from app.settings import get_settings
from app.submissions.models import Submission
from gir_core.demo import write_demo_images
from gir_core.hidden import hidden_tasks
from gir_core.tasks import DEGRADATION_VERSION
from tests.support.factories import Rows

runner = CliRunner()


def gir_admin(*args: str, ok: bool = True) -> Result:
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def assert_bad_input(result: Result, *fragments: str) -> None:
    """Exit 2 and exactly one line on stderr, a sentence naming the problem."""
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-gt")
    write_demo_images(folder, max_side=32)
    return folder


@pytest.fixture
def db(live_db: Engine) -> Iterator[Session]:
    """A session to check what the commands committed."""
    with Session(live_db) as session:
        yield session


def _set_name() -> str:
    return f"gt-{uuid.uuid4().hex[:8]}"


def test_init_creates_the_first_admin_then_users_commands(db: Session) -> None:
    created = gir_admin("init", "--email", "Root@Example.org", "--password", "correct horse 1")
    assert "database migrated" in created.output
    assert "created administrator root@example.org" in created.output
    again = gir_admin("init")
    assert "an administrator exists already (root@example.org)" in again.output
    gir_admin(
        "users",
        "create",
        "--email",
        "ann@example.org",
        "--name",
        "Ann",
        "--password",
        "pw-long-enough",
    )
    assert_bad_input(
        gir_admin(
            "users",
            "create",
            "--email",
            "ann@example.org",
            "--name",
            "A",
            "--password",
            "pw-long-enough",
            ok=False,
        ),
        "already exists",
    )
    assert (
        "ann@example.org is now an administrator"
        in gir_admin("users", "promote", "ann@example.org").output
    )
    assert_bad_input(gir_admin("users", "promote", "nobody@example.org", ok=False), "no account")
    listing = gir_admin("users", "list").output.splitlines()
    assert [line.split()[1:3] for line in listing] == [
        ["admin", "root@example.org"],
        ["admin", "ann@example.org"],
    ]
    assert db.scalar(select(User.is_admin).where(User.email == "ann@example.org")) is True


def test_images_commands_import_and_refuse_bad_folders(
    db: Session, demo_dir: Path, tmp_path: Path
) -> None:
    name = _set_name()
    out = gir_admin("images", "add-gt", str(demo_dir), "--name", name).output
    assert f"added gt set '{name}': 7 images (32×32)" in out
    assert_bad_input(
        gir_admin("images", "add-gt", str(demo_dir), "--name", name, ok=False), "exists already"
    )
    assert_bad_input(
        gir_admin("images", "add-gt", str(tmp_path), "--name", "x", ok=False), "no image files"
    )
    assert_bad_input(
        gir_admin("images", "add-real", str(demo_dir), "--name", "r1", "--kind", " ", ok=False),
        "needs a kind",
    )
    gir_admin("images", "add-real", str(demo_dir), "--name", _set_name(), "--kind", "old photo")
    roles = db.scalars(select(ImageSet.role).order_by(ImageSet.id))
    assert list(roles) == ["gt", "real"]
    assert "old photo" in gir_admin("images", "list").output


def test_hidden_specs_are_printed_only_with_show_hidden(db: Session) -> None:
    assert "added 50 representative tasks" in gir_admin("tasks", "add-representative").output
    sampled = gir_admin("tasks", "sample-hidden", "--per-order", "1").output
    assert sampled.strip() == "added 5 hidden tasks: h01, h02, h03, h04, h05"
    again = gir_admin("tasks", "sample-hidden", "--per-order", "1").output
    assert again.strip() == "added 0 hidden tasks: none (the pool holds them all already)"
    gir_admin("tasks", "add", "haze(A=0.77,beta=1.3) + noise", "--hidden")
    seed = get_settings().hidden_seed
    hidden = [str(task) for task in hidden_tasks(seed, per_order=1)] + [
        "haze(A=0.77,beta=1.3) + noise(sigma=20)"
    ]
    assert (
        list(db.scalars(select(TaskDef.spec).where(TaskDef.kind == "hidden").order_by(TaskDef.key)))
        == hidden
    )
    plain = gir_admin("tasks", "list").output
    lines_out = gir_admin("lines", "show").output
    for text in (sampled, plain, lines_out):
        assert not any(spec in text for spec in hidden)
    assert "h02  hidden         k=2  (hidden)" in plain
    assert "h06  hidden         k=2  (hidden)" in plain
    assert "   50  representative k=5  haze" in plain
    revealed = gir_admin("tasks", "list", "--show-hidden").output
    assert all(spec in revealed for spec in hidden)
    duplicate = gir_admin("tasks", "add", "haze(A=0.77, beta=1.3) + noise(sigma=20)", ok=False)
    assert_bad_input(duplicate, "as task h06")
    assert "haze" not in duplicate.stderr


def test_lines_import_csv_errors_are_sentences(db: Session, tmp_path: Path) -> None:
    gir_admin("tasks", "add", "noise")
    gir_admin("tasks", "add", "blur", "--hidden")
    head = "task,kind,psnr,gt_hash,degradation_version,seed,metric_convention,network,profile,"
    head += "iterations,train_set_hash,train_seed,code_version,created_at\n"
    tail = ",2,1,rgb,crop=4,8bit,x,demo,10,abc,0,v,2026-12-04\n"
    cases = {
        "task_id,acceptance_psnr\n1,20\n": "lacks the provenance columns",
        head + "1,acceptance,abc,h" + tail: "line 2, column 'psnr': 'abc' is not a number",
        head + "1,best,20,h" + tail: "column 'kind': 'best' is not acceptance or excellence",
        head + "9,acceptance,20,h" + tail: "neither a pool key nor a task in the pool",
        head + "1,acceptance,20,h,2,x,rgb,v,p,1,t,0,c,\n": "column 'seed': 'x' is not an integer",
        head + "1,acceptance,20,h,2,1,rgb,v,p,1,t,0,c,\n": "is not a metric convention",
        head + "1,acceptance,20,h,2,1,rgb,crop=4,8bit,v,p,1,t,0,c,soon\n": "is not a date",
        "": "is empty",
    }
    for number, (text, fragment) in enumerate(cases.items()):
        path = tmp_path / f"bad{number}.csv"
        path.write_text(text.replace("rgb,crop=4,8bit", '"rgb,crop=4,8bit"'))
        assert_bad_input(gir_admin("lines", "import", str(path), ok=False), fragment)
    assert_bad_input(
        gir_admin("lines", "import", str(tmp_path / "none.csv"), ok=False), "cannot read"
    )
    legacy = {
        "task_id,acceptance_psnr\n1,20\n": "missing column 'excellence_psnr'",
        "task_id,acceptance_psnr,excellence_psnr\n1,abc,21\n": (
            "line 2, column 'acceptance_psnr': 'abc' is not a number"
        ),
        "task_id,acceptance_psnr,excellence_psnr\n1,20,21\n9,20,21\n": "not in the pool: 9",
    }
    for number, (text, fragment) in enumerate(legacy.items()):
        path = tmp_path / f"legacy{number}.csv"
        path.write_text(text)
        result = gir_admin("lines", "import", str(path), "--foreign", "paper", ok=False)
        assert_bad_input(result, fragment)
    good = tmp_path / "lines.csv"
    good.write_text("task_id,acceptance_psnr,excellence_psnr\n1,30.5,32\nh01,20,21.25\n")
    imported = gir_admin("lines", "import", str(good), "--foreign", "Table C.1").output
    assert "imported lines for 2 tasks as foreign lines (Table C.1)" in imported
    shown = gir_admin("lines", "show").output.splitlines()
    # The input PSNR ("-": imported lines come without it) is measured when a version freezes.
    assert shown[1].split() == [
        "1", "representative", "1", "-", "30.50", "32.00", "imported:lines.csv"
    ]  # fmt: skip
    assert shown[2].startswith("       acceptance: imported:lines.csv · FOREIGN: Table C.1")
    assert shown[4].split() == ["h01", "hidden", "1", "-", "20.00", "21.25", "imported:lines.csv"]


def test_freeze_refuses_missing_lines_and_one_version_is_active(
    db: Session, demo_dir: Path, tmp_path: Path
) -> None:
    gir_admin("images", "add-gt", str(demo_dir), "--name", _set_name())
    gir_admin("tasks", "add", "noise")
    gir_admin("tasks", "add", "blur")
    gir_admin("tasks", "add", "noise(sigma=7)", "--hidden")
    assert_bad_input(
        gir_admin("versions", "freeze", "v1", ok=False), "tasks without lines: 1, 2, h01"
    )
    csv_path = tmp_path / "l.csv"
    csv_path.write_text("task_id,acceptance_psnr,excellence_psnr\n1,20,21\n2,22,23\nh01,18,19\n")
    gir_admin("lines", "import", str(csv_path), "--foreign", "hand-made")
    # Lines below the degraded inputs (noise σ=7 alone scores ~31 dB) are refused, then
    # allowed with the flag; the demo photos are package-shipped, so --activate needs
    # --public-gt.
    weak = gir_admin("versions", "freeze", "v1", "--activate", ok=False)
    assert_bad_input(weak, "task h01: below the input")
    assert "--allow-weak-lines" in weak.output
    h01 = next(r for r in gir_admin("lines", "show").output.splitlines() if r.split()[0] == "h01")
    assert "[below the input]" in h01
    assert float(h01.split()[3]) > 25.0  # the measured input PSNR, shown next to the lines
    public = gir_admin("versions", "freeze", "v1", "--activate", "--allow-weak-lines", ok=False)
    assert_bad_input(public, "photos shipped in installed packages")
    assert "astronaut.png" in public.output and "--public-gt" in public.output
    out = gir_admin(
        "versions", "freeze", "v1", "--activate", "--allow-weak-lines", "--public-gt"
    ).output
    assert "PSNR: RGB, 8-bit, 4-px border cropped" in out
    assert "AR/ER of v1 are against foreign lines: hand-made" in out
    fit = gir_admin("lines", "show").output.splitlines()[-1]
    assert re.fullmatch(
        r"lines must fit: gt_hash [0-9a-f]{64} \(GT set '.+'\), degradation_version "
        + DEGRADATION_VERSION
        + ", seed GIR_HIDDEN_SEED",
        fit,
    )
    listed = gir_admin("versions", "list").output
    assert "rgb,crop=4,8bit  FOREIGN LINES: hand-made" in listed
    assert (
        "froze v1 (active): 2 representative + 1 hidden tasks, 7 GT and 0 real-world images" in out
    )
    v1 = db.scalar(select(BenchmarkVersion).where(BenchmarkVersion.name == "v1"))
    assert v1 is not None and v1.gt_public
    assert all(vt.input_psnr is not None for vt in v1.tasks)
    gir_admin("versions", "freeze", "v2", "--allow-weak-lines")
    assert "v2 is now the active version" in gir_admin("versions", "activate", "v2").output
    assert_bad_input(
        gir_admin("versions", "activate", "v9", ok=False), "no benchmark version named 'v9'"
    )
    assert_bad_input(gir_admin("versions", "freeze", "v2", ok=False), "exists already")
    active = db.scalars(select(BenchmarkVersion.name).where(BenchmarkVersion.is_active))
    assert list(active) == ["v2"]
    listing = gir_admin("versions", "list").output.splitlines()
    assert listing[0].startswith("* v2") and listing[1].startswith("  v1")


def test_lines_train_one_task_with_the_tiny_profile(db: Session, demo_dir: Path) -> None:
    gir_admin("images", "add-gt", str(demo_dir), "--name", _set_name())
    gir_admin("tasks", "add", "blur")
    assert_bad_input(gir_admin("lines", "train", ok=False), "either --task KEY or --all")
    assert_bad_input(gir_admin("lines", "train", "--task", "1", "--all", ok=False), "either")
    assert_bad_input(gir_admin("lines", "train", "--task", "7", ok=False), "no task with key '7'")
    out = gir_admin("lines", "train", "--task", "1", "--profile", "tiny", "--threads", "1").output
    assert "task 1: acceptance" in out
    task = db.scalar(select(TaskDef).where(TaskDef.key == "1"))
    assert task is not None and task.line_source == "trained:tiny"
    assert task.acceptance_psnr is not None and 15 < task.acceptance_psnr < 60


def test_select_dry_run_adds_nothing(db: Session, demo_dir: Path) -> None:
    gir_admin("images", "add-gt", str(demo_dir), "--name", _set_name())
    out = gir_admin(
        "tasks", "select", "--order", "1", "--n", "2", "--candidates", "6", "--dry-run"
    ).output
    assert "would add 2; 0 were in the pool already" in out
    assert db.scalar(select(TaskDef)) is None
    assert_bad_input(
        gir_admin("tasks", "select", "--order", "1", "--n", "9", "--candidates", "6", ok=False),
        "n_clusters",
    )


def test_submissions_moderation_commands(db: Session, broker: redis.Redis) -> None:
    committed = Rows(db, commit=True)  # the command opens its own session
    owner = committed.user("o")
    scored = committed.submission(owner, status="scored").id
    failed = committed.submission(owner, status="failed").id
    hours_ago = datetime.now(UTC) - timedelta(hours=2)
    stale = committed.submission(owner, status="queued", created_at=hours_ago).id
    assert_bad_input(gir_admin("submissions", "rescore", ok=False), "submission ID or --all")
    assert_bad_input(
        gir_admin("submissions", "rescore", "999999", ok=False), "no submission 999999"
    )
    assert "queued 1 submission(s)" in gir_admin("submissions", "rescore", str(scored)).output
    assert_bad_input(gir_admin("submissions", "rescore", str(scored), ok=False), "is queued")
    assert "queued 1 submission(s)" in gir_admin("submissions", "rescore", "--all").output
    assert "is hidden" in gir_admin("submissions", "hide", str(failed)).output
    assert "requeued 1, failed 0" in gir_admin("submissions", "requeue-stale").output
    db.expire_all()
    assert [db.get(Submission, i).status for i in (scored, failed, stale)] == ["queued"] * 3
    assert db.get(Submission, failed).is_hidden
    assert broker.llen("validate") == 3
