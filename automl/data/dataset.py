"""Turn a user's table into the splits a run needs, with the held-out test set taken first.

Order matters for honesty: the test rows are split off the raw table before the schema, the label
codes or the description are learned, so nothing downstream (the writer, train(), SMAC) is shaped by
them. The rest is split again into the rows train() fits on and the validation rows it is scored on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl.data.column_types import ColumnType, detect_column, parse_numbers
from automl.data.describe import describe_columns, describe_target, describe_typing, missing_overview
from automl.data.features import FeatureSchema, apply_schema, learn_schema
from automl.data.load import BUNDLED_TARGET, SKLEARN_PREFIX, load_table
from automl.data.target import TASKS, LabelCoder, check_target, infer_task, infinite_as_missing
from automl.data.tensors import (
    IMAGE_TARGET,
    TensorSchema,
    describe_tensors,
    is_tensor_source,
    load_tensors,
    standard_shape,
    tensor_fingerprint,
)
from automl.errors import DataError

# Fewer rows than this cannot give train, validation and test parts worth scoring.
MIN_ROWS = 10


@dataclass(frozen=True)
class SplitSizes:
    """Fractions of the held-out test split and of the validation split inside the rest.

    Small data gets a larger validation share (up to ``max_validation``) so that it holds at least
    ``min_validation_rows``: every trial is ranked on it, and ranking many trials on a few dozen rows
    picks whichever configuration got lucky on them.
    """

    test: float = 0.2
    validation: float = 0.2
    min_validation_rows: int = 150
    max_validation: float = 0.35

    def validation_for(self, n_rows: int) -> float:
        """The validation fraction for ``n_rows`` non-test rows."""
        wanted = self.min_validation_rows / max(n_rows, 1)
        return min(max(self.validation, wanted), self.max_validation)


@dataclass
class PreparedData:
    """Everything later stages need from the data; test rows are only read by the evaluator."""

    task: str
    target: str
    schema: FeatureSchema | TensorSchema
    labels: LabelCoder | None
    X_train: pd.DataFrame | np.ndarray  # a table's frame, or a tensor source's float32 array
    y_train: np.ndarray
    X_valid: pd.DataFrame | np.ndarray
    y_valid: np.ndarray
    X_test: pd.DataFrame | np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    description: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def modality(self) -> str:
        """``"table"`` or ``"tensor"``: which writer's template and which checks of train() apply."""
        return "tensor" if isinstance(self.schema, TensorSchema) else "table"

    @property
    def facts(self) -> dict[str, Any]:
        """What every train() dataset says besides its rows: the task and, for classification, K.

        A fit subsample, a fold or a budget fraction may miss a class, so train() cannot count the
        classes in ``y``; it reads K here to build one probability column per class 0..K-1.
        """
        n_classes = len(self.labels.classes) if self.labels is not None else None
        return {"task": self.task, **({"n_classes": n_classes} if n_classes is not None else {})}

    def search_dataset(self) -> dict[str, Any]:
        """What train() gets during optimization: fit rows, plus validation rows as X_test/y_test."""
        return {"X": self.X_train, "y": self.y_train, "X_test": self.X_valid, "y_test": self.y_valid, **self.facts}

    def refit_dataset(self) -> dict[str, Any]:
        """What the final refit gets: every non-test row (validation rows included) to fit on."""
        X_all = _stack(self.X_train, self.X_valid)
        y_all = np.concatenate([self.y_train, self.y_valid])
        return {"X": X_all, "y": y_all, "X_test": self.X_valid, "y_test": self.y_valid, **self.facts}

    def fold_datasets(self, k: int, seed: int) -> list[dict[str, Any]]:
        """``k`` cross-validation folds of every non-test row: fold i validates on its i-th part.

        Stratified for classification, so every fold sees every class; the test rows stay out.
        """
        rows = self.refit_dataset()
        return [{**_rows(rows["X"], rows["y"], fit, valid), **self.facts} for fit, valid in self._fold_rows(k, seed)]

    def fold_targets(self, k: int, seed: int) -> list[np.ndarray]:
        """The true targets of each fold's validation rows (those of :meth:`fold_datasets`), without copying X."""
        y = np.concatenate([self.y_train, self.y_valid])
        return [y[valid] for _, valid in self._fold_rows(k, seed)]

    def _fold_rows(self, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """(fit rows, validation rows) of each fold, as positions in the non-test rows (train, then validation)."""
        y = np.concatenate([self.y_train, self.y_valid])
        if k > len(y):
            raise DataError(f"--cv {k} needs at least {k} rows to tune on, the data has {len(y)}: lower --cv")
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed) if self.task == "classification" else None
        if splitter is not None and np.bincount(y).min() < k:
            raise DataError(f"--cv {k}: the rarest class has only {np.bincount(y).min()} rows to tune on, fewer than "
                            f"the folds; lower --cv")  # fmt: skip
        return list((splitter or KFold(k, shuffle=True, random_state=seed)).split(np.zeros((len(y), 1)), y))


