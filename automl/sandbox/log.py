"""A child's output, copied into its log file with a bound, and the log's tail for messages."""

from __future__ import annotations

from pathlib import Path

LOG_TAIL_CHARS = 4000


class BoundedLog:
    """Copies a child's output into its log file, keeping the first ``limit`` bytes.

    The parent does the copying while it waits anyway, so a flood of output costs the trial
    nothing and can neither fill the disk nor block the child on a full pipe.
    """

    def __init__(self, path: Path, limit: int) -> None:
        self._handle = path.open("ab")
        self._left = limit

    def write(self, chunk: bytes) -> None:
        if self._left <= 0:
            return
        kept = chunk[: self._left]
        self._handle.write(kept)
        self._left -= len(kept)
        if self._left <= 0:
            self._handle.write(b"\n[automl: output truncated here]\n")

    def close(self) -> None:
        self._handle.close()


def tail(path: Path) -> str:
    """The end of a log file, bounded, for reports and repair messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - LOG_TAIL_CHARS))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
