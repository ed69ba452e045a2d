"""``result.json``'s schema: what a finished run reports, written and read through one type.

The pipeline builds a :class:`RunSummary` from its run state and writes it; the CLI's summary, the
report, ``automl runs``, the Python API and the benchmark harness read it back with
:meth:`RunSummary.read` instead of picking keys out of a dict. The JSON keys are the field names,
in field order, so the file reads the same as it always has.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from automl._io import read_json, read_json_or_none, write_json


@dataclass(frozen=True)
class DatasetSummary:
    """Which data the run used and how it was split (row counts per split)."""

    source: str
    target: str
    task: str
    rows: dict[str, int]  # train, validation, test
    test_source: str
    fingerprint: str


@dataclass(frozen=True)
class BudgetSummary:
    """What a multi-fidelity budget meant, its bounds, and the budgets trials actually ran at."""

    kind: str
    min: float | None
    max: float | None
    seen: list[float]


@dataclass(frozen=True)
class Fallback:
    """Why the run went on with the offline writer after the model's writer failed."""

    from_: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"from": self.from_, "reason": self.reason}


@dataclass(frozen=True)
class ModelUsage:
    """The model calls recorded in ``llm/``: how many, their tokens, cost and the time spent waiting."""

    model: str | None
    calls: int
    tokens: int
    cost_usd: float | None
    waited_s: float
    replayed: bool


@dataclass(frozen=True)
class RefitSummary:
    """How the final model was built: ``success`` (refit members), or ``fallback`` (a trial's model)."""

    status: str
    message: str
    seconds: float
    ensemble_size: int
    method: str = ""  # the ensemble method that chose the members
    validation_loss: float | None = None  # the ensemble's, on the trials' validation predictions
    threshold: float | None = None  # tuned decision threshold (binary label metrics)
    refit_members: int | None = None  # members refit on every non-test row (the rest are trial models)
    bag_models: int | None = None  # fold models in the members' bags (automl.stages.bagging)


@dataclass(frozen=True)
class RoundSummary:
    """One round of search: the trials it ran, those it carried over from earlier rounds, its best loss, and
    what the writer changed before it (``revision``: "" for the first round)."""

    round: int
    trials: int
    carried_over: int
    best_loss: float | None
    revision: str = ""


@dataclass(frozen=True)
class RunSummary:
    """The content of ``result.json``."""

    run_dir: str
    dataset: DatasetSummary
    writer: str
    fallback: Fallback | None
    rejected_drafts: int
    scenario_notes: list[str]
    llm: ModelUsage | None
    facade: str
    budget: BudgetSummary | None
    cv_folds: int | None
    incumbent_folds: int | None
    workers: int | str  # local worker count, or the address of the dask cluster used
    interrupted: bool
    n_trials: int
    trial_statuses: dict[str, int]
    incumbent: dict[str, Any]
    loss: str  # the name of what SMAC minimized (``log_loss``, ``1 - roc_auc``)
    validation_loss: float
    validation_metrics: dict[str, float]
    test_metrics: dict[str, float]
    refit: RefitSummary
    sandbox: str
    timings: dict[str, float] = field(default_factory=dict)
    metric: str = ""  # the run's metric (--metric, or the task's default)
    # What ended the search: "trials" (its cap), "time" (the walltime) or "interrupted"; "" in runs made before.
    stopped_by: str = ""
    rounds: list[RoundSummary] = field(default_factory=list)  # one per round of search (--rounds)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fallback"] = self.fallback.to_dict() if self.fallback else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        """Read a summary; a key this version does not know is ignored, a missing required one raises."""
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["dataset"] = DatasetSummary(**data["dataset"])
        values["refit"] = RefitSummary(**data["refit"])
        values["budget"] = BudgetSummary(**data["budget"]) if data.get("budget") else None
        values["llm"] = ModelUsage(**data["llm"]) if data.get("llm") else None
        values["rounds"] = [RoundSummary(**entry) for entry in data.get("rounds", [])]
        fallback = data.get("fallback")
        values["fallback"] = Fallback(fallback["from"], fallback["reason"]) if fallback else None
        return cls(**values)

    def write(self, path: Path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        return cls.from_dict(read_json(path))


def read_summary(path: Path) -> RunSummary | None:
    """The summary in ``path``, or None when a run never wrote one or it cannot be read as one."""
    data = read_json_or_none(path)
    if not isinstance(data, dict):
        return None
    try:
        return RunSummary.from_dict(data)
    except (KeyError, TypeError, AttributeError):
        return None
