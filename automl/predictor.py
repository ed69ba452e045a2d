"""A finished run's model, used to predict new data in the user's label space.

The saved model was built by generated code, so it is only ever loaded inside the sandbox: the
parent sends features in and reads plain arrays back. The schema and label codes recorded at
training time put new data in the form the model knows and turn codes back into the user's labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl._io import read_json, write_json
from automl.data import FeatureSchema, LabelCoder, apply_schema
from automl.errors import RunError
from automl.rundir import RunPaths, open_run_dir
from automl.verify.sandbox import Limits, Predictions, run_predict

# Prediction is cheaper than training; these bound a misbehaving saved model.
PREDICT_LIMITS = Limits(walltime_s=600.0, memory_mb=8192)


@dataclass(frozen=True)
class ModelCard:
    """What predicting needs to know about the model: task, target, schema and classes."""

    task: str
    target: str
    schema: FeatureSchema
    labels: LabelCoder | None
    incumbent: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.target,
            "schema": self.schema.to_dict(),
            "classes": list(self.labels.classes) if self.labels else None,
            "incumbent": self.incumbent,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        labels = LabelCoder(tuple(data["classes"])) if data.get("classes") is not None else None
        return cls(data["task"], data["target"], FeatureSchema.from_dict(data["schema"]), labels, data["incumbent"])


class FittedModel:
    """The final model of a run directory."""

    def __init__(self, paths: RunPaths, card: ModelCard) -> None:
        self.paths = paths
        self.card = card

    @classmethod
    def load(cls, run_dir: Path) -> FittedModel:
        paths = open_run_dir(run_dir)
        return cls(paths, ModelCard.from_dict(read_json(paths.model_json)))

    @staticmethod
    def save_card(paths: RunPaths, card: ModelCard) -> None:
        write_json(paths.model_json, card.to_dict())

    @property
    def classes(self) -> np.ndarray | None:
        return np.asarray(self.card.labels.classes, dtype=object) if self.card.labels else None

    def _predict(self, table: pd.DataFrame, source: str, proba: bool) -> Predictions:
        features = apply_schema(table, self.card.schema, source)
        outcome, predictions = run_predict(self.paths.model_file, features, PREDICT_LIMITS, want_proba=proba)
        if predictions is None:
            raise RunError(
                f"the model in '{self.paths.root}' failed to predict ({outcome.status}: "
                f"{outcome.error.splitlines()[-1] if outcome.error else 'no reply'})"
            )
        return predictions

    def predict(self, table: pd.DataFrame, source: str = "data") -> np.ndarray:
        """Predictions for the rows of ``table``, as the user's labels or numbers."""
        values = self._predict(table, source, proba=False).values
        if self.card.labels is None:
            return values
        return self.card.labels.decode(np.rint(values).astype(np.int64))

    def predict_proba(self, table: pd.DataFrame, source: str = "data") -> np.ndarray:
        """Class probabilities, one column per class in the order of :attr:`classes`."""
        if self.card.labels is None:
            raise RunError("predict_proba needs a classification run; this run is a regression")
        proba = self._predict(table, source, proba=True).proba
        if proba is None:
            raise RunError(f"the model in '{self.paths.root}' has no predict_proba")
        return proba
