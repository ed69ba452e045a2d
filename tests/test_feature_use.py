"""The feature-use check: a saved model that never sees a kind of column is caught, a sound one is not.

Models are fitted here on prepared data (the frames train() gets: float64 numbers, pandas categories)
and judged by the real check, which predicts in the sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from ConfigSpace import Configuration, ConfigurationSpace
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from automl.data.dataset import prepare_table
from automl.sandbox import Limits, warm_up
from automl.verify.feature_use import FeatureUse, measure_feature_use, shuffled_copies
from automl.writers.offline import render_train
from tests.conftest import load_source, mixed_table

ROOT = Path(__file__).resolve().parents[1]
ALGORITHMS = ["hgb", "lgbm", "rf", "et", "linear", "knn", "svm", "mlp"]


def _dataset(task: str) -> dict[str, Any]:
    """mixed_table with a second categorical column: two categorical and three numeric columns."""
    table = mixed_table(task=task)
    table["band"] = pd.cut(table["size"], 3, labels=["small", "medium", "large"]).astype(str)
    return prepare_table(table, "label", task=task, seed=0).search_dataset()


@pytest.fixture(scope="module")
def datasets() -> dict[str, dict[str, Any]]:
    return {task: _dataset(task) for task in ("classification", "regression")}


@pytest.fixture(scope="module", autouse=True)
def models_shown(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The models these tests save lie in a folder of their own each; under bubblewrap the sandbox would restart
    to show every one (as it must for a model it has not seen), so the tests' temporary root is shown once, as a
    saved model shows its run's model folder."""
    warm_up(readable=[tmp_path_factory.getbasetemp()])


