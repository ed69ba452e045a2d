"""Ctrl-C during the search stops it gracefully: the running trials finish, the best so far is kept.

The first Ctrl-C asks SMAC to stop after the trial it is waiting for (SMAC saves its state after
every trial, so nothing finished is lost and the run can be resumed); a second one aborts at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any


class StopRequest:
    """Set by the first Ctrl-C; SMAC's callback polls it after every trial."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.requested = False
        self._announce = announce

    def __call__(self) -> bool:
        return self.requested

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self._announce("stopping after the running trial; the best so far is refit and saved (Ctrl-C again aborts)")


@contextlib.contextmanager
def graceful_interrupts(announce: Callable[[str], None]) -> Iterator[StopRequest]:
    """Route Ctrl-C to a :class:`StopRequest` while the block runs (main thread only; elsewhere it is inert)."""
    stop = StopRequest(announce)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, stop._on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
