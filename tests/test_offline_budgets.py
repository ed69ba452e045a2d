"""The offline train.py under the three budget kinds of the multi-fidelity facades, and its checkpoints.

Each kind is rendered with ``render_train`` the way the writer does it and imported from a temporary
file. A checkpoint is set up the way the runner does it: a lower-budget trial's ``model.joblib`` copied
into the next trial's ``model_dir`` as ``warm_start.joblib`` next to ``warm_start.json``.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from ConfigSpace import (
    Categorical,
    Configuration,
    ConfigurationSpace,
    EqualsCondition,
    ForbiddenAndConjunction,
    ForbiddenEqualsClause,
    Integer,
    OrConjunction,
)
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from automl.config import RunConfig
from automl.errors import ConfigError, WriterError
from automl.plan import Plan
from automl.writers.base import WriteContext
from automl.writers.offline import OfflineWriter, render_train
from automl.writers.space import drop_hyperparameters
from tests.conftest import load_source

ROOT = Path(__file__).resolve().parents[1]
MAX = 100.0  # MAX_BUDGET of the rendered files: trees, rounds or epochs at full budget
KINDS = (None, "data_fraction", "n_estimators", "max_iter")
ALGORITHMS = ("hgb", "lgbm", "rf", "et", "linear", "knn", "svm", "mlp")


@pytest.fixture(autouse=True)
def _one_thread():
    """OpenMP (hgb) slows down badly on a busy 2-core machine; the sandbox limits threads the same way."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def trains(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str | None], Any]:
    """The rendered ``train`` for every task and budget kind (data_fraction tops out at 1, the others at MAX)."""
    tmp_dir = tmp_path_factory.mktemp("budgets")
    loaded = {}
    for task in ("classification", "regression"):
        for kind in KINDS:
            top = None if kind is None else 1.0 if kind == "data_fraction" else MAX
            loaded[task, kind] = _load(tmp_dir, render_train(task, kind, top), f"train_{task}_{kind}").train
    return loaded


def _load(tmp_dir: Path, source: str, name: str) -> ModuleType:
    return load_source(source, tmp_dir / f"{name}.py", f"offline_budgets_{name}")


def _space(task: str) -> ConfigurationSpace:
    return ConfigurationSpace.from_json(ROOT / "configs" / f"offline_{task}.json")


def _config(task: str, algorithm: str, **changes: Any) -> Configuration:
    """``algorithm`` with its defaults, some changed (``min_samples_leaf=3`` sets ``rf:min_samples_leaf``)."""
    space = _space(task)
    values = {hp.name: hp.default_value for hp in space.values() if hp.name.startswith(f"{algorithm}:")}
    values.update({f"{algorithm}:{name}": value for name, value in changes.items()})
    return Configuration(space, values={"algorithm": algorithm, **values})


def _data(task: str, n_rows: int = 200) -> dict:
    """A fixed split of a small scikit-learn dataset (breast cancer or diabetes)."""
    name = "breast_cancer" if task == "classification" else "diabetes"
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=True)
    keep = np.random.default_rng(0).permutation(len(y))[:n_rows]
    X, y = X.iloc[keep].reset_index(drop=True), y.to_numpy()[keep]
    y = y.astype("int64") if task == "classification" else y.astype("float64")
    return _split(X, y, task)


def _mixed_data(task: str, n_rows: int = 200) -> dict:
    """Numeric columns with gaps and two categoricals (one-hot and target-encoded): all preprocessing paths."""
    rng = np.random.default_rng(1)
    size, weight = rng.normal(size=n_rows), rng.normal(size=n_rows)
    colour = pd.Series(pd.Categorical(rng.choice(["red", "green", "blue"], n_rows)))
    city = pd.Series(pd.Categorical([f"city{i}" for i in rng.integers(0, 60, n_rows)]))
    signal = size + 0.5 * weight + (colour == "red") + (city.cat.codes % 3) * 0.5
    X = pd.DataFrame({"size": size, "weight": weight, "colour": colour, "city": city})
    X.loc[rng.random(n_rows) < 0.1, "weight"] = np.nan
    if task == "classification":
        return _split(X, (signal > 0.8).astype("int64").to_numpy(), task)
    return _split(X, (signal + rng.normal(0, 0.1, n_rows)).to_numpy(dtype="float64"), task)


