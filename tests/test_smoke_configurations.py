"""Which configurations the smoke tests try: every categorical value once, and the space's edges."""

from __future__ import annotations

from pathlib import Path

import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, InCondition
from ConfigSpace.util import deactivate_inactive_hyperparameters

from automl.verify.smoke import branch_configurations, complete_configuration, edge_configurations

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_completed_configurations_match_configspaces_own_deactivation(task: str) -> None:
    """The fast path drops exactly the hyperparameters ConfigSpace's own (slow) function drops."""
    space = ConfigurationSpace.from_json(ROOT / "configs" / f"offline_{task}.json")
    defaults = {name: hp.default_value for name, hp in space.items()}
    for sampled in space.sample_configuration(40):
        values = defaults | dict(sampled)
        assert dict(complete_configuration(space, values)) == dict(deactivate_inactive_hyperparameters(values, space))


def test_every_categorical_value_is_tried_once_with_its_parents_set() -> None:
    space = ConfigurationSpace(seed=0)
    model = Categorical("model", ["tree", "linear"])
    penalty = Categorical("penalty", ["l1", "l2", "none"])
    strength = Float("strength", (1e-3, 10.0), log=True)
    space.add([model, penalty, strength, EqualsCondition(penalty, model, "linear"),
               InCondition(strength, penalty, ["l1", "l2"])])  # fmt: skip
    labels = [label for label, _ in branch_configurations(space)]
    # penalty=l1 is its default, so model=linear already tried it: each configuration runs once.
    assert labels == ["model=tree", "model=linear", "penalty=l2", "penalty=none"]
    by_label = dict(branch_configurations(space))
    assert dict(by_label["model=tree"]) == {"model": "tree"}  # children of another branch are inactive
    assert dict(by_label["penalty=none"]) == {"model": "linear", "penalty": "none"}  # grandchild switched off
    edges = dict(edge_configurations(space))
    assert edges["model=linear at lower bounds"]["strength"] == pytest.approx(1e-3)
    assert edges["model=linear at upper bounds"]["strength"] == pytest.approx(10.0)
