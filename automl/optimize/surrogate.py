"""SMAC's random-forest surrogate, with its trees' node arrays sized to the data instead of to 2**20 leaves.

SMAC 2.4's ``RandomForest`` (the HPO and multi-fidelity facades' model) passes scikit-learn
``max_leaf_nodes=2**20``. That limit never binds, but scikit-learn's best-first tree builder
allocates room for ``2 * max_leaf_nodes - 1`` nodes before it grows a tree, so every tree costs about
0.3 s of allocation whatever the data: a 10-tree refit took 1.4-5 s on 40 rows on this 2-core
machine (``benchmarks/search_curves.py``: 4 refits per 40 trials, more than the trials' own
time on 0.2 s trials; random search spends 0.04 s per trial). A tree on n rows with SMAC's
``min_samples_leaf=1`` has at most n leaves, so ``max_leaf_nodes=max(2, n)`` never binds either:
the trees are the same (same splits, same random draws), only the allocation shrinks, to 0.07 s
for the forest. Proposals, and so every run's trials, are unchanged; SMAC's code is not patched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from smac import HyperparameterOptimizationFacade, Scenario
from smac.facade.abstract_facade import AbstractFacade
from smac.model.random_forest import RandomForest
from smac.model.random_forest.random_forest import EPMRandomForest

# A best-first tree needs at least two leaves (scikit-learn rejects max_leaf_nodes below 2).
MIN_LEAVES = 2


class RightSizedRandomForest(RandomForest):
    """SMAC's ``RandomForest`` whose trees get ``max_leaf_nodes`` = the training rows (their most leaves)."""

    @property
    def meta(self) -> dict[str, Any]:
        # SMAC compares a saved run's meta with the new one on --resume and prompts when they differ; the
        # trees are SMAC's, so the meta is too, and runs saved before this class existed still resume.
        return {**super().meta, "name": RandomForest.__name__}

    def _train(self, X: np.ndarray, y: np.ndarray) -> RightSizedRandomForest:
        # As RandomForest._train (SMAC 2.4), with only the leaf limit changed; meta keeps SMAC's options.
        X = self._impute_inactive(X)
        options = {**self._rf_opts, "max_leaf_nodes": max(MIN_LEAVES, X.shape[0])}
        self._rf = EPMRandomForest(**options)
        self._rf.fit(X, y.flatten())
        return self


def surrogate_model(facade: type[AbstractFacade], scenario: Scenario) -> RightSizedRandomForest | None:
    """The HPO facade's random forest, right-sized, for facades that use it; None leaves the facade's own."""
    if facade.get_model is not HyperparameterOptimizationFacade.get_model:
        return None
    # The settings of HyperparameterOptimizationFacade.get_model (SMAC 2.4); tests/test_optimize.py
    # checks that this model's meta matches the facade's own.
    return RightSizedRandomForest(
        log_y=True,
        n_trees=10,
        bootstrapping=True,
        ratio_features=1.0,
        min_samples_split=2,
        min_samples_leaf=1,
        max_depth=2**20,
        configspace=scenario.configspace,
        instance_features=scenario.instance_features,
        seed=scenario.seed,
    )
