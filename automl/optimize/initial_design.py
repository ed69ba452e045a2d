"""Starting points for SMAC: the default configuration, then a portfolio or every algorithm's defaults.

A short run learns most from a few strong, different configurations before the surrogate model takes
over, the way portfolio warm starts do in auto-sklearn and FLAML. For the offline writer's space the
start is the task's portfolio (``configs/portfolio_<task>.json``, built by ``benchmarks/portfolio.py``
on datasets of its own), keeping only the configurations valid in the run's space; for any other space,
or when none of the portfolio is valid, one configuration per algorithm family at its defaults.
Configurations a scenario names (a scenario file's, or a model's proposed with its scenario answer and
kept where valid, as LLAMBO's zero-shot warm starts are) come right after the default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.hyperparameters import CategoricalHyperparameter
from ConfigSpace.util import deactivate_inactive_hyperparameters

from automl._io import read_json
from automl.resources import bundled_dir

ALGORITHM = "algorithm"
PORTFOLIO_KEY = "configurations"


def algorithm_defaults(space: ConfigurationSpace) -> list[Configuration]:
    """The default configuration first, then one per other value of ``algorithm`` at its defaults."""
    default = space.get_default_configuration()
    choice = space.get(ALGORITHM)
    if not isinstance(choice, CategoricalHyperparameter):
        return [default]
    configs = [default]
    for value in choice.choices:
        if value == default[ALGORITHM]:
            continue
        values = {name: hp.default_value for name, hp in space.items()}
        values[ALGORITHM] = value
        configs.append(deactivate_inactive_hyperparameters(values, space))
    return configs


def load_portfolio(task: str) -> list[dict[str, Any]]:
    """The bundled portfolio of ``task`` (``configs/portfolio_<task>.json``): configuration dictionaries, best first.

    No file (a task without a portfolio) is an empty list.
    """
    path = bundled_dir("configs") / f"portfolio_{task}.json"
    if not path.is_file():
        return []
    return [dict(values) for values in read_json(path)[PORTFOLIO_KEY]]


def as_configuration(
    space: ConfigurationSpace, values: dict[str, Any], unset: Iterable[str] = (), origin: str = ""
) -> Configuration:
    """``values`` as a configuration of ``space``, less the hyperparameters in ``unset``.

    Raises ValueError, as ConfigSpace does for an unknown name, an illegal value, an inactive
    hyperparameter set or an active one unset, and a forbidden combination.
    """
    unset = set(unset)
    config = Configuration(space, values={name: value for name, value in values.items() if name not in unset})
    config.check_valid_configuration()
    config.origin = origin
    return config


def portfolio_starts(
    space: ConfigurationSpace,
    portfolio: Iterable[dict[str, Any]],
    unset: Iterable[str] = (),
    origin: str = "Initial design: portfolio",
) -> list[Configuration]:
    """The default configuration first, then each portfolio configuration that is valid in ``space``, in order.

    ``unset`` names hyperparameters to leave out of every portfolio configuration first (those a
    multi-fidelity budget sets instead of the search, which the space no longer has). A configuration
    naming a hyperparameter or value the space lacks (a family the planner dropped, another ``--space``)
    is skipped, as is one equal to an earlier start.
    """
    starts = [space.get_default_configuration()]
    for values in portfolio:
        try:
            config = as_configuration(space, values, unset, origin)
        except ValueError:
            continue
        if config not in starts:
            starts.append(config)
    return starts


def valid_starts(
    space: ConfigurationSpace, proposed: Iterable[dict[str, Any]], unset: Iterable[str] = ()
) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    """The proposed starting configurations valid in ``space`` (less ``unset``), and a note for each one dropped,
    saying why in ConfigSpace's words."""
    kept: list[dict[str, Any]] = []
    notes: list[str] = []
    for number, values in enumerate(proposed, start=1):
        try:
            kept.append(dict(as_configuration(space, values, unset)))
        except (ValueError, TypeError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            notes.append(f"initial_configurations: dropped proposed configuration {number} {values!r}: {reason}")
    return tuple(kept), notes


def initial_configurations(
    space: ConfigurationSpace, portfolio: Iterable[dict[str, Any]] = (), unset: Iterable[str] = ()
) -> list[Configuration]:
    """SMAC's starts: the default, then the portfolio's valid configurations, else every algorithm's defaults."""
    starts = portfolio_starts(space, portfolio, unset)
    return starts if len(starts) > 1 else algorithm_defaults(space)
