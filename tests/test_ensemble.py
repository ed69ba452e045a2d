"""The ensemble seam: which trials make the final model, with what weight, and how the saved model uses them."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor

from automl.data.features import learn_schema
from automl.ensemble import TopKAverage, ranked_configurations
from automl.optimize.smac_run import TrialRecord
from automl.predictor import CardMember, FittedModel, ModelCard
from automl.rundir import MODEL_FILE, RunPaths


def trial(config: int, cost: float, budget: float | None = None, status: str = "success", fold: str | None = None,
          ) -> TrialRecord:  # fmt: skip
    return TrialRecord(config_id=config, config={"x": config}, seed=0, budget=budget, instance=fold, status=status,
                       cost=cost, wall_time=0.1, model_dir=f"{config:04d}-{budget}-{fold}")  # fmt: skip


def test_configurations_rank_by_highest_budget_then_mean_cost_over_folds() -> None:
    trials = [
        trial(1, 0.10, budget=10.0),  # best cost, but only at the low budget
        trial(2, 0.40, budget=10.0),
        trial(2, 0.30, budget=30.0),
        trial(3, 0.20, budget=30.0, fold="a"),
        trial(3, 0.60, budget=30.0, fold="b"),  # mean 0.40 over its folds
        trial(4, 0.01, budget=30.0, status="crashed"),  # failures never rank
    ]
    ranked = ranked_configurations(trials)
    assert [(t.config["x"], t.budget) for t in ranked] == [(2, 30.0), (3, 30.0), (1, 10.0)]
    assert ranked[1].cost == pytest.approx(0.40)


def test_top_k_keeps_the_k_best_distinct_configurations_with_equal_weights() -> None:
    trials = [trial(i, cost) for i, cost in enumerate([0.5, 0.1, 0.3, 0.2, 0.4, 0.9, 0.05])]
    trials.append(trial(6, 0.07))  # the same configuration again: one member, not two
    members = TopKAverage(size=3).select(trials)
    assert [m.trial.config["x"] for m in members] == [6, 1, 3]
    assert [m.weight for m in members] == [1.0, 1.0, 1.0]
    assert len(TopKAverage(size=50).select(trials)) == 7
    assert TopKAverage().select([trial(0, 0.1, status="timeout")]) == ()


def test_an_ensemble_needs_a_member() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        TopKAverage(size=0)


def test_saved_model_averages_its_members_with_their_weights(tmp_path: Path) -> None:
    """Two constant models, weights 3 and 1: predictions are the weighted mean, computed in the sandbox."""
    paths = RunPaths(tmp_path)
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    for name, value in (("00", 10.0), ("01", 2.0)):
        paths.member_dir(name).mkdir(parents=True)
        model = DummyRegressor(strategy="constant", constant=value).fit(X, np.zeros(3))
        joblib.dump(model, paths.member_dir(name) / MODEL_FILE)
    schema = learn_schema(X)
    card = ModelCard("regression", "y", schema, None, {"x": 0},
                     (CardMember("00", {"x": 0}, 0.1, 3.0), CardMember("01", {"x": 1}, 0.2, 1.0)))  # fmt: skip
    FittedModel.save_card(paths, card)
    predicted = FittedModel.load(tmp_path).predict(X)
    assert predicted == pytest.approx([8.0, 8.0, 8.0])


def test_model_cards_written_before_weights_read_with_equal_weights() -> None:
    card = ModelCard.from_dict(
        {
            "task": "regression",
            "target": "y",
            "schema": {"columns": []},
            "classes": None,
            "incumbent": {},
            "members": [{"dir": "00", "config": {}, "validation_loss": 0.1}],
        }
    )
    assert card.members == (CardMember("00", {}, 0.1, 1.0),)
