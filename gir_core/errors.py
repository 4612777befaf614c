"""Our own error types, so callers (CLI, API) can turn each into a specific message or status."""


class GirError(Exception):
    """Base of every error GIR Bench raises on purpose; its message is meant for a person."""


class TaskSyntaxError(GirError, ValueError):
    """Task text that cannot be parsed; the message names the bad token and what would be valid."""


class ParameterError(GirError, ValueError):
    """A parameter outside its domain or of the wrong type; the message gives actual vs expected."""


class ImageError(GirError, ValueError):
    """An image that cannot be used: unreadable, greyscale, wrong shape, dtype or value range."""


class ModelError(GirError):
    """A submitted model cannot be scored; the message is a sentence for the submitter.

    ``code`` is a stable machine-readable reason (e.g. ``"contract"``, ``"memory"``) that the
    service stores with the failed submission. ``reason`` names the finer class of failure
    (``"shape"``, ``"not_finite"``, ``"time"``…, default: the code): while a model sees hidden
    inputs its owner reads only a fixed sentence chosen by ``reason``, never the message, which
    may carry values computed from those inputs (see :mod:`gir_core.sandbox.errors_map`).
    """

    code = "model"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or self.code


class ModelFormatError(ModelError):
    """The file is not a valid ONNX or TorchScript model (truncated, wrong format, zip bomb…)."""

    code = "format"


class ContractError(ModelError):
    """The model loads but breaks the I/O contract of SPEC §3 (shape, channels, NaN…)."""

    code = "contract"


class SandboxLimitError(ModelError):
    """The model hit a sandbox limit: memory, CPU time, wall-clock time or output size."""

    code = "limit"


class SandboxViolationError(ModelError):
    """The model tried something the sandbox forbids: reading files, writing, network."""

    code = "violation"


class ModelCrashError(ModelError):
    """The model's process died or raised an error while running."""

    code = "crash"


class DeviceUnavailableError(ModelError):
    """CUDA was asked for but cannot be used here; the message says why and what to install.

    A :class:`ModelError` only so that it crosses the sandbox's error frame with its own code;
    it is the host's fault, not the model's, and the worker treats it as an infrastructure
    failure (the operator's log, a retry), never as the owner's.
    """

    code = "device"
