"""Copies of the smoke subsample with another class structure, for train() to survive.

A train() that counts the classes in ``y`` or hard-codes them (``log_loss(..., labels=[0, 1, 2])``)
passes on the table it was written for, then crashes on a fit subsample that misses a class or on a
dataset with another number of classes. K is ``dataset["n_classes"]``; these copies say so: one whose
fit rows lack a class (K unchanged, the validation rows keep it) and one with another K.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.data.dataset import take_rows

# How every hint ends: where K comes from, and what never to write.
READ_K = "read K from dataset['n_classes'] and never hard-code class labels or counts"


@dataclass(frozen=True)
class ClassVariant:
    """A changed copy of a classification dataset: its label (the check's and file's name) and the hint
    that leads a failure's message, saying what was changed and how to fix train()."""

    label: str
    dataset: dict[str, Any]
    hint: str


def class_variants(dataset: dict[str, Any], n_classes: int, seed: int) -> list[ClassVariant]:
    """The copies of ``dataset`` (a smoke subsample of ``n_classes`` classes, each in both parts) to try.

    With K >= 3 the fit rows lose class K-1 (two classes or more remain to fit); with K = 2 one class
    would remain, which no classifier fits, so only the copy with another K is made.
    """
    variants = [_missing_class(dataset, n_classes)] if n_classes >= 3 else []
    return [*variants, _other_class_count(dataset, n_classes, seed)]


def _missing_class(dataset: dict[str, Any], n_classes: int) -> ClassVariant:
    """Every fit row of the last class dropped; n_classes and the validation rows unchanged."""
    missing = n_classes - 1
    kept = np.asarray(dataset["y"]) != missing
    copy = {
        **dataset,
        "X": take_rows(dataset["X"], np.flatnonzero(kept)),
        "y": np.asarray(dataset["y"])[kept],
        "n_classes": n_classes,
    }
    hint = (f"train() failed on a copy of the data whose fit rows lack class {missing} (dataset['n_classes'] is still "
            f"{n_classes} and the validation rows keep that class): {READ_K}, and give predict_proba's columns to "
            "the classes they stand for (proba = np.zeros((len(X), K)); proba[:, model.classes_] = "
            "model.predict_proba(X)).")  # fmt: skip
    return ClassVariant("class_missing_from_fit", copy, hint)


def _other_class_count(dataset: dict[str, Any], n_classes: int, seed: int) -> ClassVariant:
    """Two classes become three (class 1's rows split at random), more than two become two (y > 0 -> 1)."""
    rng = np.random.default_rng(seed)
    target = 3 if n_classes == 2 else 2

    def relabel(y: Any) -> np.ndarray:
        y = np.asarray(y).copy()
        if target == 2:
            return (y > 0).astype(y.dtype)
        ones = rng.permutation(np.flatnonzero(y == 1))
        y[ones[::2]] = 2  # every other one, so both halves keep rows whenever class 1 has two
        return y

    copy = {**dataset, "y": relabel(dataset["y"]), "y_test": relabel(dataset["y_test"]), "n_classes": target}
    hint = (f"train() failed on a copy of the data with {target} classes instead of {n_classes}: {READ_K} "
            "(log_loss(..., labels=list(range(K)))).")  # fmt: skip
    return ClassVariant(f"{target}_classes", copy, hint)
