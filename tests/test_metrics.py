"""Test metrics are computed by the runner from predictions."""

from __future__ import annotations

import numpy as np
import pytest

from automl.errors import VerifyError
from automl.evaluate import score_predictions


def test_binary_classification_metrics() -> None:
    truth = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])
    scores = score_predictions("classification", truth, proba.argmax(axis=1).astype(float), proba, 2)
    assert scores["accuracy"] == 0.75
    assert scores["balanced_accuracy"] == 0.75
    assert scores["roc_auc"] == 1.0
    assert scores["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.8, 0.7])))


def test_multiclass_has_no_roc_auc_and_handles_certain_wrong_answers() -> None:
    truth = np.array([0, 1, 2])
    proba = np.eye(3)[[0, 1, 0]]
    scores = score_predictions("classification", truth, np.array([0.0, 1.0, 0.0]), proba, 3)
    assert "roc_auc" not in scores
    assert np.isfinite(scores["log_loss"]) and scores["log_loss"] > 5


def test_regression_metrics() -> None:
    scores = score_predictions("regression", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert scores["mae"] == pytest.approx(2 / 3)
    assert scores["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert scores["r2"] == pytest.approx(1 - 4 / 2)


def test_predictions_outside_the_class_codes_are_rejected() -> None:
    with pytest.raises(VerifyError, match="outside the class codes"):
        score_predictions("classification", np.array([0, 1]), np.array([0.0, 7.0]), None, 2)