def _pipeline(categorical: list[str], numeric: list[str], task: str) -> Any:
    parts = [("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
             ("numeric", SimpleImputer(), numeric)]  # fmt: skip
    model = LogisticRegression(max_iter=500) if task == "classification" else Ridge()
    return make_pipeline(ColumnTransformer([part for part in parts if part[2]]), model)


def _judge(model: Any, dataset: dict[str, Any], task: str, tmp_path: Path) -> FeatureUse:
    model.fit(dataset["X"], dataset["y"])
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    use = measure_feature_use(path, dataset["X_test"], Limits(walltime_s=30), task == "classification", seed=0)
    assert use.outcome is not None and use.outcome.ok, use.outcome
    return use


def test_each_copy_shuffles_one_column_and_keeps_every_dtype(datasets) -> None:
    rows = datasets["classification"]["X_test"].head(40)
    stacked = shuffled_copies(rows, ["colour", "size"], seed=0)
    assert len(stacked) == 3 * len(rows)
    assert (stacked.dtypes == rows.dtypes).all()
    assert list(stacked["colour"].cat.categories) == list(rows["colour"].cat.categories)
    first, second = stacked.iloc[40:80].reset_index(drop=True), stacked.iloc[80:].reset_index(drop=True)
    assert first.drop(columns="colour").equals(rows.drop(columns="colour").reset_index(drop=True))
    assert second.drop(columns="size").equals(rows.drop(columns="size").reset_index(drop=True))
    # One cycle through every row: the values are the same, each moved to another row.
    assert sorted(second["size"].fillna(-1)) == sorted(rows["size"].fillna(-1))
    assert (second["size"].fillna(-1).to_numpy() != rows["size"].fillna(-1).to_numpy()).sum() >= 2


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_categorical_columns_selected_as_object_are_a_rejection(datasets, task: str, tmp_path: Path) -> None:
    dataset = datasets[task]
    X = dataset["X"]
    use = _judge(_pipeline(list(X.select_dtypes(include=["object"]).columns),
                           list(X.select_dtypes(include="number").columns), task), dataset, task, tmp_path)  # fmt: skip
    assert set(use.unused) == {"colour", "band"}
    [rejection] = use.rejections()
    assert "none of the 2 categorical columns ('colour', 'band')" in rejection
    assert "select_dtypes(include=['category', 'object'])" in rejection
    assert use.warnings() == []


@pytest.mark.parametrize(
    ("drop", "rejected", "warned"),
    [
        ([], None, None),
        (["noise"], None, "1 of the 3 numeric columns ('noise') changes no prediction"),
        (["colour"], None, "1 of the 2 categorical columns ('colour') changes no prediction"),
        (["size", "flag", "noise"], "none of the 3 numeric columns", None),
    ],
    ids=["all-used", "one-numeric-dropped", "one-categorical-dropped", "no-numeric"],
)
def test_a_model_that_ignores_some_columns_gets_a_warning(
    datasets, drop: list[str], rejected: str | None, warned: str | None, tmp_path: Path
) -> None:
    dataset = datasets["classification"]
    categorical = [column for column in ("colour", "band") if column not in drop]
    numeric = [column for column in ("size", "flag", "noise") if column not in drop]
    use = _judge(_pipeline(categorical, numeric, "classification"), dataset, "classification", tmp_path)
    assert set(use.unused) == set(drop)
    assert [rejected in message for message in use.rejections()] == ([True] if rejected else [])
    assert [warned in message for message in use.warnings()] == ([True] if warned else [])


def test_the_only_column_of_a_kind_unused_is_a_warning_with_the_likely_cause(datasets, tmp_path: Path) -> None:
    dataset = {key: value.drop(columns="band") if key in ("X", "X_test") else value
               for key, value in datasets["classification"].items()}  # fmt: skip
    use = _judge(_pipeline([], ["size", "flag", "noise"], "classification"), dataset, "classification", tmp_path)
    assert use.rejections() == []
    [warning] = use.warnings()
    assert "the only categorical column, 'colour'" in warning and "pandas 'category' dtype" in warning


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_model_that_predicts_one_value_for_every_row_is_a_warning_not_a_rejection(
    datasets, task: str, tmp_path: Path
) -> None:
    """A tree on a few dozen rows may never split: its constant predictions say nothing about column selection."""
    constant = DummyClassifier() if task == "classification" else DummyRegressor()
    model = make_pipeline(ColumnTransformer([("all", "passthrough", ["size", "flag", "noise"])]), constant)
    use = _judge(model, datasets[task], task, tmp_path)
    assert use.constant and set(use.unused) == set(use.kinds)
    assert use.rejections() == []
    [warning] = use.warnings()
    assert "predicts the same for all" in warning and "could not be judged" in warning


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_offline_writers_models_use_every_kind_of_column(datasets, task: str, tmp_path: Path) -> None:
    """No false rejection of the built-in train.py, whichever algorithm the default configuration picks."""
    train = load_source(render_train(task), tmp_path / "train.py", f"feature_use_train_{task}").train
    space = ConfigurationSpace.from_json(ROOT / "configs" / f"offline_{task}.json")
    with threadpool_limits(limits=1):
        for algorithm in ALGORITHMS:
            values = {hp.name: hp.default_value for hp in space.values() if hp.name.startswith(f"{algorithm}:")}
            model_dir = tmp_path / algorithm
            train(Configuration(space, values={"algorithm": algorithm, **values}), datasets[task], 0,
                  model_dir=str(model_dir))  # fmt: skip
            use = measure_feature_use(model_dir / "model.joblib", datasets[task]["X_test"], Limits(walltime_s=30),
                                      task == "classification", seed=0)  # fmt: skip
            assert use.outcome is not None and use.outcome.ok
            assert use.rejections() == [], (algorithm, use.unused)
            assert set(use.kinds.values()) == {"categorical", "numeric"}


def test_rows_where_nothing_varies_are_not_predicted(tmp_path: Path) -> None:
    use = measure_feature_use(tmp_path / "never-read.joblib", pd.DataFrame({"a": [1.0, 1.0, np.nan]}),
                              Limits(walltime_s=30), classify=False, seed=0)  # fmt: skip
    assert (use.kinds, use.outcome, use.rejections(), use.warnings()) == ({}, None, [], [])
