"""Hostile models end in their specific error; the parent survives and scores the next model.

Every model here runs in the real sandbox child (no mocks): Landlock, namespaces, seccomp and
rlimits are whatever this kernel offers, and the tests assert the behaviour a submitter sees.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest

from gir_core.contract import check_model, probe_image
from gir_core.errors import (
    ContractError,
    ModelCrashError,
    ModelError,
    ModelFormatError,
    SandboxLimitError,
    SandboxViolationError,
)
from gir_core.runners import RunOptions
from gir_core.sandbox import SandboxedModel, SandboxLimits

FAST = SandboxLimits(memory_mb=1536, image_seconds=5.0, load_seconds=60.0, total_seconds=120.0)


def _assert_good_model_still_works(models: dict[str, Path]) -> None:
    image = probe_image(40, 56)
    with SandboxedModel(models["invert_onnx"], limits=FAST) as sandbox:
        assert np.array_equal(sandbox.run(image), 1.0 - image)


@pytest.mark.parametrize(
    ("name", "error", "sentence"),
    [
        ("nan_output", ContractError, "output contains NaN for a 64×64 input"),
        ("one_channel", ContractError, "output has 1 channel, expected 3"),
        ("wrong_shape", ContractError, "output is [1, 3, 32, 32] for a [1, 3, 64, 64] input"),
        ("scaled_255", ContractError, "did the model scale to 0-255?"),
        ("custom_domain", ContractError, "ONNX uses custom op domain 'x'"),
        ("external_data_onnx", ContractError, "ONNX references external data files"),
        ("truncated_pt", ModelFormatError, "truncated or damaged"),
        ("truncated_onnx", ModelFormatError, "truncated or damaged"),
        ("zip_bomb_pt", ModelFormatError, "possible zip bomb"),
        ("checkpoint_pt", ModelFormatError, "torch.save checkpoint, not TorchScript"),
        ("not_a_model_bin", ModelFormatError, "neither ONNX"),
    ],
)
def test_contract_failures_are_specific_sentences(
    models: dict[str, Path], name: str, error: type[ModelError], sentence: str
) -> None:
    with pytest.raises(error) as caught:
        check_model(models[name], limits=FAST)
    assert sentence in str(caught.value)
    _assert_good_model_still_works(models)


def test_memory_bomb_hits_the_memory_limit(models: dict[str, Path]) -> None:
    # A generous clock: on a loaded machine filling 1.5 GiB may take longer than FAST allows,
    # and the test is about which limit names the failure.
    limits = SandboxLimits(memory_mb=1536, image_seconds=120.0, total_seconds=240.0)
    with pytest.raises(SandboxLimitError, match="memory"):
        check_model(models["memory_bomb"], limits=limits)
    _assert_good_model_still_works(models)


def test_memory_watchdog_catches_what_rlimits_do_not(models: dict[str, Path]) -> None:
    # Without RLIMIT_AS (as on GPU hosts) the parent's RSS watchdog must still stop the bomb.
    limits = SandboxLimits(memory_mb=512, kernel_memory_limits=False, image_seconds=20.0)
    with pytest.raises(SandboxLimitError, match="memory limit of 512 MiB"):
        check_model(models["memory_bomb"], limits=limits)


def test_endless_loop_hits_the_wall_clock_limit(models: dict[str, Path]) -> None:
    limits = SandboxLimits(image_seconds=2.0)
    with pytest.raises(SandboxLimitError, match=r"limit of 2 s on a 64×64 input"):
        check_model(models["endless_loop"], limits=limits)
    _assert_good_model_still_works(models)


def test_cpu_time_limit_kills_the_child(models: dict[str, Path]) -> None:
    limits = SandboxLimits(cpu_seconds=2, image_seconds=30.0)
    with pytest.raises(SandboxLimitError, match="CPU-time limit"):
        check_model(models["endless_loop"], limits=limits)


def test_reading_a_file_outside_the_sandbox_is_a_violation(models: dict[str, Path]) -> None:
    with pytest.raises(SandboxViolationError, match="sandbox forbids"):
        check_model(models["file_reader"], limits=FAST)
    _assert_good_model_still_works(models)


def test_harness_network_file_and_env_probes(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIR_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("GIR_DATABASE_URL", "postgresql://secret@db/gir")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with SandboxedModel(models["invert_onnx"], limits=FAST) as sandbox:
            results = sandbox.probe(
                connect=["127.0.0.1", port],
                read=str(models["secret"]),
                write="written-by-model.txt",
                env=True,
            )
            workdir = sandbox._workdir
    assert results["connect"].startswith("failed"), results
    assert results["read"].startswith("failed"), results
    assert results["write"].startswith("failed"), results
    assert "GIR_" not in results["env"]
    assert set(results["env"].split(",")) <= {
        "PATH", "LANG", "LC_ALL", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH",
        "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONDONTWRITEBYTECODE",
    }  # fmt: skip
    assert workdir is not None and not os.path.exists(workdir)


@pytest.mark.parametrize("threads", [1, 2])
def test_protections_are_reported(models: dict[str, Path], threads: int) -> None:
    report = check_model(models["invert_onnx"], RunOptions(threads=threads), limits=FAST)
    active = set(report.protections)
    assert {"file access (Landlock)", "network namespace", "no new processes (seccomp)"} <= active
    assert {"memory (RLIMIT_AS)", "CPU time", "file writes (RLIMIT_FSIZE=0)"} <= active
    for name, reason in report.missing.items():
        assert reason, name  # every missing protection says why


def test_oversized_model_file_is_refused_before_spawning(models: dict[str, Path]) -> None:
    with pytest.raises(SandboxLimitError, match="over the limit of 0 MiB"):
        SandboxedModel(models["invert_onnx"], limits=SandboxLimits(max_model_mb=0))


def test_a_dead_child_is_a_crash_not_a_hang(models: dict[str, Path]) -> None:
    sandbox = SandboxedModel(models["invert_onnx"], limits=FAST)
    sandbox.start()
    try:
        assert sandbox._process is not None
        sandbox._process.kill()
        sandbox._process.wait()
        with pytest.raises((ModelCrashError, SandboxLimitError)):
            sandbox.run(probe_image(16, 16))
    finally:
        sandbox.close()


def test_options_reach_the_child(models: dict[str, Path]) -> None:
    image = probe_image(50, 70)
    options = RunOptions(size_multiple=8, tile=32, overlap=8)
    with SandboxedModel(models["invert_ts"], options, FAST) as sandbox:
        assert np.allclose(sandbox.run(image), 1.0 - image, atol=1e-6)
