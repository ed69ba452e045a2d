"""What every writer produces, so the runner treats the offline writer and a model the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ConfigSpace import ConfigurationSpace

from automl.config import RunConfig, ScenarioSettings
from automl.plan import Plan


@dataclass(frozen=True)
class Artifacts:
    """A writer's output: the plan, the search space, the scenario and the train.py source."""

    writer: str
    plan: Plan
    space: ConfigurationSpace
    scenario: ScenarioSettings
    train_source: str


class Writer(Protocol):
    """Writes a run's artifacts from the dataset description and the user's request."""

    name: str

    def write(self, description: dict[str, Any], run: RunConfig) -> Artifacts: ...
