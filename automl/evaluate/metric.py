"""The run's metric: what "better" means to the user, and the loss (lower is better) it becomes.

One metric serves the whole run: SMAC minimizes its loss on each trial's validation predictions,
the ensemble selection minimizes it for the averaged predictions, a binary label metric tunes the
decision threshold, and the summary and report lead with it. The loss is ``1 - score`` for scores
that are at most 1 (accuracy, ROC AUC, R², ...) and the error itself for errors (log loss, RMSE,
MAE), so every loss is 0 for a perfect model.

The runner computes it from predictions; what a generated train() reports is only a fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics

from automl.errors import ConfigError
from automl.sandbox import ModelOutput

# Probabilities are clipped away from 0 and 1 so one confident mistake gives a large, finite log loss.
PROBA_EPS = 1e-15
CLASSIFICATION, REGRESSION = "classification", "regression"


Scorer = Callable[[np.ndarray, ModelOutput, int], float]


def _labels(predicted: ModelOutput) -> np.ndarray:
    return np.rint(predicted.values).astype(np.int64)


def _clipped(proba: np.ndarray) -> np.ndarray:
    clipped = np.clip(proba, PROBA_EPS, 1 - PROBA_EPS)
    return clipped / clipped.sum(axis=1, keepdims=True)


def _log_loss(y: np.ndarray, p: ModelOutput, k: int) -> float:
    assert p.proba is not None
    return float(metrics.log_loss(y, _clipped(p.proba), labels=np.arange(k)))


def _roc_auc(y: np.ndarray, p: ModelOutput, k: int) -> float:
    assert p.proba is not None
    if len(np.unique(y)) < 2:
        return 0.5  # undefined on one class: no better than chance
    if k == 2:
        return float(metrics.roc_auc_score(y, p.proba[:, 1]))
    present = np.unique(y)  # one-vs-rest over the classes these rows have, as the AutoML Benchmark does
    proba = _clipped(p.proba)[:, present]
    return float(metrics.roc_auc_score(y, proba / proba.sum(axis=1, keepdims=True), multi_class="ovr", labels=present))


def _rmse(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(np.sqrt(np.mean((np.asarray(p.values, dtype=np.float64) - y) ** 2)))


@dataclass(frozen=True)
class Metric:
    """One metric: its name, task, direction, whether it reads probabilities, and how it scores."""

    name: str
    task: str
    score: Scorer
    greater_is_better: bool
    needs_proba: bool = False
    binary_only: bool = False

    @property
    def loss_name(self) -> str:
        """What SMAC minimizes, as a reader sees it: ``log_loss``, or ``1 - roc_auc`` for a score."""
        return f"1 - {self.name}" if self.greater_is_better else self.name

    @property
    def thresholded(self) -> bool:
        """A binary metric of labels, whose decision threshold is worth tuning on the validation rows."""
        return self.task == CLASSIFICATION and not self.needs_proba

    def value(self, y_true: np.ndarray, predicted: ModelOutput, n_classes: int = 0) -> float:
        """The metric itself (a score or an error), as the user reads it."""
        return self.score(np.asarray(y_true), predicted, n_classes)

    def loss(self, y_true: np.ndarray, predicted: ModelOutput, n_classes: int = 0) -> float:
        """Lower is better, 0 for a perfect model: ``1 - score`` or the error."""
        value = self.value(y_true, predicted, n_classes)
        return 1.0 - value if self.greater_is_better else value

    def prior_loss(self, y: np.ndarray, n_classes: int = 0) -> float:
        """The loss on ``y`` of a model that learned nothing: it predicts the class shares (and the
        most frequent class), or the mean. A crashed trial must cost more than this."""
        y = np.asarray(y)
        if self.task == REGRESSION:
            return self.loss(y, ModelOutput(np.full(len(y), float(np.mean(y))), None), n_classes)
        shares = np.bincount(y.astype(np.int64), minlength=n_classes) / max(len(y), 1)
        majority = np.full(len(y), float(np.argmax(shares)))
        return self.loss(y, ModelOutput(majority, np.tile(shares, (len(y), 1))), n_classes)


def _accuracy(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(metrics.accuracy_score(y, _labels(p)))


def _balanced_accuracy(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(metrics.balanced_accuracy_score(y, _labels(p)))


def _f1(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(metrics.f1_score(y, _labels(p), zero_division=0))


def _f1_macro(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(metrics.f1_score(y, _labels(p), average="macro", labels=np.arange(k), zero_division=0))


def _mae(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(np.mean(np.abs(np.asarray(p.values, dtype=np.float64) - y)))


def _r2(y: np.ndarray, p: ModelOutput, k: int) -> float:
    return float(metrics.r2_score(y, p.values))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("log_loss", CLASSIFICATION, _log_loss, greater_is_better=False, needs_proba=True),
        Metric("roc_auc", CLASSIFICATION, _roc_auc, greater_is_better=True, needs_proba=True),
        Metric("accuracy", CLASSIFICATION, _accuracy, greater_is_better=True),
        Metric("balanced_accuracy", CLASSIFICATION, _balanced_accuracy, greater_is_better=True),
        Metric("f1", CLASSIFICATION, _f1, greater_is_better=True, binary_only=True),
        Metric("f1_macro", CLASSIFICATION, _f1_macro, greater_is_better=True),
        Metric("rmse", REGRESSION, _rmse, greater_is_better=False),
        Metric("mae", REGRESSION, _mae, greater_is_better=False),
        Metric("r2", REGRESSION, _r2, greater_is_better=True),
    )
}
DEFAULT_METRICS = {CLASSIFICATION: "log_loss", REGRESSION: "rmse"}


def metric_names(task: str) -> list[str]:
    """The metrics of ``task``, in :data:`METRICS`' order."""
    return [name for name, metric in METRICS.items() if metric.task == task]


