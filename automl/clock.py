"""The run's wall clock: one owner for the deadline, the time spent waiting on a model and the resume shift.

A run keeps to its walltime from start to final model. Three things move that deadline, and each
has one method here: the writer's settled scenario may lower the walltime (:meth:`Clock.limit`),
seconds spent waiting on a language model do not count against the search (:meth:`Clock.exclude`),
and a resumed run gets what SMAC had left of its search plus the refit's reserve (:meth:`Clock.resume`).
How much of the walltime is kept back for the refit is decided here too (:meth:`Clock.refit_reserve`),
and so is the report's share at the end (:meth:`Clock.report_reserve`): the deadline is when the work
before the report must end, so the report is written within the walltime too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The refit gets this many times the default configuration's verify time per fit (members' refits and bag folds),
# within bounds
# (at least REFIT_MIN_SHARE of the walltime, at most REFIT_RESERVE_SHARE of it).
REFIT_RESERVE_FACTOR = 2.0
REFIT_RESERVE_SHARE = 0.25
REFIT_MIN_SHARE = 0.1
# The incumbent's refit may run this share of the walltime past the deadline at most (else its trial model serves).
REFIT_GRACE_SHARE = 0.05
# The end of the walltime kept for writing report.html (plots, importance, pages): this share, within bounds.
REPORT_RESERVE_SHARE = 0.06
REPORT_RESERVE_MIN = 3.0
REPORT_RESERVE_MAX = 15.0


class Clock:
    """When the run started, how long it may take, and so when it must end."""

    def __init__(self, walltime: float, now: Callable[[], float] = time.perf_counter) -> None:
        self._now = now
        self.started = now()  # when this process began the run: the run's total time counts from here
        self._origin = self.started  # where the walltime counts from (moved on --resume)
        self.walltime = walltime
        self._waited: Callable[[], float] = lambda: 0.0

    def limit(self, walltime: float) -> None:
        """Use the settled scenario's walltime from now on (a model's scenario may lower the user's)."""
        self.walltime = walltime

    def exclude(self, waited: Callable[[], float]) -> None:
        """Seconds reported by ``waited`` (time spent waiting on a model's answers) push the deadline back."""
        self._waited = waited

    def resume(self, search_left: float, reserve: float) -> None:
        """A resumed run ends after what its search had left plus the refit's reserve, counted from now."""
        self._origin = self._now() - (self.walltime - self.report_reserve() - search_left - reserve)

    @property
    def deadline(self) -> float:
        """When the run's work must end (the report then has its reserve), on this clock's time scale."""
        return self._origin + self.walltime - self.report_reserve() + self._waited()

    def remaining(self) -> float:
        """Seconds until the deadline (negative once past it)."""
        return self.deadline - self._now()

    def elapsed(self) -> float:
        """Seconds since this process began the run."""
        return self._now() - self.started

    def refit_reserve(self, default_seconds: float, fits: int) -> float:
        """Seconds kept back for ``fits`` fits of the final model (refits, bag folds), each about as slow as the
        default configuration's."""
        wanted = max(REFIT_RESERVE_FACTOR * fits * default_seconds, REFIT_MIN_SHARE * self.walltime)
        return min(max(wanted, 1.0), REFIT_RESERVE_SHARE * self.walltime)

    def report_reserve(self) -> float:
        """Seconds at the end of the walltime kept for writing the report."""
        return min(max(REPORT_RESERVE_SHARE * self.walltime, REPORT_RESERVE_MIN), REPORT_RESERVE_MAX)

    def refit_grace(self) -> float:
        """The least time the incumbent's refit gets, even past the deadline."""
        return max(REFIT_GRACE_SHARE * self.walltime, 1.0)
