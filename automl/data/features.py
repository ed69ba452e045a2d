"""The feature schema: which columns a model gets and in which form.

The schema is learned once from the training table and then applied to every table the model sees
(validation, held-out test, new data for ``predict``), so all of them have the same columns, the
same dtypes and the same category levels. That is what lets a model saved by train() predict on a
CSV it has never seen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from automl.errors import DataError


@dataclass(frozen=True)
class Column:
    """One feature column: ``kind`` is ``numeric`` or ``categorical``; categories are strings."""

    name: str
    kind: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered feature columns a model expects."""

    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def to_dict(self) -> dict:
        return {"columns": [asdict(column) for column in self.columns]}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureSchema:
        return cls(tuple(Column(c["name"], c["kind"], tuple(c.get("categories", ()))) for c in data["columns"]))


def _is_categorical(series: pd.Series) -> bool:
    """Text, categories and booleans stored as text are categorical; numbers and booleans are numeric."""
    return not (
        pd.api.types.is_numeric_dtype(series)
        or pd.api.types.is_bool_dtype(series)
        or pd.api.types.is_datetime64_any_dtype(series)
    )


def _category_labels(series: pd.Series) -> pd.Series:
    """Category levels as strings, so 1, '1' and 1.0 from different files agree."""
    return series.map(lambda value: value if pd.isna(value) else str(value).strip(), na_action="ignore")


def learn_schema(features: pd.DataFrame) -> FeatureSchema:
    """Decide each column's kind and, for categorical columns, its levels (sorted for stability)."""
    all_missing = [name for name in features.columns if features[name].isna().all()]
    if all_missing:
        raise DataError(f"column(s) {all_missing} have no values at all: drop them from the data and run again")
    columns = []
    for name in features.columns:
        series = features[name]
        if _is_categorical(series):
            levels = sorted(set(_category_labels(series).dropna()))
            columns.append(Column(str(name), "categorical", tuple(levels)))
        else:
            columns.append(Column(str(name), "numeric"))
    return FeatureSchema(tuple(columns))


def apply_schema(table: pd.DataFrame, schema: FeatureSchema, source: str = "data") -> pd.DataFrame:
    """Return the schema's columns from ``table`` in train() form: float64 numbers, pandas categories.

    Extra columns (the target, IDs) are dropped; a missing column is an error naming it. Category
    levels not seen in training become missing values, which every model handles.
    """
    missing = [name for name in schema.names if name not in table.columns]
    if missing:
        raise DataError(
            f"{source} lacks the feature column(s) {missing} that the model was trained on: "
            "add them (values may be empty)"
        )
    converted = {}
    for column in schema.columns:
        series = table[column.name]
        if column.kind == "numeric":
            if pd.api.types.is_datetime64_any_dtype(series):
                # Days since 1970: a number trees and linear models can both use.
                series = (series - pd.Timestamp(0, tz=getattr(series.dt, "tz", None))) / pd.Timedelta(days=1)
            converted[column.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        else:
            labels = _category_labels(series)
            known = labels.where(labels.isin(column.categories))  # unseen levels become missing
            dtype = pd.CategoricalDtype(categories=list(column.categories))
            converted[column.name] = pd.Series(pd.Categorical(known, dtype=dtype), index=table.index)
    frame = pd.DataFrame(converted, index=table.index)
    return frame.reset_index(drop=True)


def numeric_summary(values: np.ndarray) -> dict[str, float]:
    """Location and spread of a numeric array, ignoring missing values (for dataset.json)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {}
    return {
        "mean": float(finite.mean()),
        "std": float(finite.std()),
        "min": float(finite.min()),
        "q25": float(np.quantile(finite, 0.25)),
        "median": float(np.median(finite)),
        "q75": float(np.quantile(finite, 0.75)),
        "max": float(finite.max()),
    }
