"""The ensemble seam: which trials make the final model, with what weight, and how the saved model uses them."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor

from automl.data.features import learn_schema
from automl.data.target import LabelCoder
from automl.ensemble import EnsembleSelection, Member, TopKAverage, ensemble_output, ranked_configurations
from automl.optimize.smac_run import TrialRecord
from automl.optimize.validation import SINGLE_SPLIT, InvalidPredictions, Validation
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


def test_folds_rank_relative_to_their_median_so_an_easy_fold_alone_does_not_win() -> None:
    """Fold b is five times harder than fold a; configuration 3 ran only fold a (raw mean 0.11, the lowest)."""
    costs = {1: {"a": 0.10, "b": 0.50, "c": 0.30}, 2: {"a": 0.12, "b": 0.52, "c": 0.32}, 3: {"a": 0.11}}
    trials = [trial(config, cost, fold=fold) for config, by_fold in costs.items() for fold, cost in by_fold.items()]
    ranked = ranked_configurations(trials)
    assert [t.config["x"] for t in ranked] == [1, 3, 2]  # 1 beats 3 on fold a and 2 on every fold
    assert [t.cost for t in ranked] == pytest.approx([0.30, 0.11, 0.32])  # the reported cost stays the raw mean


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
    """Constant models, weights 3 and 1, the first member bagged with one fold model: predictions are the
    weighted mean of the members, each the plain mean of its models, computed in the sandbox."""
    paths = RunPaths(tmp_path)
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    for folder, value in (("00", 10.0), ("00/bag-0", 4.0), ("01", 2.0)):
        paths.member_dir(folder).mkdir(parents=True)
        model = DummyRegressor(strategy="constant", constant=value).fit(X, np.zeros(3))
        joblib.dump(model, paths.member_dir(folder) / MODEL_FILE)
    schema = learn_schema(X)
    members = (CardMember("00", {"x": 0}, 0.1, 3.0, bag=("bag-0",)), CardMember("01", {"x": 1}, 0.2, 1.0))
    card = ModelCard("regression", "y", schema, None, {"x": 0}, members)
    FittedModel.save_card(paths, card)
    loaded = FittedModel.load(tmp_path)
    assert loaded.card == card  # the bag survives the card's JSON
    assert loaded.predict(X) == pytest.approx([(3 * 7.0 + 2.0) / 4] * 3)  # member 00: (10 + 4) / 2


def test_a_bagged_classifier_averages_its_models_probabilities(tmp_path: Path) -> None:
    """Priors of 1/2 and 3/4 for class 1: the member's probability is their mean, its label the mean's argmax."""
    paths = RunPaths(tmp_path)
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    for folder, y in (("00", [0, 0, 1, 1]), ("00/bag-0", [0, 1, 1, 1])):
        paths.member_dir(folder).mkdir(parents=True)
        joblib.dump(DummyClassifier(strategy="prior").fit(X, y), paths.member_dir(folder) / MODEL_FILE)
    card = ModelCard("classification", "y", learn_schema(X), LabelCoder(("no", "yes")), {"x": 0},
                     (CardMember("00", {"x": 0}, 0.1, bag=("bag-0",)),))  # fmt: skip
    FittedModel.save_card(paths, card)
    labels, proba = FittedModel.load(tmp_path).predict_with_proba(X)
    assert proba[:, 1] == pytest.approx([(0.5 + 0.75) / 2] * 4) and list(labels) == ["yes"] * 4


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


def stored_validation(tmp_path: Path, truth: dict[str, np.ndarray], metric: str, n_classes: int) -> Validation:
    return Validation(metric, n_classes, truth, tmp_path / "predictions")


def keep(validation: Validation, model_dir: str, values: np.ndarray, proba: np.ndarray | None = None) -> None:
    """Store a trial's validation predictions as the runner does after judging it."""
    validation.predictions_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"values": values} | ({"proba": proba} if proba is not None else {})
    np.savez_compressed(validation.path(model_dir), **arrays)


