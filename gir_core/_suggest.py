""" "Did you mean" hints for names typed by people (task text, registry look-ups)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return a hint sentence naming the closest valid choices, or listing all of them.

    Example:
        >>> did_you_mean("blurr", ["blur", "noise"])
        "did you mean 'blur'? Valid: blur, noise"
    """
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=2, cutoff=0.5)
    valid = ", ".join(options)
    if close:
        quoted = " or ".join(f"'{c}'" for c in close)
        return f"did you mean {quoted}? Valid: {valid}"
    return f"valid: {valid}"
