"""How far the restore steps running in this process are, for whoever watches (the `lookervault` CLI).

Runs the CLI executes in its own process call their steps in it, so a
listener registered here sees each item as it finishes. Runs launched by
the daemon have no listener: their progress is the step's own log lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lookervault_core.content_types import ContentType

__all__ = ["Listener", "report", "watching"]

#: Called with (type, items done, items in the step, items failed); done is 0 when the step starts.
Listener = Callable[[ContentType, int, int, int], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def watching(listener: Listener) -> Iterator[None]:
    """Have `listener` told of every restore step's progress in this process while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def report(content_type: ContentType, done: int, total: int, failed: int) -> None:
    """Tell the listeners how far a step is."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(content_type, done, total, failed)
