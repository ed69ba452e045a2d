"""Which metric judges a benchmark problem, which way is better, and the score of one framework's predictions.

The main metric follows the AutoML Benchmark: ROC AUC for binary classification, log loss for
multiclass, RMSE for regression. Accuracy and R² ride along because people read them more easily.
Scores come from :func:`automl.evaluate.score_predictions`, the function that scores automl's own
runs, so a benchmark number and a run's ``result.json`` number mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from automl.evaluate import score_predictions

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
MAIN_METRIC = {BINARY: "roc_auc", MULTICLASS: "log_loss", REGRESSION: "rmse"}
# Metrics where a larger value is better; every other metric is a loss.
HIGHER_IS_BETTER = frozenset({"roc_auc", "accuracy", "balanced_accuracy", "f1_macro", "r2"})
# Probabilities may be off by rounding; beyond this a framework broke the contract.
PROBA_SUM_TOLERANCE = 1e-3


def problem_kind(task: str, n_classes: int | None) -> str:
    """binary, multiclass or regression: what decides the main metric."""
    if task == "regression":
        return REGRESSION
    return BINARY if n_classes == 2 else MULTICLASS


def higher_is_better(metric: str) -> bool:
    return metric in HIGHER_IS_BETTER


@dataclass(frozen=True)
class Predictions:
    """One framework's answer for the test rows.

    Classification: ``labels`` (the user's labels) and ``proba`` with one column per class in the
    order of ``np.unique(y_train)``. Regression: ``values``.
    """

    labels: np.ndarray | None = None
    proba: np.ndarray | None = None
    values: np.ndarray | None = None


def constant_predictions(task: str, y_train: np.ndarray, classes: np.ndarray, n_test: int) -> Predictions:
    """What a model that ignores the features predicts: the class prior, or the training mean.

    A failed framework is scored as this predictor (as in the AutoML Benchmark), so a failure costs
    what knowing nothing would, not an arbitrary penalty.
    """
    if task == "regression":
        return Predictions(values=np.full(n_test, float(np.mean(np.asarray(y_train, dtype=np.float64)))))
    counts = np.asarray([np.sum(y_train == label) for label in classes], dtype=np.float64)
    prior = counts / counts.sum()
    return Predictions(labels=np.repeat(classes[np.argmax(prior)], n_test), proba=np.tile(prior, (n_test, 1)))


def check_predictions(task: str, predictions: Predictions, classes: np.ndarray, n_test: int) -> None:
    """Raise ValueError when predictions cannot be scored (wrong shape, NaN, unknown labels)."""
    if task == "regression":
        values = predictions.values
        if values is None or np.shape(values) != (n_test,):
            raise ValueError(f"expected {n_test} predicted values, got {None if values is None else np.shape(values)}")
        if not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
            raise ValueError("predicted values include NaN or infinity")
        return
    proba, labels = predictions.proba, predictions.labels
    if proba is None or np.shape(proba) != (n_test, len(classes)):
        raise ValueError(f"expected probabilities of shape {(n_test, len(classes))}, got "
                         f"{None if proba is None else np.shape(proba)}")  # fmt: skip
    proba = np.asarray(proba, dtype=np.float64)
    if not np.all(np.isfinite(proba)) or np.any(proba < 0):
        raise ValueError("predicted probabilities include NaN, infinity or negative values")
    if np.max(np.abs(proba.sum(axis=1) - 1.0)) > PROBA_SUM_TOLERANCE:
        raise ValueError("predicted probabilities do not sum to 1 per row")
    if labels is None or len(labels) != n_test:
        raise ValueError(f"expected {n_test} predicted labels")
    unknown = set(np.asarray(labels, dtype=object).tolist()) - set(classes.tolist())
    if unknown:
        raise ValueError(f"predicted labels {sorted(map(str, unknown))[:5]} are not classes of the training data")


def score(task: str, y_test: np.ndarray, predictions: Predictions, classes: np.ndarray) -> dict[str, float]:
    """Every metric of ``predictions`` against the true test values (call :func:`check_predictions` first)."""
    if task == "regression":
        return score_predictions(task, np.asarray(y_test, dtype=np.float64), np.asarray(predictions.values))
    assert predictions.proba is not None and predictions.labels is not None
    true_codes = np.searchsorted(classes, y_test)
    predicted_codes = np.searchsorted(classes, np.asarray(predictions.labels, dtype=object)).astype(np.float64)
    proba = np.asarray(predictions.proba, dtype=np.float64)
    return score_predictions(task, true_codes, predicted_codes, proba / proba.sum(axis=1, keepdims=True), len(classes))
