"""The progress of long `lookervault` work on stderr: done/total, rate and ETA.

On a terminal one live line, rewritten in place and cleared when the step
ends (the summary on stdout follows); elsewhere (a log, a pipe) a line every
few seconds at most, so that a quick run prints none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

from lookervault_core.content_types import ContentType

__all__ = ["ProgressLine", "progress_interval"]

#: Seconds between lines when stderr is not a terminal, unless LOOKERVAULT_PROGRESS_SECONDS says otherwise.
DEFAULT_INTERVAL_S = 5.0
#: Seconds between rewrites of the live line on a terminal.
TTY_INTERVAL_S = 0.1


def progress_interval() -> float:
    """Seconds between progress lines off a terminal (LOOKERVAULT_PROGRESS_SECONDS, default 5)."""
    value = os.environ.get("LOOKERVAULT_PROGRESS_SECONDS", "")
    try:
        return max(0.0, float(value)) if value else DEFAULT_INTERVAL_S
    except ValueError:
        return DEFAULT_INTERVAL_S


class ProgressLine:
    """A `progress.Listener` writing to `stream` (stderr)."""

    def __init__(self, stream: TextIO, *, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.interval = TTY_INTERVAL_S if self.tty else (progress_interval() if interval is None else interval)
        self.clock = clock
        self._started = 0.0
        self._last = 0.0
        self._shown = False

    def __call__(self, content_type: ContentType, done: int, total: int, failed: int) -> None:
        now = self.clock()
        if done == 0:
            self._started = self._last = now
            return
        finished = done >= total
        if finished and self.tty:
            self._clear()
            return
        if finished or now - self._last < self.interval:
            return
        self._last = now
        rate = done / max(now - self._started, 1e-9)
        text = (f"{content_type.plural}: {done}/{total} done, {failed} failed, {rate:.1f} items/s, "
                f"ETA {(total - done) / rate:.0f} s")
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self._shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