def _split(X: pd.DataFrame, y: np.ndarray, task: str) -> dict:
    stratify = y if task == "classification" else None
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, stratify=stratify, random_state=0)
    return {"X": X_fit.reset_index(drop=True), "y": y_fit, "X_test": X_val.reset_index(drop=True), "y_test": y_val}


def _saved_estimator(model_dir: Path) -> Any:
    """The estimator step of the saved model, inside a TransformedTargetRegressor or not."""
    model = joblib.load(model_dir / "model.joblib")
    if isinstance(model, TransformedTargetRegressor):
        model = model.regressor_
    assert isinstance(model, Pipeline)
    return model.steps[-1][1]


def _length(estimator: Any) -> int:
    """Trees, boosting rounds or epochs trained (an MLP's n_iter_ counts only its last fit)."""
    if hasattr(estimator, "estimators_"):
        return len(estimator.estimators_)
    if hasattr(estimator, "loss_curve_"):
        return len(estimator.loss_curve_)
    return int(estimator.n_iter_)


def _checkpoint(source_dir: Path, model_dir: Path, budget: Any) -> Path:
    """Put ``source_dir``'s model into ``model_dir`` as the runner does before a higher-budget trial."""
    model_dir.mkdir(parents=True)
    shutil.copy(source_dir / "model.joblib", model_dir / "warm_start.joblib")
    (model_dir / "warm_start.json").write_text(json.dumps({"budget": budget}), encoding="utf-8")
    return model_dir


# --- render_train -------------------------------------------------------------------------------------------


def test_render_train_fills_all_three_placeholders():
    lines = render_train("regression", "max_iter", 270).splitlines()
    assert {"TASK = 'regression'", "BUDGET_KIND = 'max_iter'", "MAX_BUDGET = 270.0"} <= set(lines)
    plain = render_train("classification").splitlines()
    assert {"TASK = 'classification'", "BUDGET_KIND = None", "MAX_BUDGET = None"} <= set(plain)
    assert not any("__TASK__" in line for line in plain)


@pytest.mark.parametrize(
    ("kind", "top"), [("epochs", 10.0), ("n_estimators", None), ("max_iter", -1.0), ("data_fraction", 5.0)]
)
def test_render_train_refuses_a_budget_the_template_cannot_honour(kind, top):
    with pytest.raises(WriterError, match="budget"):
        render_train("classification", kind, top)


# --- what a budget buys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["rf", "et", "hgb", "lgbm"])
def test_n_estimators_sets_the_trees_and_boosting_rounds(trains, tmp_path, algorithm):
    result = trains["classification", "n_estimators"](
        _config("classification", algorithm), _data("classification"), 0, budget=37.6, model_dir=str(tmp_path)
    )
    estimator = _saved_estimator(tmp_path)
    assert _length(estimator) == 38 and result["budget_used"] == 38.0 and result["warm_started"] == 0.0
    if algorithm == "hgb":  # early stopping would end the rounds before the budget does
        assert estimator.max_iter == 38 and not estimator.early_stopping
    if algorithm == "lgbm":
        assert estimator.n_estimators == 38 and "early_stopping_round" not in estimator.get_params()


def test_a_count_budget_is_clipped_raised_and_none_is_the_full_budget(trains, tmp_path):
    train, data, config = (
        trains["classification", "n_estimators"],
        _data("classification"),
        _config("classification", "rf"),
    )
    full = train(config, data, 0, budget=None, model_dir=str(tmp_path / "none"))
    assert _length(_saved_estimator(tmp_path / "none")) == MAX
    assert train(config, data, 0, budget=MAX)["loss"] == full["loss"]
    assert train(config, data, 0, budget=10 * MAX)["budget_used"] == MAX
    assert train(config, data, 0, budget=0.2)["budget_used"] == 1.0


