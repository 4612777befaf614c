"""The sandbox holes of issue #13 stay closed: Unix sockets, io_uring, Landlock gaps, orphans.

Each attack runs in the real sandbox child (no mocks), under the confinement model code runs
under (probes are sent after the model is loaded), and each test first shows the attack works
outside the sandbox, so a refusal is the sandbox's doing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gir_core.contract import check_model, probe_image
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel, SandboxLimits, landlock, lifeline, probes
from tests.support import procs

FAST = SandboxLimits(memory_mb=1536, image_seconds=5.0, load_seconds=60.0, total_seconds=120.0)
PG_SOCKET = "/var/run/postgresql/.s.PGSQL.5432"
REFUSED = "failed: [Errno 1] Operation not permitted"


@pytest.fixture
def unix_socket() -> Iterator[str]:
    """PostgreSQL's socket where the host has one, else a listener of our own anyone may reach."""
    if os.path.exists(PG_SOCKET):
        yield PG_SOCKET
        return
    folder = tempfile.mkdtemp(prefix="gir-unix-")
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "listener.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        os.chmod(path, 0o777)
        server.listen(4)
        yield path
    os.unlink(path)
    os.rmdir(folder)


# -- item 8: seccomp ------------------------------------------------------------------------------


def test_unix_socket_and_io_uring_are_refused(models: dict[str, Path], unix_socket: str) -> None:
    attacks = {"unix": unix_socket, "io_uring": True}
    assert probes.run(attacks) == {"unix": "succeeded", "io_uring": "succeeded"}  # unconfined
    with SandboxedModel(models["invert_ts"], limits=FAST) as sandbox:
        assert sandbox.probe(**attacks) == {"unix": REFUSED, "io_uring": REFUSED}
        protections = sandbox.protections
    assert {"no Unix sockets (seccomp)", "no io_uring (seccomp)"} <= set(protections)


@pytest.mark.parametrize("model", ["invert_ts", "invert_onnx"])
def test_intra_op_threads_still_run(models: dict[str, Path], model: str) -> None:
    """seccomp lets clone(CLONE_THREAD) through: torch and onnxruntime start their pools."""
    image = probe_image(512, 512)
    with SandboxedModel(models[model], RunOptions(threads=4), FAST) as sandbox:
        for _ in range(3):
            assert np.allclose(sandbox.run(image), 1.0 - image, atol=1e-6)
        assert sandbox._process is not None
        threads = len(os.listdir(f"/proc/{sandbox._process.pid}/task"))
    assert threads >= 4, f"{model}: {threads} threads in the child"


# -- item 8: Landlock ABI gaps ---------------------------------------------------------------


def test_each_protection_a_newer_landlock_abi_adds_is_missing_by_name_below_it() -> None:
    names = [name for _, name, _ in landlock.ABI_PROTECTIONS]
    assert names == [
        "file truncation (Landlock)",
        "TCP (Landlock)",
        "device IOCTL (Landlock)",
        "signals and abstract Unix sockets (Landlock)",
    ]
    missing = {abi: [n for n, ok, _ in landlock.abi_protections(abi) if not ok] for abi in range(8)}
    assert missing[0] == missing[1] == missing[2] == names
    assert missing[3] == names[1:]
    assert missing[4] == names[2:]
    assert missing[5] == names[3:]
    assert missing[6] == missing[7] == []
    reasons = dict((n, why) for n, _, why in landlock.abi_protections(3))
    assert reasons["TCP (Landlock)"] == (
        "TCP connect and bind not restricted: the kernel offers Landlock ABI 3, needs 4"
    )
    assert reasons["device IOCTL (Landlock)"].endswith("ABI 3, needs 5")


def test_gir_check_reports_the_landlock_gaps_of_this_kernel(models: dict[str, Path]) -> None:
    from gir_core.cli.check_cmd import describe

    report = check_model(models["invert_onnx"], limits=FAST)
    abi = landlock.abi_version()
    for name, ok, detail in landlock.abi_protections(abi):
        line = f"  {'active   ' if ok else 'MISSING  '} {name}: {detail}"
        assert line in describe(report).splitlines(), (abi, line)


# -- item 5: children die with their parent -------------------------------------------------------

