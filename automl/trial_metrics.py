"""The validation scores a train() returns, computed one way for every template and every modality.

The offline writer's table and tensor templates both import it, and generated code may too (``from
automl.trial_metrics import classification_metrics``: the static gate allows it, as it allows
``automl.nets``), so a loss means the same thing whichever code trained the model. It needs only numpy
and scikit-learn, which every sandbox job already has.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn import metrics

PROBA_FLOOR = 1e-7  # one over-confident mistake costs at most -log(1e-7) ~ 16 in the log loss


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    """Log loss (the ``loss``), accuracy, balanced accuracy and macro F1 over all ``n_classes`` classes of
    ``proba`` (one column per class code 0..K-1), and ROC AUC when there are two."""
    proba = np.clip(np.asarray(proba, dtype=np.float64), PROBA_FLOOR, 1.0)
    proba /= proba.sum(axis=1, keepdims=True)
    predicted = proba.argmax(axis=1)
    labels = np.arange(n_classes)  # a class absent from the validation rows still counts
    loss = float(metrics.log_loss(y_true, proba, labels=labels))
    with warnings.catch_warnings():  # a validation split may lack a class that the model predicts
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(metrics.balanced_accuracy_score(y_true, predicted))
    scores = {
        "loss": loss,
        "log_loss": loss,
        "accuracy": float(metrics.accuracy_score(y_true, predicted)),
        "balanced_accuracy": balanced,
        "f1_macro": float(metrics.f1_score(y_true, predicted, average="macro", labels=labels, zero_division=0)),
    }
    if n_classes == 2:  # AUC is undefined when the validation rows hold a single class
        single = len(np.unique(y_true)) < 2
        scores["roc_auc"] = float("nan") if single else float(metrics.roc_auc_score(y_true, proba[:, 1]))
    return scores


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """RMSE (the ``loss``), MAE and R² in the target's units; R² is NaN on a single validation row."""
    rmse = float(math.sqrt(metrics.mean_squared_error(y_true, predicted)))
    return {
        "loss": rmse,
        "rmse": rmse,
        "mae": float(metrics.mean_absolute_error(y_true, predicted)),
        "r2": float(metrics.r2_score(y_true, predicted)) if len(y_true) > 1 else float("nan"),
    }
