"""Stage 5, evaluate: the final model predicts the held-out test rows in the sandbox; they are scored here."""

from __future__ import annotations

from dataclasses import dataclass

from automl.data import PreparedData
from automl.evaluate import score_predictions
from automl.predictor import FittedModel
from automl.sandbox import ModelOutput
from automl.stages.context import RunContext
from automl.stages.write import Written


@dataclass(frozen=True)
class Evaluated:
    """The test scores, and the predictions they came from (kept in memory only: they reveal test rows)."""

    test_metrics: dict[str, float]
    predictions: ModelOutput


def evaluate(context: RunContext, data: PreparedData, written: Written) -> Evaluated:
    """Predict the test rows with the saved final model and score them against the held-out labels."""
    model = FittedModel.load(context.paths.root)
    predictions = model.predict_features(data.X_test, context.limits(written.artifacts.scenario))
    n_classes = len(data.labels.classes) if data.labels else None
    metrics = score_predictions(data.task, data.y_test, predictions.values, predictions.proba, n_classes)
    if context.metric.name not in metrics:  # e.g. ROC AUC of a multiclass run, scored when asked for
        metrics[context.metric.name] = context.metric.value(data.y_test, predictions, n_classes or 0)
    return Evaluated(metrics, predictions)
