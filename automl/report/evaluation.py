"""The test rows' true values and the final model's predictions, which the test section plots.

They are never written to the run directory (the held-out rows stay out of it), so the runner
hands them over from memory, and a later ``automl report`` rebuilds them by loading the data
again and predicting in the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from automl._io import read_json, read_json_or_none
from automl.config import RunConfig
from automl.data import PreparedData, prepare_dataset
from automl.errors import DataError
from automl.predictor import FittedModel
from automl.rundir import RunPaths
from automl.sandbox import Limits, ModelOutput


@dataclass(frozen=True)
class TestEvaluation:
    """The held-out test rows' true values and the final model's predictions, kept in memory only.

    For classification ``y_true`` and ``y_pred`` are class codes 0..K-1 and ``labels[k]`` names code
    k; ``proba`` holds one column per class. For regression ``labels`` and ``proba`` are None.
    """

    __test__ = False  # not a pytest test class, despite its name

    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    labels: list[str] | None = None

    @classmethod
    def from_predictions(cls, data: PreparedData, predictions: ModelOutput) -> TestEvaluation:
        """What the runner has once it scored the test rows: the prepared data and the ensemble's output."""
        labels = [str(label) for label in data.labels.classes] if data.labels else None
        return cls(np.asarray(data.y_test), np.asarray(predictions.values), predictions.proba, labels)

    @property
    def is_classification(self) -> bool:
        return self.labels is not None


def rebuild_test_evaluation(run_dir: Path) -> TestEvaluation:
    """Load the run's data again, check it is the data the run used, and predict its test rows in the sandbox.

    Raises an :class:`AutomlError` saying why when the data or the model cannot be used.
    """
    paths = RunPaths(Path(run_dir).resolve())
    recorded = read_json(paths.run_json)
    config = RunConfig.from_dict(recorded["arguments"])
    data = prepare_dataset(config.data, config.target, config.task, config.test_data, config.seed)
    expected = recorded.get("dataset_fingerprint")
    if expected and data.fingerprint != expected:
        raise DataError(
            f"the data at '{config.data}' changed since the run (fingerprint {data.fingerprint}, the run "
            f"used {expected}), so its test rows are not the run's"
        )
    model = FittedModel.load(paths.root)
    predictions = model.predict_features(data.X_test, _predict_limits(paths))
    return TestEvaluation.from_predictions(data, predictions)


def _predict_limits(paths: RunPaths) -> Limits:
    """The run's own per-trial limits (as the runner's evaluation used), or the defaults."""
    scenario = read_json_or_none(paths.scenario_json) or {}
    try:
        return Limits(
            walltime_s=float(scenario["trial_walltime_limit"]), memory_mb=int(scenario["trial_memory_limit_mb"])
        )
    except (KeyError, TypeError, ValueError):
        return Limits()
