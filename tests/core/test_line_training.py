"""Line training that scales: GPU options on the CPU, resumable runs, the demo profile's shape."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from gir_core.baselines import (
    PatchSampler,
    TrainingOptions,
    build_net,
    fit,
    get_profile,
    options_from_env,
    select_device,
)
from gir_core.baselines.producers import default_producers
from gir_core.errors import ParameterError
from gir_core.tasks import Task

TINY = replace(get_profile("tiny"), iterations=12, log_every=4, batch_size=2)


def test_device_selection_and_the_sentence_for_absent_cuda() -> None:
    assert select_device("auto", cuda_available=False) == torch.device("cpu")
    assert select_device("auto", cuda_available=True) == torch.device("cuda")
    assert select_device("cuda:1", cuda_available=True) == torch.device("cuda:1")
    with pytest.raises(ParameterError, match=r"torch sees no CUDA device.*GIR_LINES_DEVICE=cpu"):
        select_device("cuda", cuda_available=False)
    with pytest.raises(ParameterError, match="use auto, cpu or cuda"):
        select_device("tpu", cuda_available=False)


def test_options_from_the_environment() -> None:
    on_gpu = options_from_env(
        {"GIR_LINES_DEVICE": "cuda", "GIR_LINES_PER_GPU": "4", "GIR_LINES_PRODUCERS": "6"},
        cuda_available=True,
    )
    assert on_gpu.device == torch.device("cuda")
    assert (on_gpu.amp, on_gpu.cudnn_benchmark, on_gpu.pin_memory) == ("bf16", True, True)
    assert (on_gpu.per_gpu, on_gpu.producers) == (4, 6)
    assert on_gpu.autocast_dtype("excellence") == torch.bfloat16
    assert on_gpu.autocast_dtype("acceptance") is None  # too small a net to gain from it
    fp16 = options_from_env(
        {"GIR_LINES_DEVICE": "cuda", "GIR_LINES_AMP": "fp16"}, cuda_available=True
    )
    assert fp16.autocast_dtype("excellence") == torch.float16
    on_cpu = options_from_env({"GIR_LINES_DEVICE": "auto"}, cuda_available=False)
    assert on_cpu.device == torch.device("cpu")
    assert (on_cpu.amp, on_cpu.cudnn_benchmark, on_cpu.pin_memory) == ("none", False, False)


@pytest.mark.parametrize(
    ("env", "sentence"),
    [
        ({"GIR_LINES_DEVICE": "cuda"}, "torch sees no CUDA device"),
        ({"GIR_LINES_AMP": "fp16"}, "fp16 needs a CUDA device"),
        ({"GIR_LINES_AMP": "half"}, "one of none, bf16, fp16"),
        ({"GIR_LINES_PER_GPU": "0"}, "GIR_LINES_PER_GPU must be an integer ≥ 1"),
        ({"GIR_LINES_PRODUCERS": "many"}, "GIR_LINES_PRODUCERS must be an integer ≥ 0"),
        ({"GIR_LINES_CHECKPOINT_EVERY": "-5"}, "GIR_LINES_CHECKPOINT_EVERY must be"),
    ],
)
def test_bad_options_are_refused_with_a_sentence(env: dict[str, str], sentence: str) -> None:
    with pytest.raises(ParameterError, match=sentence):
        options_from_env(env, cuda_available=False)


def test_default_producers_leave_a_core_for_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GIR_LINES_PRODUCERS", raising=False)
    assert default_producers(2) == 1
    assert default_producers(16) == 15
    assert default_producers(1) == 1
    monkeypatch.setenv("GIR_LINES_PRODUCERS", "0")
    assert default_producers(16) == 0


def _sampler() -> PatchSampler:
    rng = np.random.default_rng(0)
    images = [rng.random((48, 48, 3), dtype=np.float32) for _ in range(2)]
    task = Task.parse("noise(sigma=20)")
    return PatchSampler(task, images, patch_size=16, batch_size=2, entropy=(3, task.key))


class MemoryCheckpoints:
    """A checkpoint store in memory that counts saves."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.saves = 0

    def load(self) -> bytes | None:
        return self.data

    def save(self, data: bytes) -> None:
        self.data, self.saves = data, self.saves + 1


class KilledError(Exception):
    """Stands for the job being killed between two log points."""


def _train(store: MemoryCheckpoints | None, kill_at: int | None = None) -> torch.nn.Module:
    torch.manual_seed(0)
    net = build_net("excellence", TINY)

    def progress(done: int, _total: int, _loss: float) -> None:
        if kill_at is not None and done >= kill_at:
            raise KilledError

    options = TrainingOptions(checkpoint_every=4, producers=1)
    fit(net, _sampler(), TINY, kind="excellence", seed=0, options=options,
        progress=progress, checkpoints=store)  # fmt: skip
    return net


def test_a_killed_run_resumes_from_its_checkpoint_and_ends_where_an_uninterrupted_one_does() -> (
    None
):
    with torch.random.fork_rng(devices=[]):
        whole = _train(None)
        store = MemoryCheckpoints()
        with pytest.raises(KilledError):
            _train(store, kill_at=12)  # checkpoints after steps 4 and 8, killed at 12
        assert store.saves == 2 and store.data is not None
        resumed = _train(store)  # a fresh net, its state loaded from step 8
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_bf16_autocast_trains_the_excellence_net_on_the_cpu() -> None:
    torch.manual_seed(0)
    net = build_net("excellence", TINY)
    before = [p.detach().clone() for p in net.parameters()]
    options = TrainingOptions(amp="bf16", producers=0)
    record = fit(net, _sampler(), TINY, kind="excellence", seed=0, options=options)
    assert all(np.isfinite(record.losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    assert all(p.dtype == torch.float32 for p in net.parameters())  # master weights stay fp32


def test_demo_profile_gives_the_excellence_net_its_own_steps() -> None:
    demo = get_profile("demo")
    assert demo.for_kind("acceptance") is demo
    excellence = demo.for_kind("excellence")
    assert excellence.iterations == demo.excellence_iterations > demo.iterations
    assert excellence.lr_start == (demo.excellence_lr_start or demo.lr_start)
    assert demo.acceptance_start == "identity"
    paper = get_profile("paper")
    assert paper.for_kind("excellence").iterations == paper.iterations == 500_000
    assert paper.acceptance_start == "default"  # the authors' SRCNN starts from torch's init
