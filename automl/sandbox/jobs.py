"""The jobs a sandbox child runs, one frozen dataclass per kind, and their JSON messages.

A job crosses two process boundaries (runner to fork server to child) as JSON, never as a pickle,
so this module is the one place that turns a job into a message and back. The message is the job's
fields plus ``kind``; :func:`automl.sandbox.run.run_job` adds the envelope (limits, work_dir,
log_path) every kind shares, and reading a message takes only the fields of its kind.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, get_type_hints


class UnknownJobKind(ValueError):
    """A message named a kind no job class has: a bug of the runner, never to be run as another kind."""


@dataclass(frozen=True)
class Job:
    """What every kind shares: its ``kind`` and the conversion to and from its message."""

    kind: ClassVar[str]
    # The field naming the generated file the job runs, whose frames a crash report keeps.
    generated_field: ClassVar[str | None] = None

    def to_message(self) -> dict[str, Any]:
        """The job as JSON-ready data: paths become strings."""
        message: dict[str, Any] = {"kind": self.kind}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            message[field.name] = str(value) if isinstance(value, Path) else value
        return message

    @property
    def generated_path(self) -> Path | None:
        """The generated file the job runs, whose frames a crash report keeps; None if it runs none."""
        return getattr(self, self.generated_field) if self.generated_field else None


@dataclass(frozen=True)
class TrainJob(Job):
    """Call generated ``train()`` once with a configuration (a trial, a check, a refit).

    ``validation`` asks the child to predict the dataset's validation rows (``X_test``) with the model
    train() saved, right after it: ``"values"``, ``"proba"`` (values and class probabilities) or ``""``.
    """

    kind: ClassVar[str] = "train"
    generated_field: ClassVar[str | None] = "train_path"
    train_path: Path
    space_path: Path
    data_path: Path
    config: dict[str, Any]
    seed: int
    budget: float | None
    model_dir: Path
    validation: str = ""


@dataclass(frozen=True)
class SpaceJob(Job):
    """Call generated ``get_configspace()`` and keep what it built as ConfigSpace JSON."""

    kind: ClassVar[str] = "space"
    generated_field: ClassVar[str | None] = "code_path"
    code_path: Path


@dataclass(frozen=True)
class PredictJob(Job):
    """Load a model saved by generated code (or several, averaged) and predict a table, optionally with class
    probabilities."""

    kind: ClassVar[str] = "predict"
    model_path: Path
    features_path: Path
    proba: bool
    # More saved models (absolute paths) whose predictions are averaged with model_path's: a bagged member.
    more_models: tuple[str, ...] = ()
    # K, for classification: see automl.sandbox.child.model_predictions.
    n_classes: int | None = None


@dataclass(frozen=True)
class ExportJob(Job):
    """Load a member's models saved by generated code (its own, then its bag's) and write them as one skops file
    in the work directory: the parent checks that file's types before it loads anything (automl.export)."""

    kind: ClassVar[str] = "export"
    model_path: Path
    more_models: tuple[str, ...] = ()  # absolute paths, as a PredictJob's


JOB_TYPES: dict[str, type[Job]] = {job_type.kind: job_type for job_type in (TrainJob, SpaceJob, PredictJob, ExportJob)}


@functools.cache
def _path_fields(job_type: type[Job]) -> frozenset[str]:
    """The fields of ``job_type`` that hold a path."""
    return frozenset(name for name, hint in get_type_hints(job_type).items() if hint is Path)


def job_inputs(job: Job) -> list[str]:
    """The files and folders ``job`` reads: its path fields (the generated code, space, data, model_dir,
    saved models) and a predict or export job's further models."""
    paths = [str(getattr(job, name)) for name in _path_fields(type(job))]
    return paths + list(getattr(job, "more_models", ()))


def job_from_message(message: dict[str, Any]) -> Job:
    """The typed job a message describes; an unknown kind raises :class:`UnknownJobKind`."""
    kind = message.get("kind")
    if kind not in JOB_TYPES:
        raise UnknownJobKind(f"unknown sandbox job kind {kind!r} (known: {', '.join(JOB_TYPES)})")
    job_type = JOB_TYPES[kind]
    paths = _path_fields(job_type)
    values = {field.name: message[field.name] for field in dataclasses.fields(job_type) if field.name in message}
    # JSON has no tuples: a list comes back as the tuple the job was made with.
    values = {name: tuple(value) if isinstance(value, list) else value for name, value in values.items()}
    return job_type(**{name: Path(value) if name in paths else value for name, value in values.items()})
