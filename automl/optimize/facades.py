"""The facade registry: a table of SMAC recipes, as SMAC's own facades are recipes of parts.

Each entry names the SMAC facade class and whether its trials take a budget; the optimizer reads
the table and adds no per-facade logic of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from smac import HyperparameterOptimizationFacade
from smac.facade.abstract_facade import AbstractFacade

from automl.errors import ConfigError


@dataclass(frozen=True)
class FacadeRecipe:
    """How to build one kind of SMAC run."""

    facade: type[AbstractFacade]
    uses_budget: bool


FACADES: dict[str, FacadeRecipe] = {
    "hpo": FacadeRecipe(HyperparameterOptimizationFacade, uses_budget=False),
}


def get_recipe(name: str) -> FacadeRecipe:
    """The recipe for a facade name; an unknown name lists the known ones."""
    if name not in FACADES:
        raise ConfigError(f"unknown facade '{name}': use one of {sorted(FACADES)}")
    return FACADES[name]
