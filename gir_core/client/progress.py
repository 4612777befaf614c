"""Progress on stderr: a live line on a terminal, one line per change otherwise, nothing quiet.

stdout carries only results (a summary, a table, one JSON object), so ``gir submit --json |
jq`` and CI logs both work: a CI log is not a terminal and gets a readable line per change
instead of carriage-return animations.
"""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 24
_CLEAR = "\r\033[K"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A text bar for ``fraction`` in [0, 1].

    >>> bar(0.5, 8)
    '[####----]'
    """
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def duration(seconds: float) -> str:
    """A short human duration.

    >>> duration(5), duration(75), duration(3725)
    ('5s', '1m15s', '1h02m')
    """
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Progress:
    """Where progress goes; ``live`` (default: stderr is a terminal) redraws one line."""

    def __init__(
        self, *, quiet: bool = False, stream: TextIO | None = None, live: bool | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = self.stream.isatty() if live is None else live
        self._last = ""
        self._open = False

    def show(self, text: str) -> None:
        """A state: redrawn in place when live, else printed once per change."""
        if self.quiet or text == self._last:
            return
        self._last = text
        if self.live:
            self.stream.write(_CLEAR + text)
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line that stays (a notice, a step finished)."""
        if self.quiet:
            return
        self.end()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end(self) -> None:
        """Finish the live line, so what follows starts on a line of its own."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
        self._last = ""


class UploadBar:
    """The upload's bar: every chunk when live, every 10 % otherwise (a line per change)."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress, self.label = progress, label

    def __call__(self, sent: int, total: int) -> None:
        fraction = sent / total if total else 1.0
        step = fraction if self.progress.live else int(fraction * 10) / 10
        mib = f"{sent / 2**20:.1f}/{total / 2**20:.1f} MiB" if self.progress.live else ""
        text = f"{self.label} {bar(step)} {step:4.0%} {mib}".rstrip()
        self.progress.show(text)
