"""One ranking of a run's configurations, shared by the ensemble methods and the run's summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from automl.optimize.smac_run import TrialRecord


@dataclass(frozen=True)
class RankedConfiguration:
    """A configuration at the highest budget it reached: its mean-cost entry and the trials behind it (one per fold)."""

    entry: TrialRecord
    trials: tuple[TrialRecord, ...]


def configuration_key(trial: TrialRecord) -> str:
    """The same text for every trial of one configuration (any seed, fold or budget)."""
    return json.dumps(trial.config, sort_keys=True, default=str)


def ranked_groups(trials: Sequence[TrialRecord]) -> list[RankedConfiguration]:
    """One group per successful configuration, best first: judged at the highest budget it reached,
    by its mean cost over the folds it ran there (the entry's ``cost``).

    A configuration that reached a higher budget ranks above every one that did not, as successive
    halving promoted it; within a budget, lower mean cost ranks first.
    """
    groups: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        if trial.status == "success":
            groups.setdefault(configuration_key(trial), []).append(trial)
    ranked = []
    for group in groups.values():
        top = max(trial.budget or 0.0 for trial in group)
        at_top = tuple(trial for trial in group if (trial.budget or 0.0) == top)
        entry = replace(at_top[0], cost=sum(trial.cost for trial in at_top) / len(at_top))
        ranked.append(RankedConfiguration(entry, at_top))
    return sorted(ranked, key=lambda group: (-(group.entry.budget or 0.0), group.entry.cost))


def ranked_configurations(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The entries of :func:`ranked_groups`: one per configuration, best first."""
    return [group.entry for group in ranked_groups(trials)]
