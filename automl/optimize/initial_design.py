"""Starting points for SMAC: the default configuration, then a portfolio or every algorithm's defaults.

A short run learns most from a few strong, different configurations before the surrogate model takes
over, the way portfolio warm starts do in auto-sklearn and FLAML. For the offline writer's space the
start is the task's portfolio (``configs/portfolio_<task>.json``, built by ``benchmarks/portfolio.py``
on datasets of its own), keeping only the configurations valid in the run's space; for any other space,
or when none of the portfolio is valid, one configuration per algorithm family at its defaults.
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


def portfolio_starts(
    space: ConfigurationSpace, portfolio: Iterable[dict[str, Any]], unset: Iterable[str] = ()
) -> list[Configuration]:
    """The default configuration first, then each portfolio configuration that is valid in ``space``, in order.

    ``unset`` names hyperparameters to leave out of every portfolio configuration first (those a
    multi-fidelity budget sets instead of the search, which the space no longer has). A configuration
    naming a hyperparameter or value the space lacks (a family the planner dropped, another ``--space``)
    is skipped, as is one equal to an earlier start.
    """
    unset = set(unset)
    starts = [space.get_default_configuration()]
    for values in portfolio:
        try:
            config = Configuration(space, values={name: value for name, value in values.items() if name not in unset})
            config.check_valid_configuration()
        except ValueError:  # ConfigSpace's unknown, illegal, inactive-but-set, active-but-unset and forbidden
            continue
        if config not in starts:
            config.origin = "Initial design: portfolio"
            starts.append(config)
    return starts


def initial_configurations(
    space: ConfigurationSpace, portfolio: Iterable[dict[str, Any]] = (), unset: Iterable[str] = ()
) -> list[Configuration]:
    """SMAC's starts: the default, then the portfolio's valid configurations, else every algorithm's defaults."""
    starts = portfolio_starts(space, portfolio, unset)
    return starts if len(starts) > 1 else algorithm_defaults(space)
