"""Exit codes of the client commands and the one error type that carries them.

A CI system acts on the code; a person reads the sentence. The table is shown in
``gir submit --help`` and the README from :data:`EXIT_TABLE`, so the two cannot drift apart.
"""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What a client command's exit status means."""

    OK = 0
    FAILED = 1
    USAGE = 2
    BELOW_THRESHOLD = 3
    SERVICE = 4
    TIMEOUT = 5


EXIT_TABLE = (
    (Exit.OK, "done: scored and every given threshold met (or submitted, without --wait)"),
    (Exit.FAILED, "the submission failed or was cancelled (the failure sentence is printed)"),
    (Exit.USAGE, "bad arguments, no token, or an unreadable/invalid model file"),
    (Exit.BELOW_THRESHOLD, "scored, but below --min-ar or --min-er (which one, by how much)"),
    (Exit.SERVICE, "the service could not be reached, refused the token or the quota is used up"),
    (Exit.TIMEOUT, "--timeout passed before the submission ended (it keeps running)"),
)


def exit_help() -> str:
    """The exit-code table as help text (one paragraph per code, as Click keeps them)."""
    return "\n\n".join(f"{int(code)}: {meaning}" for code, meaning in EXIT_TABLE)


class ClientError(Exception):
    """A failure reported as one sentence and an exit code (never with the token in it)."""

    def __init__(self, message: str, code: Exit, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status  # the HTTP status it came from; None: no answer at all

    @property
    def transient(self) -> bool:
        """No answer, or a server error: worth asking again (a refusal or 4xx is not)."""
        return self.code == Exit.SERVICE and (self.status is None or self.status >= 500)
