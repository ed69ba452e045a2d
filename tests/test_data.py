"""Loading, splitting, encoding and describing data, and the errors bad data gets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.data import LabelCoder, apply_schema, load_table, prepare_dataset
from automl.data.dataset import prepare_table
from automl.data.features import learn_schema
from automl.data.target import infer_task
from automl.errors import DataError
from tests.conftest import mixed_table


def test_bundled_dataset_has_named_classes_and_a_held_out_test_split() -> None:
    data = prepare_dataset("sklearn:breast_cancer", seed=0)
    assert data.task == "classification"
    assert data.labels is not None and set(data.labels.classes) == {"benign", "malignant"}
    total = len(data.X_train) + len(data.X_valid) + len(data.X_test)
    assert total == 569
    assert len(data.X_test) == pytest.approx(0.2 * 569, abs=1)
    # Stratified: the class balance of the test split follows the whole data's.
    assert data.y_test.mean() == pytest.approx(212 / 569, abs=0.02)
    assert data.description["splits"]["test"] == len(data.X_test)


def test_csv_with_categoricals_and_missing_values(classification_csv: Path) -> None:
    data = prepare_dataset(str(classification_csv), target="label")
    assert data.task == "classification"
    assert str(data.X_train["colour"].dtype) == "category"
    assert data.X_train["size"].dtype == np.float64
    assert data.X_train["flag"].dtype == np.float64  # booleans become 0/1 numbers
    assert set(np.unique(data.y_train)) == {0, 1}
    described = {column["name"]: column for column in data.description["columns"]}
    assert described["colour"]["kind"] == "categorical"
    assert described["size"]["missing"] > 0
    assert data.description["target_summary"]["n_classes"] == 2
    assert "size" in data.description["missing"]["columns"]


def test_every_train_dataset_says_its_task_and_class_count() -> None:
    """train() reads K from the dataset, not from y: a fold or a subsample may miss a class."""
    data = prepare_dataset("sklearn:iris", seed=0)
    datasets = [data.search_dataset(), data.refit_dataset(), *data.fold_datasets(3, seed=0)]
    assert all(dataset["task"] == "classification" and dataset["n_classes"] == 3 for dataset in datasets)
    regression = prepare_dataset("sklearn:diabetes", seed=0).search_dataset()
    assert regression["task"] == "regression" and "n_classes" not in regression


def test_test_rows_are_disjoint_from_the_rows_train_sees() -> None:
    table = mixed_table(200)
    table["row_tag"] = np.arange(len(table)) + 0.5  # distinct, but not whole numbers: a feature, not an ID
    data = prepare_table(table, "label", seed=3)
    seen = set(data.X_train["row_tag"]) | set(data.X_valid["row_tag"])
    assert seen.isdisjoint(set(data.X_test["row_tag"]))
    assert len(seen) + len(data.X_test) == 200


def test_parquet_regression_and_separate_test_file(regression_parquet: Path, tmp_path: Path) -> None:
    test_path = tmp_path / "test.csv"
    mixed_table(60, task="regression", seed=9).to_csv(test_path, index=False)
    data = prepare_dataset(str(regression_parquet), target="label", test_source=str(test_path))
    assert data.task == "regression"
    assert len(data.X_test) == 60
    assert len(data.X_train) + len(data.X_valid) == 240
    assert data.description["target_summary"]["summary"]["std"] > 0


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (["a", "b", "a"], "classification"),
        ([0, 1, 1, 0], "classification"),
        ([True, False, True], "classification"),
        ([1.0, 2.0, 3.0], "classification"),
        ([0.5, 1.7, 3.2], "regression"),
        (list(range(100)), "regression"),
    ],
)
def test_task_inference(values: list, task: str) -> None:
    assert infer_task(pd.Series(values)) == task


def test_label_coder_round_trip_and_unknown_labels() -> None:
    coder = LabelCoder.fit(pd.Series(["b", "a", "c", "a"]))
    codes = coder.encode(pd.Series(["a", "c"]))
    assert codes.tolist() == [0, 2]
    assert coder.decode(codes).tolist() == ["a", "c"]
    assert LabelCoder.fit(pd.Series([1.0, 0.0])).classes == (0, 1)  # integral floats decode as ints
    with pytest.raises(DataError, match="'z'"):
        coder.encode(pd.Series(["z"]))


def test_schema_handles_unseen_categories_and_missing_columns() -> None:
    schema = learn_schema(pd.DataFrame({"x": [1.0, 2.0], "c": ["u", "v"]}))
    applied = apply_schema(pd.DataFrame({"c": ["w", "u"], "x": ["3", "oops"], "extra": [1, 2]}), schema)
    assert list(applied.columns) == ["x", "c"]
    assert applied["c"].isna().tolist() == [True, False]
    assert applied["x"].tolist()[0] == 3.0 and np.isnan(applied["x"].tolist()[1])
    with pytest.raises(DataError, match=r"lacks the feature column\(s\) \['x'\]"):
        apply_schema(pd.DataFrame({"c": ["u"]}), schema)


def _file(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


def _write(tmp_path: Path, frame: pd.DataFrame) -> str:
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("make", "target", "message"),
    [
        (lambda p: str(p / "nope.csv"), "y", "does not exist"),
        (lambda p: str(p), "y", r"has no images in class sub-folders: pass a \.csv or \.parquet file"),
        (lambda p: _file(p / "empty.csv", b""), "y", "is empty"),
        (lambda p: _file(p / "head.csv", b"a,b\n"), "y", "no data rows"),
        (lambda p: _file(p / "x.json", b"{}"), "y", "unknown type"),
        (lambda p: _file(p / "bad.parquet", b"not parquet"), "y", "cannot be read"),
        (lambda p: _write(p, mixed_table()), "missing", r"choose --target from \['size'"),
        (lambda p: _write(p, mixed_table().assign(label="same")), "label", "single class"),
        (lambda p: _write(p, mixed_table(task="regression").assign(label=1.5)), "label", "constant value"),
        (lambda p: _write(p, mixed_table(8)), "label", "at least 10"),
        (
            lambda p: _write(p, mixed_table()[["label"]].assign(empty=np.nan, same=1)),
            "label",
            r"every column was left out \('empty' \(empty\), 'same' \(constant\)\)",
        ),
        (lambda p: _write(p, mixed_table().assign(label=np.nan)), "label", "has no values"),
    ],
)
def test_bad_data_gets_one_clear_error(tmp_path: Path, make, target: str, message: str) -> None:
    with pytest.raises(DataError, match=message) as error:
        prepare_dataset(make(tmp_path), target=target)
    assert "\n" not in str(error.value)


def test_a_class_too_small_for_every_split_is_kept_for_training() -> None:
    """scikit-learn's stratified split refuses a one-row class; the split per class keeps that row for training."""
    table = mixed_table().assign(label=["a"] * 239 + ["b"])
    data = prepare_table(table, "label")
    assert list(data.labels.classes) == ["a", "b"]
    assert ((data.y_train == 1).sum(), (data.y_valid == 1).sum(), (data.y_test == 1).sum()) == (1, 0, 0)
    assert (len(data.y_test), len(data.y_train) + len(data.y_valid)) == (48, 192)  # about the usual 20 % held out


