"""The report's test section: the final model's scores on the held-out rows, and what its errors look like.

The scores come from result.json; the plots need the rows' predictions, a :class:`TestEvaluation`
the runner hands over or ``automl report`` rebuilds. Without one the section keeps its scores and
says why the plots are missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from automl.evaluate import score_predictions
from automl.report import plots
from automl.report.evaluation import TestEvaluation
from automl.report.figures import Figures
from automl.report.markup import Fixed, Html, fmt, note, para, subheading, table
from automl.report.run_record import RunRecord
from automl.report.runs import main_test_metric


def _classification_plots(evaluation: TestEvaluation, figures: Figures) -> Html:
    labels = evaluation.labels or []
    codes = np.arange(len(labels))
    y_true = np.asarray(evaluation.y_true).astype(np.int64)
    y_pred = np.rint(np.asarray(evaluation.y_pred, dtype=float)).astype(np.int64)
    matrix = confusion_matrix(y_true, y_pred, labels=codes)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=codes, zero_division=0)
    rows = [
        (label, Fixed(p), Fixed(r), Fixed(f), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    return Html(
        figures.embed(
            "confusion_matrix",
            plots.confusion_figure(matrix, labels),
            "Confusion matrix on the test rows: counts, colored by the share of each true class.",
        )
        + subheading("Per class")
        + table(["class", "precision", "recall", "F1", "test rows"], rows)
    )


def _regression_plots(evaluation: TestEvaluation, target: str, figures: Figures) -> Html:
    y_true = np.asarray(evaluation.y_true, dtype=float)
    y_pred = np.asarray(evaluation.y_pred, dtype=float)
    return Html(
        '<div class="grid">'
        + figures.embed(
            "predicted_vs_actual",
            plots.predicted_actual_figure(y_true, y_pred, target),
            "Predicted against actual on the test rows.",
        )
        + "</div>"
        + figures.embed(
            "residuals",
            plots.residuals_figure(y_true, y_pred, target),
            "Residuals on the test rows: against the prediction, and their distribution.",
        )
    )


def _test_metrics(run: RunRecord, evaluation: TestEvaluation | None) -> dict[str, Any]:
    """result.json's test metrics, or (when the runner reports before writing it) scores of the evaluation."""
    metrics = run.result.test_metrics if run.result else None
    if metrics:
        return dict(metrics)
    if evaluation is None or run.task is None:
        return {}
    n_classes = len(evaluation.labels) if evaluation.labels else None
    return score_predictions(run.task, evaluation.y_true, evaluation.y_pred, evaluation.proba, n_classes)


def _score(value: Any) -> Any:
    return Fixed(value) if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def evaluation_section(run: RunRecord, figures: Figures, evaluation: TestEvaluation | None, problem: str) -> Html:
    """The test section; ``problem`` says why there is no ``evaluation`` when there is none."""
    metrics = _test_metrics(run, evaluation)
    if not metrics and evaluation is None:
        return note(problem or "No test evaluation: the run stopped before scoring its test rows.")
    result = run.result
    rows = result.dataset.rows if result else {}
    validation = result.validation_metrics if result else {}
    parts = [
        para(
            f"Scored by the runner on {fmt(rows.get('test', len(evaluation.y_true) if evaluation else '?'))} "
            "held-out test rows that no trial, refit or writer ever saw."
        )
    ]
    headline = main_test_metric(run.task, metrics)
    parts.append(
        table(
            ["metric", "test", "validation (incumbent)"],
            [(name, _score(value), _score(validation.get(name))) for name, value in metrics.items()],
        )
    )
    if headline:
        parts.append(para(f"Headline: test {headline[0]} {fmt(Fixed(headline[1]))}."))
    if evaluation is None:
        parts.append(note(problem))
    elif evaluation.is_classification:
        parts.append(_classification_plots(evaluation, figures))
    else:
        target = str((run.dataset or {}).get("target") or "target")
        parts.append(_regression_plots(evaluation, target, figures))
    return Html("".join(parts))
