"""Starting points for SMAC: every algorithm of a multi-algorithm space at its own defaults.

A short run learns most from seeing each algorithm family once before the surrogate model takes
over, the way portfolio warm starts do in auto-sklearn and FLAML.
"""

from __future__ import annotations

from ConfigSpace import Configuration, ConfigurationSpace
from ConfigSpace.hyperparameters import CategoricalHyperparameter
from ConfigSpace.util import deactivate_inactive_hyperparameters

ALGORITHM = "algorithm"


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
