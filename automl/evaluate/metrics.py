"""Test metrics computed by the runner from predictions, never taken from what generated code reports.

Every metric of the task that the predictions allow (:data:`automl.evaluate.metric.METRICS`):
classification gets accuracy, balanced accuracy, macro F1 and, with probabilities, log loss; with
two classes also F1 of class 1 and ROC AUC (a multiclass run's one-vs-rest ROC AUC is scored only
when it is the run's metric); regression gets RMSE, MAE and R². The same function
scores the ``default`` baseline in benchmarks.
"""

from __future__ import annotations

import numpy as np

from automl.errors import VerifyError
from automl.evaluate.metric import METRICS
from automl.sandbox import ModelOutput


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
        output = ModelOutput(np.asarray(predicted, dtype=np.float64), None)
        truth = np.asarray(y_true, dtype=np.float64)
        return {name: m.value(truth, output) for name, m in METRICS.items() if m.task == task}
    assert n_classes is not None
    output = ModelOutput(_class_codes(np.asarray(predicted, dtype=np.float64), n_classes).astype(np.float64), proba)
    scores = {}
    for name, metric in METRICS.items():
        binary = n_classes == 2 or (not metric.binary_only and name != "roc_auc")
        usable = (proba is not None or not metric.needs_proba) and binary
        if metric.task == task and usable:
            scores[name] = metric.value(y_true, output, n_classes)
    return scores
