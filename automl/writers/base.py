"""The one interface every writer offers, so the runner drives a model and the offline writer alike.

A writer answers four requests in order (plan, config space, scenario, train.py), each given what
the earlier ones produced, and between two rounds of search a fifth: revise the space (and train.py)
from an account of what the search found. The runner judges every answer and, when one fails its checks, asks again
with :class:`Feedback`; a writer only writes, it never checks its own work against the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from ConfigSpace import ConfigurationSpace

from automl.config import RunConfig, ScenarioSettings
from automl.plan import Plan


class DraftRejected(Exception):
    """A draft failed: unusable as written, or rejected by a check. Carries the draft and every error.

    ``raw`` marks a draft that is the model's whole reply (nothing usable could be taken from it)
    rather than the artifact itself.
    """

    def __init__(self, draft: str, errors: list[str], raw: bool = False) -> None:
        super().__init__("; ".join(errors))
        self.draft = draft
        self.errors = errors
        self.raw = raw


@dataclass(frozen=True)
class Feedback:
    """Why the previous draft of an artifact failed: the draft itself and the errors, for a repair."""

    attempt: int
    previous: str
    errors: tuple[str, ...]


@dataclass(frozen=True)
class WriteContext:
    """What a writer may read: the data's description, the request, and the artifacts accepted so far."""

    description: dict[str, Any]
    run: RunConfig  # once the plan is accepted, ``run.metric`` is the run's settled metric
    allowed_imports: frozenset[str] = field(default_factory=frozenset)
    prior_loss: float = 1.0  # the run's loss of predicting the prior, once the metric is settled
    plan: Plan | None = None
    space: ConfigurationSpace | None = None
    scenario: ScenarioSettings | None = None
    # For a revision: the search's current train.py and, when code built its space, that code.
    train_source: str = ""
    space_source: str = ""

    def with_artifacts(self, **artifacts: Any) -> WriteContext:
        """A copy that also holds ``artifacts`` (the ones accepted since), for the next request."""
        return replace(self, **artifacts)


@dataclass(frozen=True)
class Artifacts:
    """A writer's settled output: the plan, the search space, the scenario and the train.py source."""

    writer: str
    plan: Plan
    space: ConfigurationSpace
    scenario: ScenarioSettings
    train_source: str


@dataclass(frozen=True)
class Revision:
    """A writer's answer to a round's account of the search: the next round's space, and its train.py when the
    writer revised that too (None: the current one goes on)."""

    space: str | ConfigurationSpace  # Python source defining ``get_configspace()``, or a space made without code
    train_source: str | None = None


class Writer(Protocol):
    """Writes a run's artifacts one request at a time; ``feedback`` is set when a draft is to be repaired."""

    name: str
    # Whether another attempt can change the answer: False for a writer that always answers the same.
    repairs: bool

    def plan(self, context: WriteContext, feedback: Feedback | None) -> Plan: ...

    def space(self, context: WriteContext, feedback: Feedback | None) -> str | ConfigurationSpace:
        """Python source defining ``get_configspace()`` (built in the sandbox), or a space made without code."""
        ...

    def scenario(self, context: WriteContext, feedback: Feedback | None) -> dict[str, Any]:
        """Proposed scenario settings; the runner keeps them within the user's limits."""
        ...

    def train(self, context: WriteContext, feedback: Feedback | None) -> str: ...

    def revise(self, context: WriteContext, account: dict[str, Any], feedback: Feedback | None) -> Revision:
        """The next round's space (and train.py) given ``account`` (see :mod:`automl.report.search_account`)
        and the current artifacts in ``context``."""
        ...
