"""Progress while a run works: stage messages and a trial bar with the best loss so far.

The runner talks to a :class:`Progress`; the CLI passes one drawing with rich, the Python API a
silent one unless asked, so the library itself never prints.
"""

from __future__ import annotations

import math
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar


class Progress(Protocol):
    """Receives the run's milestones."""

    def stage(self, message: str) -> None: ...
    def start_trials(self, total: int | None) -> None: ...  # None: no trial cap, the walltime ends the search
    def trial_done(self, cost: float, status: str) -> None: ...
    def stop_trials(self) -> None: ...


class SilentProgress:
    """Ignores everything: for library use."""

    def stage(self, message: str) -> None:
        pass

    def start_trials(self, total: int | None) -> None:
        pass

    def trial_done(self, cost: float, status: str) -> None:
        pass

    def stop_trials(self) -> None:
        pass


class ConsoleProgress:
    """Prints stages and draws a bar of finished trials with the best loss so far."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._bar: RichBar | None = None
        self._task = None
        self._best = math.inf
        self._failed = 0

    def stage(self, message: str) -> None:
        self._console.print(f"[bold cyan]•[/] {escape(message)}")  # a column name or path may hold brackets

    def start_trials(self, total: int | None) -> None:
        self._bar = RichBar(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn() if total is not None else TextColumn("{task.completed}"),
            TextColumn("best loss {task.fields[best]}"),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task("trials", total=total, best="-", failed="")

    def trial_done(self, cost: float, status: str) -> None:
        if status == "success":
            self._best = min(self._best, cost)
        else:
            self._failed += 1
        if self._bar is not None and self._task is not None:
            self._bar.update(
                self._task,
                advance=1,
                best=f"{self._best:.4f}" if math.isfinite(self._best) else "-",
                failed=f"({self._failed} failed)" if self._failed else "",
            )

    def stop_trials(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
