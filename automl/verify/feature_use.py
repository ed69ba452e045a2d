"""Does the saved model use the columns it is given? Shuffle one column at a time and watch the predictions.

A train() can pass every other check and still starve its model: ``X.select_dtypes(include=["object"])``
selects none of our categorical columns (they have pandas ``category`` dtype), so they never reach the
model, and SMAC then tunes a pipeline that cannot see them. Here the model the default configuration
saved predicts, in one sandbox job, a few validation rows and one copy of them per column with that
column's values moved to other rows. A column whose copy changes no prediction at all is unused.

A model may ignore a weak column by its own choice, so one unused column is only a warning; every
column of a kind unused (at least two of them) is how a selection bug looks, and rejects the draft.
A model that predicts one value for every row tells nothing either way (a tree on a few dozen rows may
never split): that is a warning too, not a rejection.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from automl.sandbox import Limits, TrialOutcome, run_predict

# Validation rows each copy holds, and about the most columns shuffled (a seeded choice in wider tables,
# at least two of each kind): the job predicts rows * (columns + 1) rows.
ROWS = 200
MAX_COLUMNS = 60
# Column names a message lists before it says "and n more".
LISTED = 8
# Why every column of a kind goes unused, and the fix.
KIND_FIXES = {
    "categorical": "categorical columns have pandas 'category' dtype, not 'object': select them with "
    "X.select_dtypes(include=['category', 'object']) and encode them in the model's pipeline "
    "(e.g. OneHotEncoder(handle_unknown='ignore'))",
    "numeric": "numeric columns are float64: select them with X.select_dtypes(include='number') and pass them "
    "through the model's pipeline (impute, scale) instead of dropping them",
}


def column_kind(series: pd.Series) -> str | None:
    """``categorical`` for pandas ``category`` dtype, ``numeric`` for numbers, None for anything else."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return "categorical"
    return "numeric" if pd.api.types.is_numeric_dtype(series) else None


def varying_columns(rows: pd.DataFrame) -> dict[str, str]:
    """The columns worth shuffling, with their kind: a column with one value (or none) cannot move anything."""
    return {column: kind for column in rows.columns
            if (kind := column_kind(rows[column])) is not None and rows[column].nunique(dropna=True) >= 2}  # fmt: skip


def chosen_columns(kinds: dict[str, str], seed: int) -> dict[str, str]:
    """All of ``kinds``, or in a wider table a seeded share of each kind's columns (at least two of each)."""
    if len(kinds) <= MAX_COLUMNS:
        return kinds
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for kind in dict.fromkeys(kinds.values()):  # in column order: a set's order is salted per process
        columns = [column for column, of in kinds.items() if of == kind]
        size = min(len(columns), max(2, round(MAX_COLUMNS * len(columns) / len(kinds))))
        chosen.update(columns[index] for index in rng.choice(len(columns), size=size, replace=False))
    return {column: kind for column, kind in kinds.items() if column in chosen}


def shuffled_copies(rows: pd.DataFrame, columns: list[str], seed: int) -> pd.DataFrame:
    """``rows``, then one copy per column whose values move along one seeded cycle through all rows.

    A single cycle leaves no row its own value, so a column with two values changes in at least two rows.
    Dtypes stay as they are: a categorical keeps its categories.
    """
    rng = np.random.default_rng(seed)
    copies = [rows]
    for column in columns:
        order = rng.permutation(len(rows))
        source = np.empty(len(rows), dtype=int)
        source[order] = np.roll(order, -1)
        copy = rows.copy()
        copy[column] = rows[column].iloc[source].reset_index(drop=True)
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def unchanged(predictions: np.ndarray, n_rows: int) -> list[bool]:
    """Per copy after the first block of ``n_rows``: whether every prediction equals the unshuffled one."""
    blocks = np.asarray(predictions, dtype=np.float64).reshape(-1, n_rows, *np.shape(predictions)[1:])
    return [bool(np.array_equal(block, blocks[0], equal_nan=True)) for block in blocks[1:]]


