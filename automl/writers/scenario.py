"""Turn a writer's proposed scenario into the one a run uses: within the user's limits, always finite.

A model may know a search needs fewer trials or shorter trials than the user allowed, but never gets
more than the user gave (and sets no trial count when the user's run is bounded by time alone), and
the crash cost must stay worse than a model that learned nothing, or SMAC would learn to prefer
configurations that crash.
"""

from __future__ import annotations

import math
from typing import Any

from automl.config import ScenarioSettings
from automl.evaluate.metric import Metric

# A crashed trial costs this many times the loss of predicting the prior when no one says otherwise.
CRASH_COST_FACTOR = 10.0
# Proposals that lower a limit: the user's value is the ceiling, and these floors (or the user's
# value, if lower) keep a model from starving the search.
FLOORS = {"n_trials": 10, "walltime_limit": 30.0, "trial_walltime_limit": 10.0, "trial_memory_limit_mb": 1024}
INTEGERS = ("n_trials", "trial_memory_limit_mb")
# Starting configurations a model may propose: a few informed guesses, not a search of its own.
MAX_PROPOSED_STARTS = 5


def default_crash_cost(metric: Metric, prior_loss: float) -> float:
    """What a crash costs when no one says: :data:`CRASH_COST_FACTOR` times the prior's loss, and for a
    score at least 1, its worst value (a trial worse than chance must not look better than a crash)."""
    floor = 1.0 if metric.greater_is_better else 0.0
    return max(CRASH_COST_FACTOR * prior_loss, floor) or 1.0


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def bounded_scenario(
    proposal: dict[str, Any], user: ScenarioSettings, metric: Metric, prior_loss: float
) -> tuple[ScenarioSettings, list[str]]:
    """The scenario to run and a note for each proposed value that was lowered, ignored or replaced.

    ``prior_loss`` is the run's loss (``metric``'s) of predicting the prior: a crash must cost more.
    """
    notes: list[str] = []
    settings: dict[str, Any] = {}
    for name, floor in FLOORS.items():
        if name not in proposal:
            continue
        value = proposal[name]
        ceiling = getattr(user, name)
        if ceiling is None:  # no trial cap of the user's: the walltime ends the search, not a model's count
            notes.append(f"{name}: ignored the proposed {value!r}: the user gave a walltime and no trial count, "
                         "so the search runs until the time is spent")  # fmt: skip
            continue
        if not _positive_number(value):
            notes.append(f"{name}: ignored the proposed {value!r} (not a positive number)")
            continue
        value = int(value) if name in INTEGERS else float(value)
        if value > ceiling:
            notes.append(f"{name}: lowered the proposed {value:g} to the user's limit {ceiling:g}")
            value = ceiling
        elif value < min(floor, ceiling):
            notes.append(f"{name}: raised the proposed {value:g} to {min(floor, ceiling):g}, the least a search needs")
            value = min(floor, ceiling)
        settings[name] = value
    if "initial_configurations" in proposal:
        starts, start_notes = proposed_starts(proposal["initial_configurations"], user)
        settings["initial_configurations"] = starts
        notes += start_notes
    if isinstance(proposal.get("deterministic"), bool):
        settings["deterministic"] = proposal["deterministic"]
    crash_cost = user.crash_cost if user.crash_cost is not None else proposal.get("crash_cost")
    if user.crash_cost is None and not (_positive_number(crash_cost) and crash_cost > prior_loss):
        if crash_cost is not None:
            notes.append(f"crash_cost: replaced the proposed {crash_cost!r}: it must be a finite number above "
                         f"the {metric.loss_name} of predicting the prior ({prior_loss:.4g})")  # fmt: skip
        crash_cost = default_crash_cost(metric, prior_loss)
    settings["crash_cost"] = round(float(crash_cost), 6)
    return user.with_overrides(**settings), notes


def proposed_starts(proposal: Any, user: ScenarioSettings) -> tuple[tuple[dict[str, Any], ...] | None, list[str]]:
    """The starting configurations a model proposed, at most :data:`MAX_PROPOSED_STARTS`, and a note for each
    change; None keeps the user's (a scenario file's own starts stand over a model's). Whether each is valid
    in the space is judged once the space is known (:func:`automl.optimize.initial_design.valid_starts`)."""
    if user.initial_configurations:
        return None, ["initial_configurations: kept the scenario file's own; the proposed ones were ignored"]
    if not isinstance(proposal, list) or not all(isinstance(start, dict) for start in proposal):
        return None, [f"initial_configurations: ignored the proposed {proposal!r}: it must be a list of "
                      "{hyperparameter: value} objects"]  # fmt: skip
    if len(proposal) > MAX_PROPOSED_STARTS:
        return tuple(proposal[:MAX_PROPOSED_STARTS]), [
            f"initial_configurations: kept the first {MAX_PROPOSED_STARTS} of the {len(proposal)} proposed"
        ]
    return tuple(proposal), []
