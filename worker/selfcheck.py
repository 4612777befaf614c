"""The worker's start-up sandbox self-check: which protections does this machine give models?

A worker on a kernel without Landlock, or one that cannot drop root, still runs — refusing
would take the service down — but every missing protection is logged loudly at WARNING, one
line each, so an operator cannot miss that untrusted models run with less confinement.
Before that, it kills model processes a crashed worker on this host left behind.
"""

from __future__ import annotations

import logging

from onnx import TensorProto, helper

from gir_core.errors import ModelError
from gir_core.sandbox import SandboxedModel, lifeline
from worker.sandboxing import HOST, sandbox_setup

log = logging.getLogger(__name__)

SELF_CHECK_SECONDS = 120.0  # one model load; the self-check runs no images


def identity_model() -> bytes:
    """A one-node ONNX identity model: the cheapest thing a sandbox can load and run."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["output"])], "id", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    return bytes(model.SerializeToString())


def sandbox_protections() -> tuple[dict[str, str], dict[str, str]]:
    """Start a sandbox as the worker would for a submission; (active, missing) protections.

    The device the model actually ran on is logged too: with ``GIR_DEVICE=cuda`` on a host
    whose runtimes cannot reach the GPU, the load itself fails with a sentence saying why.
    """
    options, limits = sandbox_setup(total_seconds=SELF_CHECK_SECONDS)
    with SandboxedModel(identity_model(), options, limits) as sandbox:
        info = sandbox.info
        if info is not None:
            log.info("models on %s run on %s (%s)", HOST, info.device,
                     info.provider or "unknown runtime")  # fmt: skip
        return dict(sandbox.protections), dict(sandbox.missing)


def reap_leftovers() -> None:
    """Kill the sandbox children whose worker died (their records outlived it); log each."""
    try:
        killed = lifeline.reap_orphans()
    except OSError as error:
        log.warning("SANDBOX PROTECTION MISSING on %s: orphan reaping (%s)", HOST, error)
        return
    for pid in killed:
        log.warning("killed model process %s left behind by a crashed worker on %s", pid, HOST)


def report_sandbox(**_: object) -> None:
    """``worker_ready`` handler: reap leftovers, log active protections, each missing one loudly."""
    reap_leftovers()
    try:
        active, missing = sandbox_protections()
    except ModelError as error:
        log.error("SANDBOX SELF-CHECK FAILED on %s: models cannot run here: %s", HOST, error)
        return
    log.info("sandbox self-check on %s: %d protections active: %s", HOST, len(active),
             ", ".join(active))  # fmt: skip
    for name, reason in missing.items():
        log.warning("SANDBOX PROTECTION MISSING on %s: %s (%s)", HOST, name, reason)
