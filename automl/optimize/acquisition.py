"""SMAC's default acquisition maximizer, with its local search started in a reproducible order.

SMAC 2.4's ``LocalSearch._get_init_points_from_previous_configs`` de-duplicates the local search's
start points through a ``set`` of configurations and returns ``list(that_set)``. A configuration
hashes its ``repr``, a string, and Python salts string hashes per process (``PYTHONHASHSEED``), so
the start points come out in a different order in every process. The order matters: each start
point draws the seed of its neighbourhood from the shared random state in turn, and ties in the
acquisition value are broken by a shuffle of the candidates in that order. Two runs with the same
seed therefore proposed different configurations once the surrogate model took over, although every
trial of a configuration was reproducible (within one process the order is stable, so only separate
runs showed it).

:class:`ReproducibleLocalAndSortedRandomSearch` is the maximizer the HPO facade builds, with the
same settings, except that the start points are put back into the order SMAC was given them in
(the run history's configurations, then the random search's best). It is passed to the facade
through its public ``acquisition_maximizer`` argument; SMAC's own code is not patched.
"""

from __future__ import annotations

import itertools

from ConfigSpace import Configuration, ConfigurationSpace
from smac import HyperparameterOptimizationFacade, Scenario
from smac.acquisition.maximizer import LocalAndSortedRandomSearch, LocalSearch
from smac.facade.abstract_facade import AbstractFacade

# The settings of HyperparameterOptimizationFacade.get_acquisition_maximizer (SMAC 2.4);
# tests/test_optimize.py checks that the maximizer below matches the facade's own.
CHALLENGERS = 10000
LOCAL_SEARCH_ITERATIONS = 10


class _OrderedLocalSearch(LocalSearch):
    """SMAC's local search, with its start points in first-seen order instead of set order."""

    def _get_init_points_from_previous_configs(
        self,
        previous_configs: list[Configuration],
        n_points: int,
        additional_start_points: list[tuple[float, Configuration]] | None,
    ) -> list[Configuration]:
        # SMAC picks the points (and draws from its random state) as always; only their order changes.
        points = super()._get_init_points_from_previous_configs(previous_configs, n_points, additional_start_points)
        first_seen: dict[Configuration, int] = {}
        extra = (config for _, config in additional_start_points or [])
        for position, config in enumerate(itertools.chain(previous_configs, extra)):
            first_seen.setdefault(config, position)
        return sorted(points, key=first_seen.__getitem__)


class ReproducibleLocalAndSortedRandomSearch(LocalAndSortedRandomSearch):
    """``LocalAndSortedRandomSearch`` whose local search starts from its points in a fixed order."""

    def __init__(
        self,
        configspace: ConfigurationSpace,
        *,
        challengers: int = CHALLENGERS,
        local_search_iterations: int = LOCAL_SEARCH_ITERATIONS,
        seed: int = 0,
    ) -> None:
        super().__init__(
            configspace, challengers=challengers, local_search_iterations=local_search_iterations, seed=seed
        )
        # The parent builds its LocalSearch with LocalSearch's defaults and this seed; so does this one.
        self._local_search = _OrderedLocalSearch(configspace=configspace, seed=seed)


def acquisition_maximizer(
    facade: type[AbstractFacade], scenario: Scenario
) -> ReproducibleLocalAndSortedRandomSearch | None:
    """The reproducible maximizer for a facade that uses the HPO facade's; None leaves the facade's own."""
    if facade.get_acquisition_maximizer is not HyperparameterOptimizationFacade.get_acquisition_maximizer:
        return None
    return ReproducibleLocalAndSortedRandomSearch(scenario.configspace, seed=scenario.seed)