def test_ensemble_selection_finds_the_known_best_weights(tmp_path: Path) -> None:
    """y = 0.75 a + 0.25 b exactly: greedy selection with replacement recovers weights 3:1 from a, b and a decoy."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    y = 0.75 * a + 0.25 * b
    validation = stored_validation(tmp_path, {SINGLE_SPLIT: y}, "rmse", 0)
    trials = [trial(0, 0.30), trial(1, 0.80), trial(2, 0.50)]
    for record, values in zip(trials, (a, b, rng.normal(size=200)), strict=True):
        keep(validation, record.model_dir, values)
    members = EnsembleSelection(size=3, rounds=20).select(trials, validation)
    assert [(m.trial.config["x"], m.weight) for m in members] == [(0, 0.75), (1, 0.25)]
    combined = ensemble_output(members, trials, validation)
    assert combined is not None and np.allclose(combined[0].values, y) and np.array_equal(combined[1], y)
    # Without predictions (or with one candidate) it falls back to the best configuration alone.
    assert [m.trial.config["x"] for m in EnsembleSelection().select(trials, None)] == [0]


def test_ensemble_selection_optimizes_the_runs_metric_over_folds(tmp_path: Path) -> None:
    """Two folds; trial 1 ranks first on log loss but trial 2's predictions are right more often (accuracy)."""
    truth = {"fold-0": np.array([0, 1, 1, 0]), "fold-1": np.array([1, 0, 1, 1])}
    validation = stored_validation(tmp_path, truth, "accuracy", 2)
    hedging = np.array([[0.55, 0.45]] * 4)  # always class 0, mildly: good log loss, accuracy 3/8
    right = np.array([[0.1, 0.9], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    trials = []
    for fold, y in truth.items():
        for config, proba in ((1, hedging), (2, right if fold == "fold-1" else np.eye(2)[y] * 0.8 + 0.1)):
            record = trial(config, 0.1 * config, fold=fold)
            keep(validation, record.model_dir, proba.argmax(axis=1).astype(float), proba)
            trials.append(record)
    members = EnsembleSelection(size=2).select(trials, validation)
    assert [m.trial.config["x"] for m in members] == [2] and members[0].weight == 1.0
    # A configuration that ran on one fold only ranks first by its mean but cannot be judged on every row:
    # the one configuration that can stands alone.
    lucky = trial(9, 0.0001, fold="fold-0")
    keep(validation, lucky.model_dir, np.zeros(4), np.array([[0.5, 0.5]] * 4))
    only_complete = [t for t in trials if t.config["x"] == 1] + [lucky]
    alone = EnsembleSelection().select(only_complete, validation)
    assert [(m.trial.config["x"], m.weight) for m in alone] == [(1, 1.0)]
    # The lucky one alone is judged on the fold it ran (a search may end before every fold).
    judged = ensemble_output([Member(lucky, 1.0)], only_complete, validation)
    assert judged is not None and np.array_equal(judged[1], truth["fold-0"]) and judged[0].proba.shape == (4, 2)


def test_trials_are_judged_on_their_saved_models_predictions(tmp_path: Path) -> None:
    """The runner scores the validation rows itself, keeps the predictions compactly, and rejects bad shapes."""
    validation = stored_validation(tmp_path, {SINGLE_SPLIT: np.array([0, 1, 1])}, "roc_auc", 2)
    model_dir = tmp_path / "trials" / "t1"
    model_dir.mkdir(parents=True)
    np.save(model_dir / "validation_predictions.npy", np.array([0.0, 1.0, 0.0]))
    np.save(model_dir / "validation_proba.npy", np.array([[2.0, 0.0], [0.2, 0.8], [0.6, 0.4]]))  # rows unnormalized
    loss, value = validation.judge(model_dir, None)
    assert value == 1.0 and loss == 0.0  # 1 - ROC AUC
    assert not list(model_dir.glob("validation_*.npy"))
    kept = validation.load("t1")
    assert kept is not None and kept.proba is not None and np.allclose(kept.proba[0], [1.0, 0.0])
    np.save(model_dir / "validation_predictions.npy", np.array([0.0, 1.0]))
    with pytest.raises(InvalidPredictions, match=r"2 values .* for 3 validation rows"):
        validation.judge(model_dir, None)
    assert validation.judge(tmp_path / "trials" / "no-model", None) is None  # train() saved no model: its loss stands