PARENT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gir_core.contract import probe_image
    from gir_core.sandbox import SandboxedModel, SandboxLimits

    sandbox = SandboxedModel(Path(sys.argv[1]), limits=SandboxLimits(image_seconds=600.0))
    sandbox.start()
    print(sandbox._process.pid, flush=True)
    sandbox.run(probe_image(64, 64))  # an endless loop: the parent is killed in here
    """
)


def test_killed_parent_takes_its_busy_child_along(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = tmp_path / "run"
    monkeypatch.setenv("GIR_SANDBOX_RUN_DIR", str(run_dir))
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(models["endless_loop"])], stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        busy = procs.cpu_ticks(child)
        while procs.cpu_ticks(child) < busy + 20:  # the model's loop is running
            time.sleep(0.05)
        assert lifeline.reap_orphans(run_dir) == []  # its parent lives: not an orphan
        assert procs.alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert procs.gone_within(child, 5.0), f"model process {child} outlived its killed parent"
    finally:
        parent.kill()
        parent.wait()
    record = run_dir / f"{child}.json"
    assert record.exists()  # kill -9: nobody cleaned up ...
    assert lifeline.reap_orphans(run_dir) == []  # ... the reaper finds the child dead already
    assert not record.exists()


def test_a_closed_sandbox_leaves_neither_process_nor_record(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIR_SANDBOX_RUN_DIR", str(tmp_path))
    with SandboxedModel(models["invert_onnx"], limits=FAST) as sandbox:
        assert sandbox._process is not None
        child = sandbox._process.pid
        assert os.getpgid(child) == child  # its own process group
        assert sandbox.probe(pdeathsig=True) == {"pdeathsig": str(int(signal.SIGKILL))}
        assert [p.name for p in tmp_path.iterdir()] == [f"{child}.json"]
    assert not procs.alive(child)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_start_kills_the_child(models: dict[str, Path], tmp_path: Path) -> None:
    sandbox = SandboxedModel(models["custom_domain"], limits=FAST)
    with pytest.raises(Exception, match="custom op domain"):
        sandbox.start()
    assert sandbox._process is None and sandbox._workdir is None


def test_a_child_whose_parent_died_before_it_asked_exits_at_once() -> None:
    """The race: parent gone before PR_SET_PDEATHSIG. getppid() differs, so the child leaves."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    child = subprocess.run(
        [sys.executable, "-I", "-m", lifeline.CHILD_MODULE, str(dead.pid)],
        input=b"", capture_output=True, timeout=60,
    )  # fmt: skip
    assert child.returncode == lifeline.EXIT_ORPHANED, child.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping root needs root")
def test_dropping_root_clears_the_death_signal_so_the_child_asks_again() -> None:
    code = textwrap.dedent(
        """
        import os
        from gir_core.sandbox import lifeline, probes
        lifeline.die_with_parent(os.getppid())
        before = probes.pdeath_signal()
        os.setresuid(65534, 65534, 65534)
        cleared = probes.pdeath_signal()
        lifeline.die_with_parent(os.getppid())
        print(before, cleared, probes.pdeath_signal())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, timeout=60)
    assert out.stdout.split() == [b"9", b"0", b"9"]


# -- item 5: reaping what a crashed worker left ----------------------------------------------


def test_reaper_kills_orphans_and_nothing_else(tmp_path: Path) -> None:
    folder = lifeline.private_dir(tmp_path / "run")
    dead_pid, dead_start = procs.dead_process()
    me = (os.getpid(), lifeline.start_time(os.getpid()) or 0)
    orphan, sibling = procs.waiting_child(), procs.waiting_child()
    unrelated = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.5)
        started = {p.pid: lifeline.start_time(p.pid) or 0 for p in (orphan, sibling, unrelated)}
        records = {
            # a child whose worker is dead: the one to kill
            "orphan": lifeline.ChildRecord(orphan.pid, started[orphan.pid], dead_pid, dead_start),
            # a child whose worker still runs (another worker on this host)
            "sibling": lifeline.ChildRecord(sibling.pid, started[sibling.pid], *me),
            # a pid now used by an unrelated process: not a sandbox child
            "unrelated": lifeline.ChildRecord(
                unrelated.pid, started[unrelated.pid], dead_pid, dead_start
            ),
        }
        for record in records.values():
            procs.write_record(folder, record)
        # the right pid with another start time: a reused pid, not the recorded process
        reused = lifeline.ChildRecord(sibling.pid, started[sibling.pid] - 1, dead_pid, dead_start)
        procs.write_record(folder, reused, "reused.json")

        assert lifeline.reap_orphans(folder) == [orphan.pid]
        assert orphan.wait(timeout=5) == -signal.SIGKILL
        assert sibling.poll() is None and unrelated.poll() is None
        assert sorted(p.name for p in folder.iterdir()) == [f"{sibling.pid}.json"]
    finally:
        for process in (orphan, sibling, unrelated):
            process.kill()
            process.wait()


def test_reaper_refuses_a_folder_others_can_write(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    with pytest.raises(OSError, match="not private"):
        lifeline.reap_orphans(folder)