@dataclass(frozen=True)
class FeatureUse:
    """The columns shuffled (with their kind), those that moved no prediction, and the job that predicted."""

    kinds: dict[str, str]
    unused: tuple[str, ...]
    rows: int
    outcome: TrialOutcome | None = None  # None: no column varies, nothing was predicted
    constant: bool = False  # the model predicted one value for every row, shuffled or not: nothing to judge

    def _columns(self, kind: str) -> tuple[list[str], list[str]]:
        """The kind's shuffled columns, and those of them that are unused."""
        columns = [column for column, of in self.kinds.items() if of == kind]
        return columns, [column for column in columns if column in self.unused]

    def rejections(self) -> list[str]:
        """One message per kind whose every column (at least two) is unused."""
        found = []
        for kind, fix in KIND_FIXES.items():
            columns, unused = self._columns(kind)
            if len(columns) >= 2 and len(unused) == len(columns) and not self.constant:
                found.append(f"none of the {len(columns)} {kind} columns ({_listed(columns)}) changes a single "
                             f"prediction of the saved model when its values are shuffled across {self.rows} "
                             f"validation rows: the model never sees them. Likely cause and fix: {fix}")  # fmt: skip
        return found

    def warnings(self) -> list[str]:
        """One message per kind with unused columns that :meth:`rejections` does not already name."""
        if self.constant:
            return [f"the saved model predicts the same for all {self.rows} validation rows, shuffled or not, so "
                    "whether it uses its columns could not be judged: a model this simple is expected only on a "
                    "few dozen rows"]  # fmt: skip
        found = []
        for kind, fix in KIND_FIXES.items():
            columns, unused = self._columns(kind)
            if len(columns) == 1 and unused:
                found.append(f"the only {kind} column, '{unused[0]}', changes no prediction of the saved model when "
                             f"its values are shuffled across {self.rows} validation rows: the model ignores it. "
                             f"If it should not: {fix}")  # fmt: skip
            elif unused and len(unused) < len(columns):
                verb, them = ("changes", "it") if len(unused) == 1 else ("change", "them")
                found.append(f"{len(unused)} of the {len(columns)} {kind} columns ({_listed(unused)}) {verb} no "
                             f"prediction of the saved model when shuffled across {self.rows} validation rows: the "
                             f"model ignores {them}. A model may drop weak columns by itself; if they should count, "
                             "check how train() selects and encodes its columns")  # fmt: skip
        return found


def _listed(columns: list[str]) -> str:
    shown = ", ".join(f"'{column}'" for column in columns[:LISTED])
    return shown + (f" and {len(columns) - LISTED} more" if len(columns) > LISTED else "")


def measure_feature_use(model_path: Path, features: pd.DataFrame, limits: Limits, classify: bool,
                        seed: int) -> FeatureUse:  # fmt: skip
    """Which varying columns of ``features``' first rows change none of the saved model's predictions.

    Classifiers are judged by their class probabilities, which move before the predicted class does.
    """
    rows = features.head(ROWS).reset_index(drop=True)
    kinds = chosen_columns(varying_columns(rows), seed)
    if not kinds:
        return FeatureUse({}, (), len(rows))
    outcome, predictions = run_predict(model_path, shuffled_copies(rows, list(kinds), seed), limits,
                                       want_proba=classify)  # fmt: skip
    if predictions is None:
        return FeatureUse(kinds, (), len(rows), outcome)
    judged = predictions.proba if predictions.proba is not None else predictions.values
    same = unchanged(judged, len(rows))
    unused = tuple(column for column, still in zip(kinds, same, strict=True) if still)
    return FeatureUse(kinds, unused, len(rows), outcome, constant=len(unused) == len(kinds) and _one_value(judged))


def _one_value(predictions: np.ndarray) -> bool:
    """Whether every row got the same prediction (a row of class probabilities, or one number)."""
    rows = np.asarray(predictions, dtype=np.float64).reshape(len(predictions), -1)
    return bool(np.all(rows == rows[0]))
