"""Stage 2, write: plan, space, scenario and train.py, each judged and repaired before the next is asked for.

On ``--resume`` the same output is read back from the run directory instead (:meth:`Written.recorded`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from automl import sandbox
from automl._io import read_json, write_json
from automl.config import OFFLINE, RunConfig, ScenarioSettings
from automl.data import PreparedData
from automl.errors import ConfigError, WriterError
from automl.evaluate.metric import DEFAULT_METRICS, Metric, metric_names, resolve_metric
from automl.optimize.initial_design import valid_starts
from automl.plan import Plan
from automl.plan.algorithms import set_by_budget
from automl.repair import RepairLoop
from automl.result import Fallback
from automl.rundir import RunPaths
from automl.stages.context import RunContext
from automl.stages.verify import judge_space, judge_train
from automl.verify.static import load_allowed_imports
from automl.writers import Artifacts, OfflineWriter, Writer
from automl.writers.base import DraftRejected, WriteContext
from automl.writers.scenario import bounded_scenario
from automl.writers.space import load_space, save_space

if TYPE_CHECKING:
    from automl.llm.client import ModelClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    """The settled artifacts and what settling them took."""

    artifacts: Artifacts
    default_seconds: float  # how long train() took on the default configuration (sizes the refit's reserve)
    isolation: str  # how generated code was confined, in words
    scenario_notes: tuple[str, ...] = ()  # where the writer's scenario was brought within the user's limits
    repairs: int = 0  # drafts rejected before the accepted ones
    fallback: Fallback | None = None  # set when the offline writer took over from a failed model
    round_number: int = 1  # the round of search these artifacts are for (a later one's are a revision)
    revision: str = ""  # what the writer changed for this round, in words ("" for the first)
    # The writer that settled them, asked again to revise them between rounds (None: read back on --resume).
    writer: Writer | None = field(default=None, compare=False, repr=False)

    @classmethod
    def recorded(cls, paths: RunPaths) -> Written:
        """What an interrupted run already settled, read back from its directory (for ``--resume``)."""
        report = read_json(paths.verify_json) if paths.verify_json.is_file() else {}
        if not report.get("accepted") or not paths.train_py.is_file():
            raise ConfigError(f"--resume {paths.root}: the run stopped before its train.py was verified, so there "
                              "is no search to continue: start a new run")  # fmt: skip
        plan = Plan.from_dict(read_json(paths.plan_json))
        scenario = ScenarioSettings(**read_json(paths.scenario_json))
        default_seconds = next((c["seconds"] for c in report["checks"] if c["name"] == "default_configuration"), 0.0)
        writer = str(read_json(paths.run_json).get("writer") or OFFLINE)
        source = paths.train_py.read_text(encoding="utf-8")
        artifacts = Artifacts(writer, plan, load_space(paths.space_json), scenario, source)
        return cls(artifacts, float(default_seconds), report.get("isolation", ""))


def write(context: RunContext, data: PreparedData) -> Written:
    """Settle every artifact with the chosen writer, or the offline one when that fails and --fallback says so.

    With ``--start offline`` the offline writer settles them and the model's writer is kept for the revisions.
    """
    config = context.config
    try:
        writer = _writer(context)
        if config.start == OFFLINE and config.uses_model:  # the model revises the offline search from round 2 on
            context.progress.stage(f"writing plan, space and train.py (offline writer; {writer.name} revises them)")
            return replace(_settle(context, OfflineWriter(), data), writer=writer)
        context.progress.stage(f"writing plan, space and train.py ({writer.name} writer)")
        return _settle(context, writer, data)
    except WriterError as error:
        if config.fallback != OFFLINE or not config.uses_model:
            raise
        logger.warning("falling back to the offline writer: %s", error)
        context.progress.stage(f"falling back to the offline writer ({error})")
        return replace(_settle(context, OfflineWriter(), data), fallback=Fallback(f"llm:{config.llm}", str(error)))


def write_context(context: RunContext, data: PreparedData) -> WriteContext:
    """What every request of a writer may read before the plan is settled: the data and the user's request."""
    config = context.config
    return WriteContext(data.description, config, allowed_imports=load_allowed_imports(config.scenario.extra_imports))


