"""How the runner judges a trial: its saved model's predictions of the validation rows, on the run's metric.

A trial's ``train()`` reports a loss, but the runner does not take its word for it. In the same
sandbox job the saved model predicts the validation rows (out-of-fold rows under ``--cv``); here
those predictions are checked, scored on the run's metric and kept compactly in ``predictions/``,
so SMAC minimizes what the user asked for and the ensemble selection can combine any trials later.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl.evaluate.metric import METRICS, Metric
from automl.sandbox import VALIDATION_PREFIX, ModelOutput, read_validation_predictions

# The instance key of the run's one validation split (fold names key the --cv folds).
SINGLE_SPLIT = ""


class InvalidPredictions(ValueError):
    """A saved model's validation predictions break the contract (shape, range): the trial crashed."""


@dataclass(frozen=True)
class Validation:
    """The run's metric and the true targets of each validation split, by SMAC instance.

    ``truth`` keys are fold names under ``--cv`` (in fold order) or :data:`SINGLE_SPLIT`; together the
    folds' rows are every non-test row once. ``n_classes`` is 0 for a regression.
    """

    metric_name: str
    n_classes: int
    truth: dict[str, np.ndarray]
    predictions_dir: Path

    @property
    def metric(self) -> Metric:
        return METRICS[self.metric_name]

    @property
    def wanted(self) -> str:
        """What a train job predicts for the validation rows (see :class:`automl.sandbox.TrainJob`)."""
        return "proba" if self.n_classes else "values"

    @property
    def y(self) -> np.ndarray:
        """The truth of every split, concatenated in key order (the rows :meth:`of` returns)."""
        return np.concatenate(list(self.truth.values()))

    def path(self, model_dir: str) -> Path:
        return self.predictions_dir / f"{model_dir}.npz"

    def judge(self, model_dir: Path, instance: str | None) -> tuple[float, float] | None:
        """(loss, metric value) of the predictions a trial left in ``model_dir``, now kept in ``predictions/``.

        None when the trial saved no model (a model-written train() may not): its own loss then stands.
        Raises :class:`InvalidPredictions` when they do not fit the validation rows.
        """
        output = read_validation_predictions(model_dir)
        if output is None:
            return None
        truth = self.truth[instance or SINGLE_SPLIT]
        checked = self._checked(output, len(truth))
        self.predictions_dir.mkdir(parents=True, exist_ok=True)
        arrays = {"values": checked.values} | ({"proba": checked.proba.astype(np.float32)} if self.n_classes else {})
        np.savez_compressed(self.path(model_dir.name), **arrays)
        for leftover in model_dir.glob(f"{VALIDATION_PREFIX}*.npy"):
            leftover.unlink()
        value = self.metric.value(truth, checked, self.n_classes)
        return self.metric.loss(truth, checked, self.n_classes), value

    def _checked(self, output: ModelOutput, n_rows: int) -> ModelOutput:
        """Predictions as plain floats of the right shape: class probabilities normalized per row."""
        values = np.asarray(output.values, dtype=np.float64).reshape(-1)
        if values.shape[0] != n_rows or not np.all(np.isfinite(values)):
            raise InvalidPredictions(f"the saved model predicted {values.shape[0]} values (or non-finite ones) for "
                                     f"{n_rows} validation rows")  # fmt: skip
        if not self.n_classes:
            return ModelOutput(values, None)
        if output.proba is None:
            raise InvalidPredictions("the saved classifier has no predict_proba(): it must return class probabilities")
        proba = np.asarray(output.proba, dtype=np.float64)
        if proba.shape != (n_rows, self.n_classes) or not np.all(np.isfinite(proba)) or proba.min() < 0:
            raise InvalidPredictions(f"predict_proba() returned shape {proba.shape} (or negative or non-finite "
                                     f"values) for {n_rows} rows of {self.n_classes} classes")  # fmt: skip
        totals = proba.sum(axis=1, keepdims=True)
        proba = np.where(totals > 0, proba / np.where(totals > 0, totals, 1.0), 1.0 / self.n_classes)
        return ModelOutput(proba.argmax(axis=1).astype(np.float64), proba)

    def load(self, model_dir: str) -> ModelOutput | None:
        """The kept predictions of one trial (by its model_dir name), or None."""
        path = self.path(model_dir)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as arrays:
            proba = arrays["proba"].astype(np.float64) if "proba" in arrays else None
            return ModelOutput(arrays["values"], proba)
