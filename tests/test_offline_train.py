"""The offline writer's train.py template and its two search spaces, run on small data.

The template is rendered the way the writer does it (``render_train``, here without a budget kind),
written to a temporary file and imported from there, exactly like a run directory's train.py. The budget
kinds and checkpoints have their own tests in test_offline_budgets.py.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from ConfigSpace import Configuration, ConfigurationSpace, EqualsCondition
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn import datasets
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from automl.rundir import MODEL_FILE
from automl.writers.offline import FAMILY_TABLES, render_train
from tests.conftest import load_source

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "automl" / "writers" / "offline_train.py"
ALGORITHMS = ["hgb", "lgbm", "rf", "et", "linear", "knn", "svm", "mlp"]
BUDGET_KEYS = {"warm_started", "budget_used"}
CLASSIFICATION_KEYS = {"loss", "accuracy", "balanced_accuracy", "f1_macro", "log_loss"} | BUDGET_KEYS
REGRESSION_KEYS = {"loss", "rmse", "mae", "r2"} | BUDGET_KEYS


@pytest.fixture(autouse=True)
def _one_thread():
    """OpenMP (hgb) slows down badly on a busy 2-core machine; the sandbox limits threads the same way."""
    with threadpool_limits(limits=1):
        yield


def _load(task: str, tmp_dir: Path) -> ModuleType:
    return load_source(render_train(task), tmp_dir / f"train_{task}.py", f"offline_train_{task}")


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    tmp_dir = tmp_path_factory.mktemp("template")
    return {task: _load(task, tmp_dir) for task in ("classification", "regression")}


def _space(task: str) -> ConfigurationSpace:
    return ConfigurationSpace.from_json(ROOT / "configs" / f"offline_{task}.json")


def _config(space: ConfigurationSpace, algorithm: str) -> Configuration:
    """``algorithm`` with the defaults of its own hyperparameters."""
    values = {hp.name: hp.default_value for hp in space.values() if hp.name.startswith(f"{algorithm}:")}
    return Configuration(space, values={"algorithm": algorithm, **values})


def _split(X: pd.DataFrame, y: np.ndarray, task: str, seed: int = 0) -> dict:
    stratify = y if task == "classification" else None
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, stratify=stratify, random_state=seed)
    return {"X": X_fit.reset_index(drop=True), "y": y_fit, "X_test": X_val.reset_index(drop=True), "y_test": y_val}


def _sklearn_data(name: str, n_rows: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=True)
    y = y.to_numpy()
    y = y.astype("float64") if name == "diabetes" else y.astype("int64")
    if n_rows is not None:
        keep = np.random.default_rng(0).permutation(len(y))[:n_rows]
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    return X, y


def _mixed_data(task: str, n_rows: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric columns with gaps, a 3-level categorical with NaN and a 60-level categorical."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n_rows)
    weight = rng.normal(size=n_rows)
    colour = pd.Series(pd.Categorical(rng.choice(["red", "green", "blue"], n_rows)))
    colour[rng.random(n_rows) < 0.1] = np.nan
    city = pd.Series(pd.Categorical([f"city{i}" for i in rng.integers(0, 60, n_rows)]))
    signal = size + 0.5 * weight + (colour == "red") + (city.cat.codes % 3) * 0.5
    X = pd.DataFrame(
        {"size": size, "weight": weight, "colour": colour, "city": city, "count": rng.integers(0, 5, n_rows)}
    )
    X.loc[rng.random(n_rows) < 0.1, "weight"] = np.nan
    if task == "classification":
        return X, ((signal > 0.5).astype("int64") + (signal > 1.5)).to_numpy()
    return X, (signal + rng.normal(0, 0.1, n_rows)).to_numpy(dtype="float64")


def _with_unseen_levels(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    for column in ("colour", "city"):
        X[column] = X[column].cat.add_categories(["never-seen"])
        X.loc[0, column] = "never-seen"
    return X


def _check_result(result: dict, task: str, n_classes: int | None) -> None:
    expected = set(CLASSIFICATION_KEYS) if task == "classification" else set(REGRESSION_KEYS)
    if n_classes == 2:
        expected.add("roc_auc")
    assert set(result) == expected
    assert all(isinstance(value, float) for value in result.values())
    assert math.isfinite(result["loss"])


def _check_saved_model(model_dir: Path, X: pd.DataFrame, n_classes: int | None) -> None:
    model = joblib.load(model_dir / "model.joblib")
    assert model.predict(X).shape == (len(X),)
    if n_classes is not None:
        proba = model.predict_proba(X)
        assert proba.shape == (len(X), n_classes)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


SKLEARN_CASES = [
    ("breast_cancer", "classification", 2, 200),
    ("iris", "classification", 3, None),
    ("diabetes", "regression", None, 200),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(("name", "task", "n_classes", "n_rows"), SKLEARN_CASES)
def test_every_algorithm_trains_saves_and_repeats(modules, tmp_path, algorithm, name, task, n_classes, n_rows):
    """Required keys, finite loss, a saved model that predicts, and the same loss for the same seed."""
    data = _split(*_sklearn_data(name, n_rows), task)
    config = _config(_space(task), algorithm)
    first = modules[task].train(config, data, 3, model_dir=str(tmp_path / "model"))
    _check_result(first, task, n_classes)
    _check_saved_model(tmp_path / "model", data["X_test"], n_classes)
    assert modules[task].train(config, data, 3)["loss"] == first["loss"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_algorithm_handles_categories_gaps_budget_and_no_validation(modules, tmp_path, algorithm, task):
    X, y = _mixed_data(task)
    n_classes = 3 if task == "classification" else None
    data = _split(X, y, task)
    train = modules[task].train
    config = _config(_space(task), algorithm)
    result = train(config, data, 0, model_dir=str(tmp_path / "full"))
    _check_result(result, task, n_classes)
    _check_saved_model(tmp_path / "full", _with_unseen_levels(data["X_test"]), n_classes)
    small = train(config, data, 0, budget=0.3, model_dir=str(tmp_path / "small"))
    _check_result(small, task, n_classes)
    _check_saved_model(tmp_path / "small", data["X_test"], n_classes)
    assert train(config, data, 0, budget=0.3)["loss"] == small["loss"]
    internal = train(config, {"X": X, "y": y}, 0, model_dir=str(tmp_path / "internal"))
    _check_result(internal, task, n_classes)
    _check_saved_model(tmp_path / "internal", _with_unseen_levels(X.iloc[:20]), n_classes)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sampled_configurations_all_train(modules, task):
    space = _space(task)
    space.seed(7)
    X, y = _mixed_data(task, n_rows=160, seed=1)
    data = _split(X, y, task)
    for index, config in enumerate(space.sample_configuration(12)):
        result = modules[task].train(config, data, index, budget=[None, 0.5][index % 2])
        assert math.isfinite(result["loss"]), dict(config)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_lgbm_space_is_conditional_and_starts_from_lightgbms_defaults(task):
    """Active only under algorithm == lgbm; LightGBM's own defaults (rounds: hgb's 300, early stopping ends them)."""
    space = _space(task)
    names = {name for name in space if name.startswith("lgbm:")}
    expected = {"num_leaves", "learning_rate", "n_estimators", "min_child_samples", "subsample", "colsample_bytree"}
    assert names == {f"lgbm:{name}" for name in expected | {"reg_lambda"}}
    assert {c.child.name: c.value for c in space.conditions if c.child.name in names} == dict.fromkeys(names, "lgbm")
    lightgbm = (LGBMClassifier if task == "classification" else LGBMRegressor)().get_params()
    for name in expected - {"n_estimators"}:
        assert space[f"lgbm:{name}"].default_value == lightgbm[name], name
    assert space["lgbm:n_estimators"].default_value == 300 and space["lgbm:reg_lambda"].default_value <= 1e-3
    assert space["lgbm:num_leaves"].log and space["lgbm:learning_rate"].log
    assert "lgbm" not in dict(space.get_default_configuration()).values()


def test_default_configuration_is_a_strong_baseline(modules):
    X, y = _sklearn_data("breast_cancer")
    data = _split(X, y, "classification", seed=0)
    space = _space("classification")
    assert space.get_default_configuration()["algorithm"] == "hgb"
    result = modules["classification"].train(space.get_default_configuration(), data, 0)
    assert result["accuracy"] >= 0.94


def test_predict_proba_covers_every_class_after_a_tiny_budget(modules, tmp_path):
    X, y = _sklearn_data("iris")
    data = _split(X, y, "classification")
    config = _config(_space("classification"), "knn")
    modules["classification"].train(config, data, 0, budget=0.01, model_dir=str(tmp_path))
    _check_saved_model(tmp_path, data["X_test"], 3)


@pytest.mark.parametrize("algorithm", ["linear", "lgbm"])
def test_a_class_seen_only_in_validation_still_gives_a_finite_loss(modules, algorithm):
    X, y = _sklearn_data("iris")
    seen = y != 2
    data = {
        "X": X[seen].reset_index(drop=True),
        "y": y[seen],
        "X_test": X.iloc[[0, 60, 120]],
        "y_test": np.array([0, 1, 2]),
    }
    result = modules["classification"].train(_config(_space("classification"), algorithm), data, 0)
    assert math.isfinite(result["loss"]) and result["loss"] > 1.0


def _lightgbm_of(model_dir: Path) -> Any:
    model = joblib.load(model_dir / "model.joblib")
    assert [name for name, _ in model.steps] == ["preprocess", "model"]
    return model.steps[-1][1]


@pytest.mark.parametrize("n_classes", [2, 3])
def test_lightgbm_splits_on_categories_itself_and_predicts_unseen_ones(modules, tmp_path, n_classes):
    """The few-level column reaches LightGBM as a native categorical; missing and unseen levels still predict."""
    X, y = _mixed_data("classification")
    y = np.minimum(y, n_classes - 1)
    data = _split(X, y, "classification")
    config = _config(_space("classification"), "lgbm")
    result = modules["classification"].train(config, data, 0, model_dir=str(tmp_path))
    _check_result(result, "classification", n_classes)
    booster = _lightgbm_of(tmp_path)
    assert isinstance(booster, LGBMClassifier) and booster.n_jobs == 1 and booster.verbose == -1
    features = booster.booster_.dump_model()["feature_infos"]
    assert features["Column_0"]["values"], "colour (3 levels, first output column) should be categorical"
    assert not any(info["values"] for name, info in features.items() if name != "Column_0")
    X_new = _with_unseen_levels(data["X_test"])
    X_new.loc[1, "colour"] = np.nan
    _check_saved_model(tmp_path, X_new, n_classes)


def test_lightgbm_stops_early_on_an_internal_split_when_the_data_allows(modules, tmp_path):
    """As hgb: 10 % of the fit rows watch the loss once they are at least MIN_HOLDOUT_ROWS["lgbm"] rows."""
    config = _config(_space("regression"), "lgbm")
    X, y = _mixed_data("regression", n_rows=300)
    modules["regression"].train(config, _split(X, y, "regression"), 0, model_dir=str(tmp_path / "stops"))
    stopped = _lightgbm_of(tmp_path / "stops")
    assert isinstance(stopped, LGBMRegressor) and stopped.get_params()["early_stopping_round"] == 15
    assert 0 < stopped.best_iteration_ == stopped.n_iter_ < config["lgbm:n_estimators"]
    X, y = _mixed_data("regression", n_rows=100)  # 80 fit rows: a split of 8 is too small to trust
    modules["regression"].train(config, _split(X, y, "regression"), 0, model_dir=str(tmp_path / "full"))
    full = _lightgbm_of(tmp_path / "full")
    assert "early_stopping_round" not in full.get_params() and full.n_iter_ == config["lgbm:n_estimators"]


def test_a_lightgbm_model_predicts_in_a_fresh_process(modules, tmp_path):
    """The saved model needs lightgbm and scikit-learn only, not the train.py that built it."""
    X, y = _mixed_data("classification")
    data = _split(X, y, "classification")
    modules["classification"].train(_config(_space("classification"), "lgbm"), data, 0, model_dir=str(tmp_path))
    X_new = _with_unseen_levels(data["X_test"])
    joblib.dump(X_new, tmp_path / "rows.joblib")
    script = (
        "import json, sys, joblib\n"
        "model, rows = joblib.load(sys.argv[1]), joblib.load(sys.argv[2])\n"
        "assert not any(name.startswith('offline_train') for name in sys.modules)\n"
        "print(json.dumps(model.predict_proba(rows).tolist()))\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path / MODEL_FILE), str(tmp_path / "rows.joblib")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    here = joblib.load(tmp_path / MODEL_FILE).predict_proba(X_new)
    np.testing.assert_allclose(np.array(json.loads(done.stdout)), here, rtol=1e-12)


def test_n_neighbors_is_clamped_to_the_training_rows(modules):
    X, y = _sklearn_data("diabetes", n_rows=40)
    space = _space("regression")
    values = dict(_config(space, "knn"))
    values["knn:n_neighbors"] = 50
    data = _split(X, y, "regression")
    result = modules["regression"].train(Configuration(space, values=values), data, 0, budget=0.2)
    assert math.isfinite(result["loss"])


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_spaces_have_the_writer_structure(task):
    space = _space(task)
    algorithm = space["algorithm"]
    assert list(algorithm.choices) == ALGORITHMS
    assert algorithm.default_value == "hgb"
    parents = {}
    for condition in space.conditions:
        assert isinstance(condition, EqualsCondition) and condition.parent.name == "algorithm"
        parents[condition.child.name] = condition.value
    for name in space:
        if name != "algorithm":
            assert parents[name] == name.split(":")[0], name


def test_template_has_each_placeholder_line_once():
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    tables = [f"{name} = ..." for name in FAMILY_TABLES]
    for placeholder in ('TASK = "__TASK__"', "BUDGET_KIND = None", "MAX_BUDGET = None", *tables):
        assert lines.count(placeholder) == 1, placeholder


def test_the_rendered_family_tables_are_the_planners(modules):
    """The rendered file's tables are automl.plan.algorithms' own, so the planner and train.py agree."""
    module = modules["classification"]
    for name, table in FAMILY_TABLES.items():
        assert getattr(module, name) == table(), name


def test_rendering_without_a_budget_keeps_the_row_fraction_meaning(modules):
    """No budget kind: a budget is the fraction of training rows, as before budgets had kinds."""
    X, y = _mixed_data("classification")
    data = _split(X, y, "classification")
    config = _config(_space("classification"), "rf")
    train = modules["classification"].train
    full, part = train(config, data, 0), train(config, data, 0, budget=0.3)
    assert (full["budget_used"], full["warm_started"]) == (1.0, 0.0)
    assert part["budget_used"] == pytest.approx(0.3, abs=0.02) and part["loss"] != full["loss"]


def test_the_template_saves_the_model_where_the_runner_looks():
    """The generated file names its model file itself (it cannot import automl): it must be rundir's MODEL_FILE."""
    assert f'joblib.dump(model, os.path.join(model_dir, "{MODEL_FILE}"))' in render_train("classification")