def test_unknown_bundled_dataset_lists_the_known_ones() -> None:
    with pytest.raises(DataError, match="sklearn:iris"):
        load_table("sklearn:nope")


def test_rows_without_target_are_dropped_and_counted() -> None:
    table = mixed_table()
    table.loc[:4, "label"] = None
    data = prepare_table(table, "label")
    assert data.description["rows_dropped_missing_target"] == 5
    assert data.description["n_rows"] + len(data.X_test) == 235


def test_labels_spelled_with_spaces_are_one_class_not_an_empty_one() -> None:
    """' yes' and 'yes' encode alike, so they must be one class: two would leave one of them with no rows."""
    table = mixed_table()
    table.loc[::3, "label"] = table.loc[::3, "label"].map(lambda label: f" {label}")
    data = prepare_table(table, "label")
    assert data.labels.classes == ("no", "yes") and data.description["target_summary"]["n_classes"] == 2
    assert all(entry["count"] > 0 for entry in data.description["target_summary"]["classes"])
    with pytest.raises(DataError, match=r"a single class \(' yes '\)"):
        prepare_table(table.assign(label=np.where(np.arange(len(table)) % 2, "yes", " yes ")), "label")


def test_infinite_numbers_are_missing_values_and_an_infinite_target_a_missing_one() -> None:
    table = mixed_table(task="regression")
    table.loc[:2, "size"] = [np.inf, -np.inf, np.inf]
    table.loc[3:4, "label"] = np.inf
    data = prepare_table(table, "label")
    assert data.description["rows_dropped_missing_target"] == 2
    for part in (data.X_train, data.X_valid, data.X_test):
        assert np.isfinite(part["size"].dropna()).all()
    assert np.isfinite(data.y_train).all() and np.isfinite(data.y_test).all()
    assert int(sum(part["size"].isna().sum() for part in (data.X_train, data.X_valid, data.X_test))) >= 3


def test_latin1_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,y\n" + b"caf\xe9,1\n" * 3)
    assert load_table(str(path))["name"].tolist() == ["caf\u00e9"] * 3


def test_a_label_key_names_a_class_however_a_file_spelled_it() -> None:
    from automl.data import label_key

    assert label_key(3) == label_key(3.0) == label_key(np.int64(3)) == label_key(" 3") == "3"
    assert label_key(np.bool_(True)) == label_key(True) == "True"
    assert label_key(2.5) == "2.5" and label_key("cat ") == "cat"


def test_fold_targets_are_the_folds_validation_targets() -> None:
    """The runner judges --cv trials against fold_targets; they must be the rows each fold validates on."""
    data = prepare_dataset("sklearn:wine", "target", seed=0)
    folds = data.fold_datasets(4, seed=3)
    assert [len(f["y_test"]) for f in folds] == [len(y) for y in data.fold_targets(4, seed=3)]
    assert all(np.array_equal(f["y_test"], y) for f, y in zip(folds, data.fold_targets(4, seed=3), strict=True))