@pytest.mark.parametrize(
    ("task", "algorithm"), [("classification", "mlp"), ("regression", "mlp"), ("classification", "hgb")]
)
def test_max_iter_sets_the_epochs_and_rounds(trains, tmp_path, task, algorithm):
    result = trains[task, "max_iter"](_config(task, algorithm), _data(task), 0, budget=12.4, model_dir=str(tmp_path))
    estimator = _saved_estimator(tmp_path)
    assert _length(estimator) == 12 and result["budget_used"] == 12.0
    assert estimator.max_iter == 12 and not estimator.early_stopping


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_max_iter_sets_lightgbms_rounds(trains, tmp_path, task):
    result = trains[task, "max_iter"](_config(task, "lgbm"), _mixed_data(task), 0, budget=12.4, model_dir=str(tmp_path))
    estimator = _saved_estimator(tmp_path)
    assert isinstance(estimator, LGBMClassifier if task == "classification" else LGBMRegressor)
    assert _length(estimator) == estimator.n_estimators == 12 and result["budget_used"] == 12.0
    assert "early_stopping_round" not in estimator.get_params()


def test_max_iter_caps_the_logistic_regression_solver(trains, tmp_path):
    trains["classification", "max_iter"](
        _config("classification", "linear"), _data("classification"), 0, budget=3, model_dir=str(tmp_path)
    )
    estimator = _saved_estimator(tmp_path)
    assert estimator.max_iter == 3 and estimator.n_iter_.max() <= 3


@pytest.mark.parametrize(
    ("kind", "task", "algorithm"),
    [
        ("n_estimators", "classification", "knn"),
        ("n_estimators", "regression", "svm"),
        ("n_estimators", "classification", "mlp"),
        ("max_iter", "classification", "rf"),
        ("max_iter", "regression", "linear"),  # Ridge is solved in closed form: no iterations to count
        ("max_iter", "classification", "knn"),
    ],
)
def test_algorithms_without_that_length_fit_on_budget_over_max_of_the_rows(trains, kind, task, algorithm):
    train, data, config = trains[task, kind], _data(task), _config(task, algorithm)
    share = train(config, data, 0, budget=MAX / 4)
    assert share["budget_used"] == pytest.approx(0.25, abs=0.02)
    full = train(config, data, 0)
    assert full["budget_used"] == 1.0 and full["loss"] != share["loss"]
    assert train(config, data, 0, budget=MAX)["loss"] == full["loss"]


def test_the_row_share_is_the_data_fractions_subsample(trains, tmp_path):
    """budget / MAX_BUDGET of the rows under n_estimators is the very subsample data_fraction fits on."""
    data, config = _data("classification"), _config("classification", "knn")
    trains["classification", "n_estimators"](config, data, 5, budget=MAX * 0.3, model_dir=str(tmp_path / "count"))
    trains["classification", "data_fraction"](config, data, 5, budget=0.3, model_dir=str(tmp_path / "rows"))
    counted, fraction = _saved_estimator(tmp_path / "count"), _saved_estimator(tmp_path / "rows")
    assert counted.n_samples_fit_ == fraction.n_samples_fit_ < len(data["y"])
    np.testing.assert_array_equal(counted._fit_X, fraction._fit_X)


def test_data_fraction_fits_on_a_share_of_the_rows(trains):
    train, data, config = trains["regression", "data_fraction"], _data("regression"), _config("regression", "hgb")
    full = train(config, data, 0)
    assert full["budget_used"] == 1.0
    assert train(config, data, 0, budget=1.0)["loss"] == full["loss"]
    assert train(config, data, 0, budget=1.7)["loss"] == full["loss"]
    quarter = train(config, data, 0, budget=0.25)
    assert quarter["budget_used"] == pytest.approx(0.25, abs=0.01) and quarter["loss"] != full["loss"]
    tiny = train(config, data, 0, budget=0.0)  # raised to MIN_ROWS_REGRESSION rows
    assert tiny["budget_used"] == pytest.approx(30 / len(data["y"])) and math.isfinite(tiny["loss"])


@pytest.mark.parametrize(("algorithm", "low"), [("rf", 2), ("hgb", 3), ("lgbm", 3)])
def test_more_trees_or_rounds_give_a_lower_loss(trains, algorithm, low):
    train, data, config = (
        trains["classification", "n_estimators"],
        _data("classification"),
        _config("classification", algorithm),
    )
    assert train(config, data, 0, budget=MAX)["loss"] < train(config, data, 0, budget=low)["loss"]


