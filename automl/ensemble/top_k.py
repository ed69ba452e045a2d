"""The best few configurations, averaged with equal weights.

Averaging a handful of strong configurations is steadier than trusting the one that ranked first on
a small validation split, and it needs nothing but the run history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from automl.ensemble.base import Member
from automl.ensemble.ranking import ranked_configurations
from automl.optimize.smac_run import TrialRecord
from automl.optimize.validation import Validation

# How many of the best configurations are refit and averaged by default.
DEFAULT_SIZE = 5


@dataclass(frozen=True)
class TopKAverage:
    """The ``size`` best distinct configurations (see :func:`ranked_configurations`), weight 1 each."""

    size: int = DEFAULT_SIZE
    name: str = "top_k_average"

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"an ensemble needs at least one member, got size={self.size}")

    def select(self, trials: Sequence[TrialRecord], validation: Validation | None = None) -> tuple[Member, ...]:
        return tuple(Member(trial, 1.0) for trial in ranked_configurations(trials)[: self.size])
