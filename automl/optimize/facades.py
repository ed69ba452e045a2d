"""The facade registry: a table of SMAC recipes, as SMAC's own facades are recipes of parts.

Each entry names the SMAC facade class; whether its trials take a budget is planning knowledge
(:mod:`automl.plan.facades`), so the planner and the optimizer read one table for that.
"""

from __future__ import annotations

from dataclasses import dataclass

from smac import (
    BlackBoxFacade,
    HyperbandFacade,
    HyperparameterOptimizationFacade,
    MultiFidelityFacade,
    RandomFacade,
)
from smac.facade.abstract_facade import AbstractFacade

from automl.errors import ConfigError
from automl.plan.facades import FACADE_INFO


@dataclass(frozen=True)
class FacadeRecipe:
    """How to build one kind of SMAC run."""

    facade: type[AbstractFacade]
    uses_budget: bool


_CLASSES: dict[str, type[AbstractFacade]] = {
    "hpo": HyperparameterOptimizationFacade,
    "mf": MultiFidelityFacade,
    "hyperband": HyperbandFacade,
    "blackbox": BlackBoxFacade,
    "random": RandomFacade,
}
FACADES: dict[str, FacadeRecipe] = {
    name: FacadeRecipe(facade, FACADE_INFO[name].uses_budget) for name, facade in _CLASSES.items()
}


def get_recipe(name: str) -> FacadeRecipe:
    """The recipe for a facade name; an unknown name lists the known ones."""
    if name not in FACADES:
        raise ConfigError(f"unknown facade '{name}': use one of {sorted(FACADES)}")
    return FACADES[name]