def check_metric_name(name: str | None) -> None:
    """A clear error for a metric name automl does not know (checked before any data is read)."""
    if name is not None and name not in METRICS:
        raise ConfigError(f"--metric {name!r} is unknown: choose one of {', '.join(METRICS)}")


def resolve_metric(name: str | None, task: str, n_classes: int | None = None) -> Metric:
    """The run's metric: the user's (checked against the task) or the task's default (log loss, RMSE)."""
    check_metric_name(name)
    metric = METRICS[name or DEFAULT_METRICS[task]]
    if metric.task != task:
        raise ConfigError(f"--metric {metric.name} is a {metric.task} metric but this run is a {task}: "
                          f"choose one of {', '.join(metric_names(task))}")  # fmt: skip
    if metric.binary_only and n_classes not in (None, 2):
        raise ConfigError(f"--metric {metric.name} needs two classes, the target has {n_classes}: use f1_macro")
    return metric


def tune_threshold(metric: Metric, y_true: np.ndarray, proba: np.ndarray) -> float:
    """The probability of class 1 above which a binary label metric predicts class 1, best on these rows.

    Candidates are the midpoints between distinct predicted probabilities (at most about 200 of them,
    by quantile); ties keep the threshold nearest 0.5, the untuned choice.
    """
    positive = proba[:, 1]
    levels = np.unique(np.quantile(positive, np.linspace(0, 1, 201))) if len(positive) > 200 else np.unique(positive)
    candidates = np.unique(np.concatenate([[0.5], (levels[1:] + levels[:-1]) / 2]))
    best, best_loss = 0.5, np.inf
    for threshold in sorted(candidates, key=lambda t: abs(t - 0.5)):
        loss = metric.loss(y_true, ModelOutput((positive >= threshold).astype(np.float64), proba), 2)
        if loss < best_loss - 1e-12:
            best, best_loss = float(threshold), loss
    return best


def apply_threshold(proba: np.ndarray, threshold: float | None) -> np.ndarray:
    """Class codes from probabilities: argmax, or for two classes ``p(class 1) >= threshold``."""
    if threshold is None or proba.shape[1] != 2:
        return proba.argmax(axis=1).astype(np.float64)
    return (proba[:, 1] >= threshold).astype(np.float64)