@pytest.mark.parametrize("kind", ["n_estimators", "max_iter"])
def test_sampled_configurations_of_the_narrowed_space_train_at_any_budget(trains, kind):
    """The writer's space for the kind and the rendered file fit together: no removed name is read."""
    space = OfflineWriter().space(_context("classification", kind), None)
    space.seed(3)
    data = _mixed_data("classification", n_rows=120)
    keys = set()
    for index, config in enumerate(space.sample_configuration(7)):
        result = trains["classification", kind](config, data, index, budget=[None, 1.0, 33.3][index % 3])
        assert math.isfinite(result["loss"]), dict(config)
        keys.add(frozenset(result))
    assert len(keys) == 1


# --- checkpoints ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["rf", "et"])
def test_a_forest_continues_its_checkpoint(trains, tmp_path, algorithm):
    train, data, config = (
        trains["classification", "n_estimators"],
        _mixed_data("classification"),
        _config("classification", algorithm),
    )
    train(config, data, 4, budget=20, model_dir=str(tmp_path / "low"))
    model_dir = _checkpoint(tmp_path / "low", tmp_path / "high", 20.0)
    warm = train(config, data, 4, budget=60, model_dir=str(model_dir))
    assert warm["warm_started"] == 1.0 and warm["budget_used"] == 60.0
    forest, before = _saved_estimator(model_dir), _saved_estimator(tmp_path / "low")
    assert len(forest.estimators_) == 60 and not forest.warm_start
    for old, new in zip(before.estimators_, forest.estimators_[:20], strict=True):
        assert old.random_state == new.random_state
        np.testing.assert_array_equal(old.tree_.threshold, new.tree_.threshold)
        np.testing.assert_array_equal(old.tree_.value, new.tree_.value)
    # scikit-learn seeds every tree from the forest's random_state: continuing equals growing 60 at once
    assert train(config, data, 4, budget=60)["loss"] == pytest.approx(warm["loss"], rel=1e-9)
    again = train(config, data, 4, budget=60, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "again", 20.0)))
    assert again == warm
    model = joblib.load(model_dir / "model.joblib")
    assert model.predict_proba(data["X_test"]).shape == (len(data["X_test"]), 2)


@pytest.mark.parametrize(
    ("task", "algorithm"), [("classification", "hgb"), ("regression", "mlp"), ("classification", "mlp")]
)
def test_boosting_and_networks_continue_their_checkpoint_under_max_iter(trains, tmp_path, task, algorithm):
    train, data, config = trains[task, "max_iter"], _mixed_data(task), _config(task, algorithm)
    low = train(config, data, 2, budget=10, model_dir=str(tmp_path / "low"))
    warm = train(config, data, 2, budget=30.2, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "high", 10.0)))
    assert warm["warm_started"] == 1.0 and warm["budget_used"] == 30.0 and warm["loss"] != low["loss"]
    estimator = _saved_estimator(tmp_path / "high")
    assert _length(estimator) == 30 and estimator.max_iter == 30 and not estimator.warm_start
    again = train(config, data, 2, budget=30.2, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "again", 10.0)))
    assert again == warm
    model = joblib.load(tmp_path / "high" / "model.joblib")
    assert model.predict(data["X_test"]).shape == (len(data["X_test"]),)
    if algorithm == "hgb":  # boosting rounds are deterministic given the seed: continuing equals boosting 30 at once
        assert train(config, data, 2, budget=30)["loss"] == pytest.approx(warm["loss"], rel=1e-9)


