"""Which configurations the smoke tests try: the default, every categorical value, the space's edges.

A crash that only one branch of a conditional space triggers (one algorithm, one scaler, a bound
of a range) should surface before SMAC spends its budget, so each branch is tried once.
"""

from __future__ import annotations

from typing import Any

from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.hyperparameters import (
    CategoricalHyperparameter,
    NumericalHyperparameter,
    OrdinalHyperparameter,
)


def complete_configuration(space: ConfigurationSpace, values: dict[str, Any]) -> Configuration | None:
    """A valid configuration from defaults overridden by ``values``; None if forbidden or invalid."""
    full = {name: hp.default_value for name, hp in space.items()}
    full.update(values)
    try:
        config = Configuration(space, values=_active(space, full))
        config.check_valid_configuration()
    except ValueError:
        return None
    return config


def _active(space: ConfigurationSpace, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the hyperparameters their parents' values switch off.

    ConfigSpace's ``deactivate_inactive_hyperparameters`` builds a Configuration per hyperparameter it
    visits (37 ms a call on the offline space, 5 s for the smoke tests' branches); this evaluates the
    conditions on plain values, repeating until nothing changes so the order of the names does not matter.
    """
    active = dict(values)
    changed = True
    while changed:
        changed = False
        for name in list(active):
            if not all(_satisfied(condition, active) for condition in space.parent_conditions_of.get(name, ())):
                del active[name]
                changed = True
    return active


def _satisfied(condition: Any, values: dict[str, Any]) -> bool:
    """Whether a condition (or conjunction) holds; a parent that is itself inactive does not satisfy it."""
    try:
        return bool(condition.satisfied_by_value(values))
    except KeyError:
        return False


def _choices(hp: Any) -> list[Any]:
    if isinstance(hp, CategoricalHyperparameter):
        return list(hp.choices)
    if isinstance(hp, OrdinalHyperparameter):
        return list(hp.sequence)
    return []


def branch_configurations(space: ConfigurationSpace) -> list[tuple[str, Configuration]]:
    """(label, configuration) for every value of every categorical, each with its parents set so it is active."""
    found: list[tuple[str, Configuration]] = []
    seen: set[tuple] = set()
    for name, hp in space.items():
        for value in _choices(hp):
            for parent_values in _activations(space, name):
                config = complete_configuration(space, {**parent_values, name: value})
                if config is not None and config.get(name) == value:
                    key = tuple(sorted(dict(config).items()))
                    if key not in seen:
                        seen.add(key)
                        found.append((f"{name}={value}", config))
                    break
    return found


def _activations(space: ConfigurationSpace, name: str) -> list[dict[str, Any]]:
    """Assignments of the parents that may make ``name`` active (one per parent value tried)."""
    parents = space.parents_of.get(name, [])
    options: list[dict[str, Any]] = [{}]
    for parent in parents:
        options = [{**option, parent.name: value} for option in options for value in _choices(parent)] or options
    return options


def edge_configurations(space: ConfigurationSpace) -> list[tuple[str, Configuration]]:
    """Per value of each top-level categorical: its numbers all at their lower, then all at their upper bounds."""
    found: list[tuple[str, Configuration]] = []
    tops = [name for name, hp in space.items() if _choices(hp) and not space.parents_of.get(name)]
    branches = [(top, value) for top in tops[:1] for value in _choices(space[top])] or [(None, None)]
    for top, value in branches:
        for edge in ("lower", "upper"):
            values = {name: getattr(hp, edge) for name, hp in space.items() if isinstance(hp, NumericalHyperparameter)}
            if top is not None:
                values[top] = value
            config = complete_configuration(space, values)
            if config is not None:
                found.append((f"{top}={value} at {edge} bounds" if top else f"{edge} bounds", config))
    return found
