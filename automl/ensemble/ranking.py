"""One ranking of a run's configurations, shared by the ensemble methods and the run's summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from automl.optimize.smac_run import TrialRecord


@dataclass(frozen=True)
class RankedConfiguration:
    """A configuration at the highest budget it reached: its mean-cost entry and the trials behind it (one per fold)."""

    entry: TrialRecord
    trials: tuple[TrialRecord, ...]


def configuration_key(trial: TrialRecord) -> str:
    """The same text for every trial of one configuration (any seed, fold or budget) in one round: a later
    round's train.py may be other code, so its trials of an equal configuration are another model."""
    keyed = trial.config if trial.round == 1 else {"__round__": trial.round, **trial.config}
    return json.dumps(keyed, sort_keys=True, default=str)


def ranked_groups(trials: Sequence[TrialRecord]) -> list[RankedConfiguration]:
    """One group per successful configuration, best first: judged at the highest budget it reached,
    by its mean cost over the folds it ran there (the entry's ``cost``), each fold's cost taken
    relative to that fold's median.

    A configuration that reached a higher budget ranks above every one that did not, as successive
    halving promoted it; within a budget, lower cost ranks first. Folds differ in difficulty (a
    fold's costs can be several times another's), and SMAC's intensifier runs most configurations on
    a few folds only: a raw mean would rank whichever configuration happened to run on the easy folds
    first. Relative to each fold's median, configurations that ran every fold keep their order.
    """
    successful = [trial for trial in trials if trial.status == "success"]
    groups: dict[str, list[TrialRecord]] = {}
    for trial in successful:
        groups.setdefault(configuration_key(trial), []).append(trial)
    medians = _fold_medians(successful)
    ranked, relative = [], {}
    for key, group in groups.items():
        top = max(trial.budget or 0.0 for trial in group)
        at_top = tuple(trial for trial in group if (trial.budget or 0.0) == top)
        entry = replace(at_top[0], cost=sum(trial.cost for trial in at_top) / len(at_top))
        relative[key] = sum(trial.cost - medians[_fold(trial)] for trial in at_top) / len(at_top)
        ranked.append(RankedConfiguration(entry, at_top))
    return sorted(ranked, key=lambda group: (-(group.entry.budget or 0.0), relative[configuration_key(group.entry)]))


def _fold(trial: TrialRecord) -> tuple[float, str]:
    return trial.budget or 0.0, trial.instance or ""


def _fold_medians(trials: Sequence[TrialRecord]) -> dict[tuple[float, str], float]:
    """The median cost of the trials run on each (budget, fold)."""
    costs: dict[tuple[float, str], list[float]] = {}
    for trial in trials:
        costs.setdefault(_fold(trial), []).append(trial.cost)
    return {fold: float(np.median(values)) for fold, values in costs.items()}


def ranked_configurations(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The entries of :func:`ranked_groups`: one per configuration, best first."""
    return [group.entry for group in ranked_groups(trials)]
