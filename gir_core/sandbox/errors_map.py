"""Turn any exception from a model into (code, sentence, reason) and back into our typed errors.

The child cannot send exception objects, only a code, a message and a reason; the parent turns
them back into :class:`~gir_core.errors.ModelError` subclasses so the service stores a specific
reason.

Two audiences read a failure. While a model runs on public inputs only (``gir check``, the
service's contract check on its probe images) its owner gets the full message: shapes, values,
the exception text — all computed from inputs anyone can make. Once it has seen hidden inputs
(scoring), anything it controls — an exception text, an output's shape, a NaN count, how long it
took — could carry those inputs out, so the owner reads only :func:`scoring_sentence`: a fixed
sentence per failure class, the same whatever the model did; the message goes to the operator's
log.
"""

from __future__ import annotations

import re

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
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without terminal escapes, control and bidi characters (tabs, line feeds kept).

    For what a model writes and its owner reads: it must not redraw a terminal or reorder a page.

    Example:
        >>> printable("\x1b[31mred\x1b[0m\x07 ok")
        'red ok'
    """
    return _CONTROL.sub("", _ESCAPES.sub("", text))


def first_line(error: BaseException) -> str:
    """The first line of an exception's text, bounded and without control characters (a model
    writes it: it must not redraw a terminal or a page), for a submitter-facing sentence."""
    lines = printable(str(error)).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def classify(error: BaseException) -> tuple[str, str, str]:
    """Map an exception raised in the child to a (code, sentence, reason) triple."""
    if isinstance(error, ModelError):
        return error.code, str(error), error.reason
    text = str(error).lower()
    if isinstance(error, MemoryError) or any(hint in text for hint in _MEMORY_HINTS):
        return SandboxLimitError.code, "the model ran out of its memory limit", "memory"
    if any(hint in text for hint in _ACCESS_HINTS):
        sentence = (
            "the model tried to access a file, device or the network, which the sandbox forbids "
            f"({first_line(error)})"
        )
        return SandboxViolationError.code, sentence, SandboxViolationError.code
    sentence = f"the model raised {type(error).__name__}: {first_line(error)}"
    return ModelCrashError.code, sentence, ModelCrashError.code


def to_exception(code: str, message: str, reason: object = None) -> ModelError:
    """Rebuild the typed error the child reported (an unknown reason becomes the code's own)."""
    cls = ERRORS.get(code, ModelCrashError)
    known = reason if isinstance(reason, str) and reason in SCORING_SENTENCES else None
    return cls(message, reason=known)


# Fixed text per failure class for a model that has seen hidden inputs. Nothing here may be
# filled in from the failure: every submission failing in one class reads the same words.
SCORING_SENTENCES: dict[str, str] = {
    "shape": "the output shape differs from the input shape on a scoring input",
    "output_type": "the model did not return one image tensor on a scoring input",
    "not_finite": "the output contains NaN or infinite values on a scoring input",
    "range": "the output values lie far outside [0, 1] on a scoring input",
    "time": "the model exceeded a time limit while scoring",
    "memory": "the model exceeded its memory limit while scoring",
    SandboxLimitError.code: "the model hit a sandbox limit (memory, CPU or time) while scoring",
    SandboxViolationError.code: (
        "the model tried to access a file, device or the network while scoring, which the "
        "sandbox forbids"
    ),
    ModelCrashError.code: (
        "the model raised an error or crashed while scoring (its message is withheld: during "
        "scoring it could carry hidden test data; reproduce with `gir eval` on your own images)"
    ),
    ContractError.code: "the model broke the input/output contract on a scoring input",
    ModelFormatError.code: "the model could not be loaded for scoring",
    DeviceUnavailableError.code: (
        "the worker could not run the model on the device it is configured for (a problem of the "
        "worker, not of the model; an operator can see the details)"
    ),
}
"""The owner's sentence per ``reason`` (else per ``code``) once a model has seen hidden inputs."""


def scoring_sentence(error: ModelError) -> str:
    """The fixed sentence an owner reads when ``error`` ended a run that saw hidden inputs.

    Chosen from the error's class (its ``reason``, else its ``code``); never its message.
    """
    fallback = SCORING_SENTENCES.get(error.code, SCORING_SENTENCES[ModelCrashError.code])
    return SCORING_SENTENCES.get(error.reason, fallback)