def _rows(X: pd.DataFrame | np.ndarray, y: np.ndarray, fit: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
    """A train() dataset fitting on rows ``fit`` and validating on rows ``valid``."""
    return {"X": take_rows(X, fit), "y": y[fit], "X_test": take_rows(X, valid), "y_test": y[valid]}


def take_rows(X: pd.DataFrame | np.ndarray, rows: np.ndarray) -> pd.DataFrame | np.ndarray:
    """Rows ``rows`` (positions) of a table (renumbered from 0) or of an array."""
    return X.iloc[rows].reset_index(drop=True) if isinstance(X, pd.DataFrame) else X[rows]


def _stack(first: pd.DataFrame | np.ndarray, second: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    """Two parts' rows one after the other, as the parts are (tables or arrays)."""
    if isinstance(first, pd.DataFrame):
        return pd.concat([first, second], ignore_index=True)
    return np.concatenate([first, second])


def fingerprint(table: pd.DataFrame) -> str:
    """A short content hash of a table, recorded in run.json to tell datasets apart."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    digest.update(",".join(map(str, table.columns)).encode())
    return digest.hexdigest()[:16]


def resolve_target(source: str, target: str | None, columns: list[str]) -> str:
    """The target column: given, or ``target`` for bundled sets; a missing one lists the columns."""
    if target is None:
        if source.startswith(SKLEARN_PREFIX):
            return BUNDLED_TARGET
        raise DataError(f"no target column given for '{source}': pass --target with one of {columns}")
    if target not in columns:
        raise DataError(f"target column '{target}' is not in '{source}': choose --target from {columns}")
    return target


def _split(
    table: pd.DataFrame, fraction: float, stratify: pd.Series | None, seed: int, what: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows; a split that cannot be made becomes a DataError naming the part.

    Classes too small for scikit-learn's stratified split (one row, or fewer rows in the part than
    classes) are split per class instead, each keeping at least one row on the training side.
    """
    try:
        rest, part = train_test_split(table, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError as error:
        rest, part = _split_by_class(table, fraction, stratify, seed) if stratify is not None else (table, table[:0])
        if part.empty:
            raise DataError(f"cannot split off the {what} rows ({error}): add rows, or merge rare classes") from None
    return rest, part


def _split_by_class(
    table: pd.DataFrame, fraction: float, labels: pd.Series, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """About ``fraction`` of each class's rows for the part, rounded, and never a class's last row."""
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(table), dtype=bool)
    for positions in labels.reset_index(drop=True).groupby(labels.to_numpy(), sort=True).indices.values():
        size = min(round(fraction * len(positions)), len(positions) - 1)
        chosen[rng.choice(positions, size=size, replace=False)] = True
    return table[~chosen], table[chosen]


def _check_sizes(target: pd.Series) -> None:
    """Enough rows overall to train, validate and test (a class too small for every split trains only)."""
    if len(target) < MIN_ROWS:
        raise DataError(
            f"only {len(target)} rows with a target value (n_samples={len(target)}): at least {MIN_ROWS} are needed "
            "to train, validate and test; add rows"
        )


def prepare_dataset(
    source: str,
    target: str | None = None,
    task: str = "auto",
    test_source: str | None = None,
    seed: int = 0,
    sizes: SplitSizes = SplitSizes(),
    kinds: dict[str, str] | None = None,
) -> PreparedData:
    """Load ``source`` (and ``test_source``) from disk or scikit-learn, then :func:`prepare_table`
    (or :func:`prepare_tensors` for an image folder, an ``.npz`` file or a bundled image set)."""
    if is_tensor_source(source):
        return prepare_tensors(source, task, test_source, seed, sizes)
    table = load_table(source)
    target = resolve_target(source, target, list(table.columns))
    test_table = load_table(test_source) if test_source is not None else None
    return prepare_table(table, target, task, test_table, seed, sizes, source, test_source, kinds)


def _numeric_target(target: pd.Series, target_type: ColumnType, task: str) -> bool:
    """Whether a target of numbers stored as text ("179,574") is read as numbers: for a regression.

    Class labels written as digits ("1", "2", "3") stay text, so predictions come back as the user wrote them.
    """
    return task == "regression" or (
        task == "auto" and infer_task(parse_numbers(target, target_type)[0]) == "regression"
    )


def prepare_table(
    table: pd.DataFrame,
    target: str,
    task: str = "auto",
    test_table: pd.DataFrame | None = None,
    seed: int = 0,
    sizes: SplitSizes = SplitSizes(),
    source: str = "data",
    test_source: str | None = None,
    kinds: dict[str, str] | None = None,
) -> PreparedData:
    """Split off the test rows (unless ``test_table`` is given), learn the schema and describe the rest.

    ``kinds`` types the columns it names instead of detecting them (``--types``, ``--drop``, ``--id``).
    """
    file_format = table.attrs.get("file_format")  # how a delimited file was read, when it was one
    if target not in table.columns:
        raise DataError(f"target column '{target}' is not in '{source}': choose --target from {list(table.columns)}")
    unknown = sorted(set(kinds or {}) - set(table.columns) | ({target} & set(kinds or {})))
    if unknown:
        raise DataError(f"--types/--drop/--id name column(s) {unknown} that are not features of '{source}': "
                        f"choose from {[name for name in table.columns if name != target]}")  # fmt: skip
    if table.shape[1] < 2:
        raise DataError(f"'{source}' has no feature columns besides the target '{target}': add feature columns")
    target_type = detect_column(target, table[target])
    if target_type.kind == "number_text" and _numeric_target(table[target], target_type, task):
        table = table.assign(**{target: parse_numbers(table[target], target_type)[0]})
        if test_table is not None and target in test_table.columns:
            test_table = test_table.assign(**{target: parse_numbers(test_table[target], target_type)[0]})
    table = table.assign(**{target: infinite_as_missing(table[target])})
    if test_table is not None and target in test_table.columns:
        test_table = test_table.assign(**{target: infinite_as_missing(test_table[target])})
    dropped = int(table[target].isna().sum())
    table = table[table[target].notna()].reset_index(drop=True)
    if task == "auto":
        task = infer_task(table[target])
    elif task not in TASKS:
        raise DataError(f"unknown task '{task}': use auto, classification or regression")
    if not table.empty:  # a target with no values at all is check_target's to name
        _check_sizes(table[target])  # first: a single row is also a constant target, but its row count is the cause
    check_target(table[target], target, task)
    stratify = task == "classification"

    if test_table is None:
        rest, test = _split(table, sizes.test, table[target] if stratify else None, seed, "test")
    else:
        test = test_table
        if target not in test.columns:
            raise DataError(f"test data '{test_source}' lacks the target column '{target}': add it")
        test = test[test[target].notna()].reset_index(drop=True)
        if test.empty:
            raise DataError(f"test data '{test_source}' has no rows with a target value: add rows")
        rest = table
    validation = sizes.validation_for(len(rest))
    train, valid = _split(rest, validation, rest[target] if stratify else None, seed, "validation")

    features = [name for name in table.columns if name != target]
    schema = learn_schema(rest[features], kinds)
    labels = LabelCoder.fit(rest[target]) if stratify else None

    def encode(part: pd.DataFrame, what: str) -> np.ndarray:
        if labels is not None:
            return labels.encode(part[target], what)
        numbers = pd.to_numeric(part[target], errors="coerce")
        if numbers.isna().any():
            raise DataError(f"{what} has non-numeric values in the regression target '{target}': fix or drop them")
        return numbers.to_numpy(dtype="float64")

    X_train, X_valid = apply_schema(train, schema), apply_schema(valid, schema)
    X_test = apply_schema(test, schema, f"test data '{test_source}'" if test_source else "test data")
    y_train, y_valid = encode(train, "training data"), encode(valid, "validation data")
    y_test = encode(test, f"test data '{test_source}'" if test_source else "test data")

    described = pd.concat([X_train, X_valid], ignore_index=True)
    description = {
        "source": source,
        "target": target,
        "task": task,
        "n_rows": len(rest),
        "n_features": len(schema.columns),
        "n_numeric": sum(column.kind == "numeric" for column in schema.columns),
        "n_categorical": sum(column.kind == "categorical" for column in schema.columns),
        "rows_dropped_missing_target": dropped,
        "splits": {
            "train": len(X_train),
            "validation": len(X_valid),
            "test": len(X_test),
            "test_source": test_source or f"held out {sizes.test:.0%} of '{source}' before anything else",
        },
        "missing": missing_overview(described),
        "target_summary": describe_target(np.concatenate([y_train, y_valid]), task, labels),
        "columns": describe_columns(rest, described, schema),
        "column_types": describe_typing(schema),
        "file_format": file_format,
    }
    return PreparedData(
        task,
        target,
        schema,
        labels,
        X_train,
        y_train,
        X_valid,
        y_valid,
        X_test,
        y_test,
        description,
        fingerprint(table),
    )


def prepare_tensors(
    source: str, task: str = "auto", test_source: str | None = None, seed: int = 0, sizes: SplitSizes = SplitSizes()
) -> PreparedData:
    """A tensor source split as a table is: the test rows first (stratified), then train and validation.

    The labels are coded as a table's target column would be (folder names, or the values of ``y``), and the
    description says what a writer needs of the arrays (shape, channels, value range) instead of columns.
    """
    X, raw = load_tensors(source)
    test = load_tensors(test_source) if test_source is not None else None
    return prepare_arrays(X, raw, task, test, seed, sizes, source, test_source)


def prepare_arrays(
    X: np.ndarray,
    raw: np.ndarray,
    task: str = "auto",
    test: tuple[np.ndarray, np.ndarray] | None = None,
    seed: int = 0,
    sizes: SplitSizes = SplitSizes(),
    source: str = "arrays",
    test_source: str | None = None,
) -> PreparedData:
    """:func:`prepare_tensors` of arrays already in memory (the Python API's ``fit(X_images, y)``)."""
    X = standard_shape(X, source)
    target = infinite_as_missing(pd.Series(raw, name=IMAGE_TARGET))
    kept = target.notna().to_numpy()  # as in a table: rows without a (finite) target are left out
    dropped = int((~kept).sum())
    if dropped:
        X, target = X[kept], target[kept].reset_index(drop=True)
    if task == "auto":
        task = infer_task(target)
    elif task not in TASKS:
        raise DataError(f"unknown task '{task}': use auto, classification or regression")
    _check_sizes(target)
    check_target(target, IMAGE_TARGET, task)
    stratify = task == "classification"
    rows = pd.DataFrame({"row": np.arange(len(X)), IMAGE_TARGET: target})
    if test is None:
        rest, held_out = _split(rows, sizes.test, rows[IMAGE_TARGET] if stratify else None, seed, "test")
        X_test_raw, y_test_raw = X[held_out["row"].to_numpy()], held_out[IMAGE_TARGET]
    else:
        rest, X_test_raw, y_test_raw = rows, standard_shape(test[0], test_source or "test data"), pd.Series(test[1])
    train, valid = _split(rest, sizes.validation_for(len(rest)), rest[IMAGE_TARGET] if stratify else None, seed,
                          "validation")  # fmt: skip
    schema = TensorSchema.of(X)
    if tuple(X_test_raw.shape[1:]) != schema.shape:
        raise DataError(f"test data '{test_source}' has samples of shape {tuple(X_test_raw.shape[1:])}, the training "
                        f"data {schema.shape}: pass test data of the same shape")  # fmt: skip
    labels = LabelCoder.fit(rest[IMAGE_TARGET]) if stratify else None

    def encode(values: pd.Series, what: str) -> np.ndarray:
        if labels is not None:
            return labels.encode(values, what)
        return pd.to_numeric(values, errors="raise").to_numpy(dtype="float64")

    X_train, X_valid = X[train["row"].to_numpy()], X[valid["row"].to_numpy()]
    y_train, y_valid = encode(train[IMAGE_TARGET], "training data"), encode(valid[IMAGE_TARGET], "validation data")
    y_test = encode(y_test_raw, f"test data '{test_source}'" if test_source else "test data")
    described = np.concatenate([X_train, X_valid])
    n_values = int(np.prod(schema.shape))
    description = {
        "source": source,
        "target": IMAGE_TARGET,
        "task": task,
        "modality": "tensor",
        "n_rows": len(rest),
        "n_features": n_values,
        "n_numeric": n_values,
        "n_categorical": 0,
        "rows_dropped_missing_target": dropped,
        "splits": {
            "train": len(X_train),
            "validation": len(X_valid),
            "test": len(X_test_raw),
            "test_source": test_source or f"held out {sizes.test:.0%} of '{source}' before anything else",
        },
        "missing": {"cells": 0, "fraction": 0.0, "columns": []},
        "target_summary": describe_target(np.concatenate([y_train, y_valid]), task, labels),
        "tensor": describe_tensors(described, schema),
        "columns": [],
        "column_types": [],
        "file_format": None,
    }
    return PreparedData(task, IMAGE_TARGET, schema, labels, X_train, y_train, X_valid, y_valid, X_test_raw, y_test,
                        description, tensor_fingerprint(X, raw))  # fmt: skip
