"""Describe the data a writer may look at: the non-test rows only, so the test set stays unseen.

The description is what a language model reads before it plans and writes code, and what a person
reads in ``dataset.json``: sizes, column kinds, missing values, classes and their balance, target
statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.data.features import FeatureSchema, numeric_summary
from automl.data.target import LabelCoder

# How many of a categorical column's most frequent levels to list.
TOP_LEVELS = 10


def describe_columns(raw: pd.DataFrame, features: pd.DataFrame, schema: FeatureSchema) -> list[dict[str, Any]]:
    """Per feature column: kind, original dtype, missing values, distinct values and a summary."""
    described = []
    for column in schema.columns:
        series = features[column.name]
        entry: dict[str, Any] = {
            "name": column.name,
            "kind": column.kind,
            "dtype": str(raw[column.raw_name].dtype),
            "missing": int(series.isna().sum()),
            "missing_fraction": round(float(series.isna().mean()), 4),
            "n_unique": int(series.nunique(dropna=True)),
        }
        if column.part:
            entry.update(source=column.source, part=column.part)
        if column.kind == "numeric":
            entry["summary"] = numeric_summary(series.to_numpy(dtype="float64"))
        else:
            entry["n_levels"] = len(column.categories)
            counts = series.value_counts(dropna=True).head(TOP_LEVELS)
            entry["top_levels"] = {str(level): int(count) for level, count in counts.items()}
        described.append(entry)
    return described


def describe_target(codes: np.ndarray, task: str, labels: LabelCoder | None) -> dict[str, Any]:
    """Classes with counts and balance for classification; distribution statistics for regression."""
    if task == "regression":
        return {"summary": numeric_summary(np.asarray(codes, dtype="float64"))}
    assert labels is not None
    counts = np.bincount(codes, minlength=len(labels.classes))
    total = int(counts.sum())
    return {
        "n_classes": len(labels.classes),
        "classes": [
            {"label": label, "code": code, "count": int(count), "fraction": round(count / total, 4)}
            for code, (label, count) in enumerate(zip(labels.classes, counts, strict=True))
        ],
        "majority_fraction": round(float(counts.max() / total), 4),
        "imbalance_ratio": round(float(counts.max() / max(counts.min(), 1)), 3),
    }


def missing_overview(features: pd.DataFrame) -> dict[str, Any]:
    """How much is missing overall and in which columns."""
    per_column = features.isna().sum()
    cells = features.shape[0] * max(features.shape[1], 1)
    return {
        "cells": int(per_column.sum()),
        "fraction": round(float(per_column.sum() / cells), 4),
        "columns": [str(name) for name, count in per_column.items() if count > 0],
    }


def describe_typing(schema: FeatureSchema) -> list[dict[str, Any]]:
    """Every raw column's typing and why, left-out columns included (dataset.json and the prompt read it)."""
    return [{"name": t.name, "kind": t.kind, "reason": t.reason} for t in schema.types]