@pytest.mark.parametrize(("kind", "task"), [("n_estimators", "classification"), ("max_iter", "regression")])
def test_lightgbm_continues_its_checkpoint_through_init_model(trains, tmp_path, kind, task):
    train, data, config = trains[task, kind], _mixed_data(task), _config(task, "lgbm")
    low = train(config, data, 2, budget=10, model_dir=str(tmp_path / "low"))
    warm = train(config, data, 2, budget=30.2, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "high", 10.0)))
    assert warm["warm_started"] == 1.0 and warm["budget_used"] == 30.0 and warm["loss"] != low["loss"]
    booster, before = _saved_estimator(tmp_path / "high"), _saved_estimator(tmp_path / "low")
    assert _length(booster) == booster.n_estimators == 30 and _length(before) == 10
    trees = booster.booster_.dump_model()["tree_info"]
    assert trees[: len(before.booster_.dump_model()["tree_info"])] == before.booster_.dump_model()["tree_info"]
    again = train(config, data, 2, budget=30.2, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "again", 10.0)))
    assert again == warm
    # without bagging LightGBM's rounds are deterministic: continuing equals boosting 30 at once
    assert train(config, data, 2, budget=30)["loss"] == pytest.approx(warm["loss"], rel=1e-9)
    model = joblib.load(tmp_path / "high" / "model.joblib")
    assert model.predict(data["X_test"]).shape == (len(data["X_test"]),)


def test_lightgbm_does_not_continue_another_configurations_checkpoint(trains, tmp_path):
    train, data = trains["classification", "n_estimators"], _mixed_data("classification")
    train(_config("classification", "lgbm", num_leaves=8), data, 2, budget=10, model_dir=str(tmp_path / "low"))
    config = _config("classification", "lgbm")
    result = train(config, data, 2, budget=30, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "high", 10.0)))
    assert result["warm_started"] == 0.0
    assert result["loss"] == pytest.approx(train(config, data, 2, budget=30)["loss"], rel=1e-9)


def _garbage(model_dir: Path) -> None:
    (model_dir / "warm_start.joblib").write_bytes(b"not a pickle")


def _no_budget(model_dir: Path) -> None:
    (model_dir / "warm_start.json").write_text("[20]", encoding="utf-8")


def _no_info(model_dir: Path) -> None:
    (model_dir / "warm_start.json").unlink()


@pytest.mark.parametrize(
    ("budget", "spoil"),
    [(60.0, None), (80.0, None), (20.0, _garbage), (20.0, _no_budget), (20.0, _no_info)],
    ids=["same budget", "higher budget", "not a pickle", "json without budget", "no json"],
)
def test_a_checkpoint_that_cannot_be_continued_is_ignored(trains, tmp_path, budget, spoil):
    train, data, config = (
        trains["classification", "n_estimators"],
        _data("classification"),
        _config("classification", "rf"),
    )
    scratch = train(config, data, 1, budget=60)
    train(config, data, 1, budget=20 if budget != 80.0 else 80, model_dir=str(tmp_path / "low"))
    model_dir = _checkpoint(tmp_path / "low", tmp_path / "high", budget)
    if spoil is not None:
        spoil(model_dir)
    result = train(config, data, 1, budget=60, model_dir=str(model_dir))
    assert result["warm_started"] == 0.0
    assert result["loss"] == pytest.approx(scratch["loss"], rel=1e-9)
    assert len(_saved_estimator(model_dir).estimators_) == 60


@pytest.mark.parametrize(
    "change",
    [{"seed": 2}, {"config": {"min_samples_leaf": 3}}, {"data": "other rows"}, {"algorithm": "et"}],
    ids=["other seed", "other configuration", "other rows", "other algorithm"],
)
def test_another_trials_checkpoint_is_not_continued(trains, tmp_path, change):
    train, data = trains["classification", "n_estimators"], _data("classification")
    other_data = _data("classification", n_rows=150) if "data" in change else data
    other_config = _config("classification", change.get("algorithm", "rf"), **change.get("config", {}))
    train(other_config, other_data, change.get("seed", 1), budget=20, model_dir=str(tmp_path / "low"))
    config = _config("classification", "rf")
    result = train(config, data, 1, budget=60, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "high", 20.0)))
    assert result["warm_started"] == 0.0
    assert result["loss"] == pytest.approx(train(config, data, 1, budget=60)["loss"], rel=1e-9)


@pytest.mark.parametrize(
    ("kind", "algorithm"),
    [
        ("data_fraction", "rf"),
        ("data_fraction", "lgbm"),
        ("n_estimators", "mlp"),
        ("max_iter", "linear"),
        ("max_iter", "rf"),
        (None, "hgb"),
    ],
)
def test_checkpoints_are_ignored_where_the_budget_is_not_a_length_to_continue(trains, tmp_path, kind, algorithm):
    train, data, config = trains["classification", kind], _data("classification"), _config("classification", algorithm)
    low, high = (0.3, 0.9) if kind in (None, "data_fraction") else (20.0, 60.0)
    train(config, data, 0, budget=low, model_dir=str(tmp_path / "low"))
    result = train(config, data, 0, budget=high, model_dir=str(_checkpoint(tmp_path / "low", tmp_path / "high", low)))
    assert result["warm_started"] == 0.0
    assert result == train(config, data, 0, budget=high)


