"""Turn any exception from a model into (code, sentence) and back into our typed errors.

The child cannot send exception objects, only a code and a message; the parent turns them back
into :class:`~gir_core.errors.ModelError` subclasses so the service stores a specific reason.
"""

from __future__ import annotations

from gir_core.errors import (
    ContractError,
    DeviceUnavailableError,
    ModelCrashError,
    ModelError,
    ModelFormatError,
    SandboxLimitError,
    SandboxViolationError,
)

ERRORS: dict[str, type[ModelError]] = {
    cls.code: cls
    for cls in (
        ContractError,
        ModelCrashError,
        ModelFormatError,
        SandboxLimitError,
        SandboxViolationError,
        DeviceUnavailableError,
    )
}
_MEMORY_HINTS = ("can't allocate memory", "bad_alloc", "failed to allocate", "out of memory")
_ACCESS_HINTS = ("permission denied", "operation not permitted", "errno 13", "errno 1]")


def first_line(error: BaseException) -> str:
    """The first line of an exception's text, bounded, for a submitter-facing sentence."""
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def classify(error: BaseException) -> tuple[str, str]:
    """Map an exception raised in the child to a (code, sentence) pair."""
    if isinstance(error, ModelError):
        return error.code, str(error)
    text = str(error).lower()
    if isinstance(error, MemoryError) or any(hint in text for hint in _MEMORY_HINTS):
        return SandboxLimitError.code, "the model ran out of its memory limit"
    if any(hint in text for hint in _ACCESS_HINTS):
        return SandboxViolationError.code, (
            "the model tried to access a file, device or the network, which the sandbox forbids "
            f"({first_line(error)})"
        )
    return ModelCrashError.code, f"the model raised {type(error).__name__}: {first_line(error)}"


def to_exception(code: str, message: str) -> ModelError:
    """Rebuild the typed error the child reported."""
    return ERRORS.get(code, ModelCrashError)(message)
