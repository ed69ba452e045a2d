"""The interface every ensemble method offers: trials (and their validation predictions) in, weighted members out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from automl.optimize.smac_run import TrialRecord
from automl.optimize.validation import Validation


@dataclass(frozen=True)
class Member:
    """One configuration of the final model: its trial entry and its relative weight (> 0)."""

    trial: TrialRecord
    weight: float


class EnsembleMethod(Protocol):
    """Chooses the final model's members from a run history."""

    name: str
    size: int  # the most members it selects: the refit's share of the walltime is sized by it

    def select(self, trials: Sequence[TrialRecord], validation: Validation | None = None) -> tuple[Member, ...]:
        """Members best first: the refit stage refits them in this order while time allows.

        ``validation`` holds the trials' validation predictions and the run's metric, for methods
        that judge combinations (None: a run without them, e.g. one resumed from before they existed).
        """
        ...
