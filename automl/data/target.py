"""The target column: which task it implies and how class labels are encoded for train().

train() sees classes as 0..K-1; users see their own labels. :class:`LabelCoder` does both
directions and serializes to the run directory so ``automl predict`` decodes the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.errors import DataError

TASKS = ("classification", "regression")
# An integer target with at most this many distinct values is taken as class labels.
MAX_INTEGER_CLASSES = 20


def infer_task(target: pd.Series) -> str:
    """Classification for text, booleans and integer-valued targets with few levels; else regression."""
    values = target.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    as_float = values.astype("float64")
    integral = bool(np.all(np.equal(np.mod(as_float, 1), 0)))
    return "classification" if integral and values.nunique() <= MAX_INTEGER_CLASSES else "regression"


def label_key(label: object) -> str:
    """A comparable key for a class label that went through a file: 1, 1.0 and '1' name the same class."""
    if isinstance(label, bool | np.bool_):
        return str(bool(label))
    if isinstance(label, int | float | np.number) and float(label).is_integer():
        return str(int(label))
    return str(label).strip()


def _plain(value: object) -> object:
    """A label as a plain JSON value (numpy scalars become Python ones; integral floats stay floats)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class LabelCoder:
    """Maps the user's class labels to 0..K-1 and back. ``classes`` is in code order."""

    classes: tuple

    @classmethod
    def fit(cls, target: pd.Series) -> LabelCoder:
        values = target.dropna()
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            as_float = values.astype("float64")
            if np.all(np.equal(np.mod(as_float, 1), 0)):
                values = as_float.astype("int64")
        # One class per label_key, as encode() looks labels up: 'yes' and ' yes' are one class, named by the
        # spelling most rows use (else encode would merge them into one code and leave the other class empty).
        spellings = values.groupby(values.map(label_key), sort=False).agg(lambda same: same.value_counts().index[0])
        levels = sorted(spellings.tolist(), key=lambda label: (str(type(label)), label))
        return cls(tuple(_plain(level) for level in levels))

    def encode(self, target: pd.Series, source: str = "data") -> np.ndarray:
        """Codes 0..K-1; a label not seen in training is an error naming it."""
        lookup = {label_key(label): code for code, label in enumerate(self.classes)}
        keys = [label_key(value) for value in target]
        unknown = sorted({str(key) for key in keys if key not in lookup})
        if unknown:
            raise DataError(
                f"{source} has class label(s) {unknown[:5]} that the training data does not have: "
                "remove those rows or add examples of them to the training data"
            )
        return np.asarray([lookup[key] for key in keys], dtype=np.int64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The user's labels for codes 0..K-1."""
        return np.asarray(self.classes, dtype=object)[np.asarray(codes, dtype=np.int64)]


def infinite_as_missing(target: pd.Series) -> pd.Series:
    """A numeric target with its infinite values missing: their rows are dropped as those without a target."""
    return target.replace([np.inf, -np.inf], np.nan) if pd.api.types.is_float_dtype(target) else target


def check_target(target: pd.Series, name: str, task: str) -> None:
    """Reject targets no model can learn from: constant, or classes too small to split."""
    values = target.dropna()
    if values.empty:
        raise DataError(f"target column '{name}' has no values: choose another --target")
    distinct = values.map(label_key).nunique() if task == "classification" else values.nunique()
    if distinct < 2:
        what = "a single class" if task == "classification" else "a constant value"
        raise DataError(
            f"target column '{name}' has {what} ({_plain(values.iloc[0])!r}): nothing to learn; "
            "choose another --target or add rows with other values"
        )
    if task == "regression" and not pd.api.types.is_numeric_dtype(values):
        raise DataError(
            f"target column '{name}' is not numeric, so it cannot be a regression target: "
            "use --task classification or convert the column to numbers"
        )