# --- the search space -----------------------------------------------------------------------------------------


def _small_space() -> ConfigurationSpace:
    """a -> b -> e conditions, c active through a OR d, and a forbidden pair of a and d."""
    space = ConfigurationSpace(seed=0)
    a, d = Categorical("a", ["x", "y"]), Categorical("d", ["p", "q"])
    b, c, e = Integer("b", (1, 5)), Integer("c", (1, 5)), Integer("e", (1, 3))
    space.add([a, b, c, d, e])
    space.add([EqualsCondition(b, a, "x"), EqualsCondition(e, b, 1)])
    space.add(OrConjunction(EqualsCondition(c, a, "x"), EqualsCondition(c, d, "p")))
    space.add(ForbiddenAndConjunction(ForbiddenEqualsClause(a, "y"), ForbiddenEqualsClause(d, "q")))
    return space


@pytest.mark.parametrize(
    ("names", "left"),
    [(["b"], {"a", "c", "d"}), (["a"], {"c", "d"}), (["d"], {"a", "b", "c", "e"}), ([], {"a", "b", "c", "d", "e"})],
)
def test_drop_hyperparameters_takes_what_hangs_off_them_along(names, left):
    narrowed = drop_hyperparameters(_small_space(), names)
    assert set(narrowed) == left
    for config in narrowed.sample_configuration(30):
        config.check_valid_configuration()
    if "c" in left and len(names) == 1 and names[0] in ("a", "d"):  # c's OR keeps the parent that is left
        (condition,) = [cond for cond in narrowed.conditions if cond.child.name == "c"]
        assert isinstance(condition, EqualsCondition) and condition.parent.name == ({"a", "d"} - set(names)).pop()
    if set(names) & {"a", "d"}:  # the forbidden pair can no longer match
        assert not narrowed.forbidden_clauses


def test_drop_hyperparameters_names_the_unknown_ones():
    with pytest.raises(ConfigError, match="rf:n_trees"):
        drop_hyperparameters(_space("classification"), ["rf:n_estimators", "rf:n_trees"])


def _context(task: str, kind: str | None, algorithms: tuple[str, ...] = ALGORITHMS) -> WriteContext:
    budgets = (None, None) if kind is None else (0.1, 1.0) if kind == "data_fraction" else (10.0, 270.0)
    facade = "hpo" if kind is None else "mf"
    plan = Plan(facade=facade, budget_kind=kind, min_budget=budgets[0], max_budget=budgets[1], algorithms=algorithms)
    return WriteContext(description={"task": task}, run=RunConfig(), plan=plan)


@pytest.mark.parametrize(
    ("kind", "removed"),
    [
        (None, set()),
        ("data_fraction", set()),
        ("n_estimators", {"rf:n_estimators", "et:n_estimators", "hgb:max_iter", "lgbm:n_estimators"}),
        ("max_iter", {"hgb:max_iter", "lgbm:n_estimators"}),
    ],
)
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_writers_space_leaves_out_what_the_budget_sets(task, kind, removed):
    space = OfflineWriter().space(_context(task, kind), None)
    assert set(_space(task)) - set(space) == removed
    space.seed(1)
    for config in space.sample_configuration(40):
        config.check_valid_configuration()


def test_the_writers_space_narrows_after_leaving_algorithms_out():
    space = OfflineWriter().space(_context("regression", "n_estimators", ("hgb", "linear")), None)
    assert list(space["algorithm"].choices) == ["hgb", "linear"] and "hgb:max_iter" not in space


def test_the_writer_renders_the_plans_budget():
    source = OfflineWriter().train(_context("classification", "n_estimators"), None)
    assert {"BUDGET_KIND = 'n_estimators'", "MAX_BUDGET = 270.0"} <= set(source.splitlines())
