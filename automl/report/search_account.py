"""A compact account of a search, for the writer that revises it between rounds.

A model can only improve a search it can read, and it reads best what is short: the best loss each
algorithm reached, the few best configurations, which hyperparameters mattered, the failures grouped by
their error, what a trial costs and what time is left. Everything here comes from the run history.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ConfigSpace import ConfigurationSpace
from ConfigSpace.hyperparameters import CategoricalHyperparameter

from automl.ensemble.ranking import ranked_groups
from automl.optimize.smac_run import TrialRecord
from automl.report.importance import hyperparameter_importance

TOP_CONFIGURATIONS = 5
TOP_ERRORS = 5
ERROR_CHARS = 200


def algorithm_choice(space: ConfigurationSpace) -> str | None:
    """The categorical hyperparameter that most others are conditioned on (the algorithm), or None."""
    parents = Counter(condition.parent.name for condition in space.conditions if hasattr(condition, "parent"))
    choices = [name for name, _ in parents.most_common() if isinstance(space.get(name), CategoricalHyperparameter)]
    return choices[0] if choices else None


def search_account(
    trials: Sequence[TrialRecord],
    space: ConfigurationSpace,
    *,
    loss_name: str,
    round_number: int,
    rounds: int,
    seconds_left: float,
    trials_left: int | None,
    seed: int = 0,
) -> dict[str, Any]:
    """What the search of rounds 1 to ``round_number`` (of ``rounds``) found, as JSON-ready values.

    Losses are what SMAC minimized (lower is better): ``loss_name`` (the run's metric as a loss) on the
    validation rows, a configuration's averaged over the cross-validation folds it ran. Algorithms and
    configurations are in the order of :func:`automl.ensemble.ranking.ranked_groups` (with folds: by
    loss relative to each fold's median, as the ensemble ranks them).
    ``seconds_left`` and ``trials_left`` (None: no trial cap) are what the rounds still to come share.
    """
    succeeded = [trial for trial in trials if trial.status == "success"]
    failed = [trial for trial in trials if trial.status != "success"]
    account: dict[str, Any] = {
        "round": round_number,
        "rounds": rounds,
        "loss": f"{loss_name} on the validation rows, lower is better",
        "trials": {"finished": len(trials), "succeeded": len(succeeded), "failed": len(failed)},
        "seconds_per_trial": _seconds(trials),
        "left_for_the_next_rounds": {"seconds": round(seconds_left, 1), "trials": trials_left},
    }
    ranked = ranked_groups(trials)  # best first; a configuration's loss is its mean over the folds it ran
    choice = algorithm_choice(space)
    if choice is not None:
        tried = Counter(str(trial.config.get(choice)) for trial in trials)
        best: dict[str, float] = {}
        for group in ranked:
            best.setdefault(str(group.entry.config.get(choice)), group.entry.cost)
        order = [*best, *(value for value in tried if value not in best)]
        account["by_algorithm"] = {
            value: {"trials": tried[value], "best_loss": _rounded(best[value]) if value in best else None}
            for value in order
        }
    account["top_configurations"] = [
        {"loss": _rounded(group.entry.cost), "round": group.entry.round,
         **({"folds": len(group.trials)} if group.entry.instance else {}), **group.entry.config}
        for group in ranked[:TOP_CONFIGURATIONS]
    ]  # fmt: skip
    importance = hyperparameter_importance([t.config for t in succeeded], [t.cost for t in succeeded], space,
                                           [t.budget for t in succeeded], seed)  # fmt: skip
    account["importance"] = (
        {name: _rounded(value) for name, value in zip(importance.names, importance.values, strict=True)}
        if importance.names
        else importance.note
    )
    errors = Counter(_gist(trial) for trial in failed)
    account["failures"] = [{"count": count, "error": error} for error, count in errors.most_common(TOP_ERRORS)]
    return account


def _seconds(trials: Sequence[TrialRecord]) -> dict[str, float]:
    times = [trial.wall_time for trial in trials]
    if not times:
        return {}
    return {"median": round(statistics.median(times), 2), "max": round(max(times), 2)}


def _gist(trial: TrialRecord) -> str:
    """A failure's status and the last line of its error: what groups failures of one cause."""
    lines = [line.strip() for line in trial.error.strip().splitlines() if line.strip()]
    return f"{trial.status}: {lines[-1][:ERROR_CHARS] if lines else 'no message'}"


def _rounded(value: float) -> float:
    return float(f"{value:.5g}")