def _writer(context: RunContext) -> Writer:
    """The offline writer, or a model's: live through litellm, or replayed from a recorded run.

    Time spent waiting on a model's answers is kept off the run's clock.
    """
    config, paths = context.config, context.paths
    if not config.uses_model:
        return OfflineWriter()
    from automl.llm.client import LiteLLMClient, ModelSettings
    from automl.llm.replay import ReplayClient
    from automl.writers.llm import LLMWriter

    if config.replay is not None:
        client: ModelClient = ReplayClient(RunPaths(Path(config.replay)).llm_dir, paths.llm_dir)
    else:
        settings = ModelSettings(config.llm, config.api_base, timeout_s=config.llm_timeout)
        client = LiteLLMClient(settings, paths.llm_dir)
    context.clock.exclude(lambda: client.waited_seconds)
    return LLMWriter(client)


def _settle(context: RunContext, writer: Writer, data: PreparedData) -> Written:
    """Plan, space, scenario, train.py in order, each checked and repaired before the next is asked for."""
    config, paths, progress = context.config, context.paths, context.progress
    loop = RepairLoop(writer.name, config.attempts if writer.repairs else 1, paths.attempts_dir, progress.stage)
    request = write_context(context, data)

    plan = loop.accept("plan", lambda feedback: writer.plan(request, feedback),
                       lambda draft: settle_metric(draft, config, data))  # fmt: skip
    write_json(paths.plan_json, plan.to_dict())
    metric = plan_metric(plan, config, data)
    if config.metric is None and metric.name != DEFAULT_METRICS[data.task]:
        progress.stage(f"metric: {metric.name}, the plan's choice (--metric NAME sets it)")
    prior_loss = metric.prior_loss(data.y_train, n_classes(data))
    request = replace(request, run=replace(config, metric=metric.name), prior_loss=prior_loss).with_artifacts(plan=plan)

    if config.space is not None:
        space = load_space(config.space)
    else:
        space = loop.accept("space", lambda feedback: writer.space(request, feedback),
                            lambda draft: judge_space(context, draft))  # fmt: skip
    save_space(space, paths.space_json)
    request = request.with_artifacts(space=space)

    proposal = loop.accept("scenario", lambda feedback: writer.scenario(request, feedback), lambda draft: draft)
    scenario, notes = bounded_scenario(proposal, config.scenario, metric, request.prior_loss)
    kept, dropped = valid_starts(space, scenario.initial_configurations, set_by_budget(plan.budget_kind))
    scenario, notes = replace(scenario, initial_configurations=kept), notes + dropped
    for note in notes:
        progress.stage(f"scenario: {note}")
    write_json(paths.scenario_json, scenario.to_dict())
    request = request.with_artifacts(scenario=scenario)

    isolation = sandbox.isolation_mode()
    progress.stage(f"sandbox: {isolation}")
    plan_and_space = Artifacts(writer.name, plan, space, scenario, "")
    default_seconds = loop.accept(
        "train",
        lambda feedback: writer.train(request, feedback),
        lambda source: judge_train(context, data, plan_and_space, isolation, source),
        hint=f" and {paths.verify_json}",
    )
    source = paths.train_py.read_text(encoding="utf-8")
    artifacts = Artifacts(writer.name, plan, space, scenario, source)
    return Written(artifacts, default_seconds, isolation, tuple(notes), loop.rejected, writer=writer)


def n_classes(data: PreparedData) -> int:
    """K for classification, 0 for regression."""
    return len(data.labels.classes) if data.labels is not None else 0


def settle_metric(plan: Plan, config: RunConfig, data: PreparedData) -> Plan:
    """The plan with the run's metric decided once: the user's ``--metric``, else the planner's, else the
    task's default. A planner's metric that does not fit the task rejects the plan, for it to fix."""
    if config.metric is not None:
        return replace(plan, metric=config.metric)
    try:
        metric = resolve_metric(plan.metric, data.task, n_classes(data) or None)
    except ConfigError:
        fitting = [name for name in metric_names(data.task) if name != "f1" or n_classes(data) == 2]
        problem = (f"plan: 'metric' is {plan.metric!r}, which does not fit this {data.task} table: use one of "
                   f"{', '.join(fitting)}, or null for the default")  # fmt: skip
        raise DraftRejected(json.dumps(plan.to_dict(), indent=1), [problem]) from None
    return replace(plan, metric=metric.name)


def plan_metric(plan: Plan, config: RunConfig, data: PreparedData) -> Metric:
    """The run's metric: the settled plan's (see :func:`settle_metric`), or for a run recorded before plans
    carried one, the user's or the default."""
    return resolve_metric(plan.metric or config.metric, data.task, n_classes(data) or None)
