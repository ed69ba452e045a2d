"""Test metrics computed by the runner from predictions, never taken from what generated code reports.

Classification: accuracy, balanced accuracy, macro F1, log loss, and ROC AUC for two classes.
Regression: RMSE, MAE, R². The same functions score the ``default`` baseline in benchmarks.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics

from automl.errors import VerifyError

# Probabilities are clipped away from 0 and 1 so one confident mistake gives a large, finite log loss.
PROBA_EPS = 1e-15


def _class_codes(values: np.ndarray, n_classes: int) -> np.ndarray:
    """Predicted class codes as integers; anything outside 0..K-1 means the model broke the contract."""
    codes = np.rint(values).astype(np.int64)
    if not np.allclose(values, codes) or codes.min(initial=0) < 0 or codes.max(initial=0) >= n_classes:
        raise VerifyError(
            f"the saved model predicted values outside the class codes 0..{n_classes - 1}: "
            "train() must fit on dataset['y'] as given"
        )
    return codes


def score_predictions(
    task: str, y_true: np.ndarray, predicted: np.ndarray, proba: np.ndarray | None = None, n_classes: int | None = None
) -> dict[str, float]:
    """The task's test metrics from true values, predictions and (for classifiers) probabilities."""
    if task == "regression":
        errors = np.asarray(predicted, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
        return {
            "rmse": float(math.sqrt(np.mean(errors**2))),
            "mae": float(np.mean(np.abs(errors))),
            "r2": float(metrics.r2_score(y_true, predicted)),
        }
    assert n_classes is not None
    codes = _class_codes(np.asarray(predicted, dtype=np.float64), n_classes)
    labels = np.arange(n_classes)
    scores = {
        "accuracy": float(metrics.accuracy_score(y_true, codes)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, codes)),
        "f1_macro": float(metrics.f1_score(y_true, codes, average="macro", labels=labels, zero_division=0)),
    }
    if proba is not None:
        clipped = np.clip(proba, PROBA_EPS, 1 - PROBA_EPS)
        clipped = clipped / clipped.sum(axis=1, keepdims=True)
        scores["log_loss"] = float(metrics.log_loss(y_true, clipped, labels=labels))
        if n_classes == 2 and len(np.unique(y_true)) == 2:
            scores["roc_auc"] = float(metrics.roc_auc_score(y_true, proba[:, 1]))
    return scores
