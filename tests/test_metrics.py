"""Test metrics are computed by the runner from predictions."""

from __future__ import annotations

import numpy as np
import pytest

from automl.config import RunConfig
from automl.errors import ConfigError, VerifyError
from automl.evaluate import score_predictions
from automl.evaluate.metric import METRICS, apply_threshold, resolve_metric, tune_threshold
from automl.sandbox import ModelOutput


def test_binary_classification_metrics() -> None:
    truth = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
    scores = score_predictions("classification", truth, proba.argmax(axis=1).astype(float), proba, 2)
    assert scores["accuracy"] == 0.75
    assert scores["balanced_accuracy"] == 0.75
    assert scores["roc_auc"] == 1.0
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.8, 0.7])))


def test_multiclass_has_no_roc_auc_or_f1_and_handles_certain_wrong_answers() -> None:
    truth = np.array([0, 1, 2])
    proba = np.eye(3)[[0, 1, 0]]
    scores = score_predictions("classification", truth, np.array([0.0, 1.0, 0.0]), proba, 3)
    assert "roc_auc" not in scores and "f1" not in scores and "f1_macro" in scores
    one_vs_rest = METRICS["roc_auc"].value(truth, ModelOutput(np.zeros(3), proba), 3)  # scored if it is --metric
    assert one_vs_rest == pytest.approx((0.75 + 1.0 + 0.5) / 3)  # macro over the one-vs-rest AUCs
    assert np.isfinite(scores["log_loss"]) and scores["log_loss"] > 5


def test_regression_metrics() -> None:
    scores = score_predictions("regression", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert scores["mae"] == pytest.approx(2 / 3)
    assert scores["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert scores["r2"] == pytest.approx(1 - 4 / 2)


def test_predictions_outside_the_class_codes_are_rejected() -> None:
    with pytest.raises(VerifyError, match="outside the class codes"):
        score_predictions("classification", np.array([0, 1]), np.array([0.0, 7.0]), None, 2)


def test_the_metric_is_checked_against_the_task() -> None:
    assert (
        resolve_metric(None, "classification").name == "log_loss" and resolve_metric(None, "regression").name == "rmse"
    )
    assert resolve_metric("roc_auc", "classification", 2).loss_name == "1 - roc_auc"
    with pytest.raises(ConfigError, match="unknown: choose one of"):
        RunConfig(metric="auc")
    with pytest.raises(ConfigError, match=r"is a regression metric .* choose one of log_loss"):
        resolve_metric("mae", "classification")
    with pytest.raises(ConfigError, match="needs two classes, the target has 3: use f1_macro"):
        resolve_metric("f1", "classification", 3)


def test_the_decision_threshold_is_tuned_for_a_binary_label_metric() -> None:
    """A rare class scored low: argmax predicts almost only class 0; the tuned threshold finds the positives."""
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(int)
    p1 = np.clip(0.12 + 0.25 * y + rng.normal(0, 0.08, 400), 0.01, 0.99)  # positives near 0.37, negatives near 0.12
    proba = np.column_stack([1 - p1, p1])
    f1 = METRICS["f1"]
    untuned = f1.value(y, ModelOutput(apply_threshold(proba, None), proba), 2)
    threshold = tune_threshold(f1, y, proba)
    tuned = f1.value(y, ModelOutput(apply_threshold(proba, threshold), proba), 2)
    assert 0.15 < threshold < 0.35 and untuned < 0.2 and tuned > 0.8
    assert tune_threshold(METRICS["accuracy"], np.array([0, 1]), np.array([[0.9, 0.1], [0.1, 0.9]])) == 0.5  # tie: 0.5
