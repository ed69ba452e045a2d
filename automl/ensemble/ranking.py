"""One ranking of a run's configurations, shared by the ensemble methods and the run's summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from automl.optimize.smac_run import TrialRecord


def ranked_configurations(trials: Sequence[TrialRecord]) -> list[TrialRecord]:
    """One entry per successful configuration, best first: judged at the highest budget it reached,
    by its mean cost over the folds it ran there (the entry's ``cost``).

    A configuration that reached a higher budget ranks above every one that did not, as successive
    halving promoted it; within a budget, lower mean cost ranks first.
    """
    groups: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        if trial.status == "success":
            groups.setdefault(json.dumps(trial.config, sort_keys=True, default=str), []).append(trial)
    ranked = []
    for group in groups.values():
        top = max(trial.budget or 0.0 for trial in group)
        at_top = [trial for trial in group if (trial.budget or 0.0) == top]
        ranked.append(replace(at_top[0], cost=sum(trial.cost for trial in at_top) / len(at_top)))
    return sorted(ranked, key=lambda trial: (-(trial.budget or 0.0), trial.cost))
