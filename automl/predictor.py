"""A finished run's model, used to predict new data in the user's label space.

The final model is a weighted ensemble of configurations chosen by an ensemble method
(:mod:`automl.ensemble`), each refit on every non-test row and, time allowing, bagged (its fold
models averaged with the refit, :mod:`automl.stages.bagging`). A run directory's members were built
by generated code, so they are only ever loaded inside the sandbox: the parent sends features in and
reads plain arrays back (:class:`SandboxedMembers`). An export's members were checked type by type
and predict in-process (:mod:`automl.export`). Either way :class:`FittedModel` averages them with the
members' weights (for a binary label metric, class 1 from the tuned threshold on). The schema and
label codes recorded at training time put new data in the form the models know and turn codes
back into the user's labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from automl._io import read_json, write_json
from automl.data import FeatureSchema, LabelCoder, apply_schema
from automl.data.tensors import TensorSchema, tensor_features
from automl.errors import DataError, RunError
from automl.evaluate.metric import apply_threshold
from automl.rundir import MODEL_FILE, RunPaths, open_run_dir
from automl.sandbox import Limits, ModelOutput, run_predict, warm_up

# Prediction is cheaper than training; these bound a misbehaving saved model.
PREDICT_LIMITS = Limits(walltime_s=600.0, memory_mb=8192)


@dataclass(frozen=True)
class CardMember:
    """One member of the final model: its folder under ``model/members/``, configuration, and relative weight."""

    dir: str
    config: dict[str, Any]
    validation_loss: float
    weight: float = 1.0  # relative: predictions are averaged with these weights (runs before weights: 1 each)
    refit: bool = True  # refit on every non-test row; False: the trial's own model (its refit failed or ran late)
    bag: tuple[str, ...] = ()  # sub-folders of fold models averaged with the member's own (automl.stages.bagging)
    round: int = 1  # the round of search whose space and train.py fitted it

    def model_paths(self, member_dir: Path) -> list[Path]:
        """The member's own model, then its bag's fold models: the member predicts their plain average."""
        return [member_dir / MODEL_FILE] + [member_dir / fold / MODEL_FILE for fold in self.bag]


@dataclass(frozen=True)
class ModelCard:
    """What predicting needs to know about the model: task, target, schema and classes."""

    task: str
    target: str
    schema: FeatureSchema | TensorSchema  # a table's columns, or a tensor sample's shape
    labels: LabelCoder | None
    incumbent: dict[str, Any]
    members: tuple[CardMember, ...] = ()  # best first
    threshold: float | None = None  # binary label metrics: p(class 1) from which class 1 is predicted

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "target": self.target,
            "schema": self.schema.to_dict(),
            "classes": list(self.labels.classes) if self.labels else None,
            "incumbent": self.incumbent,
            "members": [asdict(member) for member in self.members],
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        labels = LabelCoder(tuple(data["classes"])) if data.get("classes") is not None else None
        tensor = data["schema"].get("modality") == "tensor"
        schema = TensorSchema.from_dict(data["schema"]) if tensor else FeatureSchema.from_dict(data["schema"])
        members = tuple(CardMember(**entry | {"bag": tuple(entry.get("bag", ()))}) for entry in data.get("members", ()))
        return cls(data["task"], data["target"], schema, labels, data["incumbent"], members, data.get("threshold"))

    @classmethod
    def read(cls, paths: RunPaths) -> ModelCard:
        """The card a run directory's ``model/metadata.json`` holds."""
        return cls.from_dict(read_json(paths.model_json))


class MemberModels(Protocol):
    """Where the members of a final model live and predict; :class:`FittedModel` averages what they yield."""

    def outputs(self, card: ModelCard, features: pd.DataFrame, limits: Limits) -> Iterator[ModelOutput]:
        """Each member's predictions of ``features`` (rows in schema form), in the order of ``card.members``."""
        ...


class SandboxedMembers:
    """The members saved in a run directory: generated code wrote them, so each one predicts in a sandbox job."""

    def __init__(self, paths: RunPaths) -> None:
        self.paths = paths

    def outputs(self, card: ModelCard, features: pd.DataFrame, limits: Limits) -> Iterator[ModelOutput]:
        classify = card.labels is not None
        n_classes = len(card.labels.classes) if card.labels else None
        warm_up(readable=[self.paths.model_dir])  # every member's models visible to one server start
        for member in card.members:
            own, *bag = member.model_paths(self.paths.member_dir(member.dir))
            outcome, predictions = run_predict(own, features, limits, classify, bag, n_classes)
            if predictions is None:
                raise RunError(f"the model in '{own.parent}' failed to predict ({outcome.reason})")
            yield predictions


class FittedModel:
    """A final model: its card, and members that predict (a run directory's, or an export's)."""

    def __init__(self, card: ModelCard, members: MemberModels) -> None:
        self.card = card
        self.members = members

    @classmethod
    def load(cls, run_dir: Path) -> FittedModel:
        """The final model of a run directory, whose members predict in the sandbox."""
        paths = open_run_dir(run_dir)
        return cls(ModelCard.read(paths), SandboxedMembers(paths))

    @staticmethod
    def save_card(paths: RunPaths, card: ModelCard) -> None:
        write_json(paths.model_json, card.to_dict())

    @property
    def classes(self) -> np.ndarray | None:
        return np.asarray(self.card.labels.classes, dtype=object) if self.card.labels else None

    def predict_features(self, features: pd.DataFrame, limits: Limits = PREDICT_LIMITS) -> ModelOutput:
        """Member predictions averaged with the members' weights, for rows already in schema form: class
        codes and probabilities (classification) or values (regression). ``limits`` bound a sandboxed member's job."""
        classify = self.card.labels is not None
        outputs = [output.proba if classify else output.values
                   for output in self.members.outputs(self.card, features, limits)]  # fmt: skip
        average = np.average(outputs, axis=0, weights=[member.weight for member in self.card.members])
        if not classify:
            return ModelOutput(average, None)
        return ModelOutput(apply_threshold(average, self.card.threshold), average)

    def _predict(self, table: pd.DataFrame | np.ndarray, source: str) -> ModelOutput:
        """``table`` (a tensor model: an array of samples) checked against the schema, then predicted."""
        if len(table) == 0:  # before any member sees it: a model's imputer fails on zero rows with a traceback
            raise DataError(f"{source} has no rows to predict: pass at least one row")
        if isinstance(self.card.schema, TensorSchema):
            return self.predict_features(tensor_features(table, self.card.schema, source))
        return self.predict_features(apply_schema(table, self.card.schema, source))

    def predict(self, table: pd.DataFrame, source: str = "data") -> np.ndarray:
        """Predictions for the rows of ``table``, as the user's labels or numbers."""
        return self.predict_with_proba(table, source)[0]

    def predict_with_proba(self, table: pd.DataFrame, source: str = "data") -> tuple[np.ndarray, np.ndarray | None]:
        """Labels (or numbers) and class probabilities (None for a regression) from one pass of the members."""
        output = self._predict(table, source)
        if self.card.labels is None:
            return output.values, None
        return self.card.labels.decode(np.rint(output.values).astype(np.int64)), output.proba

    def predict_proba(self, table: pd.DataFrame, source: str = "data") -> np.ndarray:
        """Class probabilities, one column per class in the order of :attr:`classes`."""
        if self.card.labels is None:
            raise RunError("predict_proba needs a classification run; this run is a regression")
        proba = self._predict(table, source).proba
        assert proba is not None  # members of a classification run have predict_proba (verified)
        return proba
