"""Stage 3, optimize: SMAC tunes train.py within what is left of the walltime, minus the refit's reserve."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from ConfigSpace import Configuration, ConfigurationSpace
from smac import Scenario

from automl._io import write_json
from automl.config import OFFLINE
from automl.data import PreparedData
from automl.errors import RunError, WalltimeSpent
from automl.optimize.initial_design import algorithm_defaults, initial_configurations, load_portfolio, portfolio_starts
from automl.optimize.smac_run import (
    OptimizationResult,
    build_scenario,
    run_smac,
    saved_scenario,
    trial_cap,
    walltime_left,
)
from automl.optimize.stopping import graceful_interrupts
from automl.optimize.target import RunFiles, TrialTarget
from automl.optimize.validation import SINGLE_SPLIT, Validation
from automl.optimize.workers import dask_client
from automl.plan.algorithms import set_by_budget
from automl.stages.bagging import bag_fits_per_member
from automl.stages.context import RunContext
from automl.stages.write import Written

# Seconds kept back for closing a dask cluster after the search.
CLUSTER_CLOSE_SECONDS = 2.0
# The least time a search may get: with less (or less than the default configuration took), the run stops.
MIN_SEARCH_SECONDS = 1.0


@dataclass(frozen=True)
class Optimized:
    """SMAC's run history and incumbent, whether the user stopped the search early, what ended it, and what
    trials were judged on."""

    result: OptimizationResult
    interrupted: bool
    validation: Validation
    stopped_by: str = ""  # "trials" (the cap was reached), "time" (the walltime was spent) or "interrupted"


def stopped_by(interrupted: bool, finished: int, cap: int | None) -> str:
    """What ended a search of ``finished`` trials under a trial ``cap`` (None: no cap, only the walltime)."""
    if interrupted:
        return "interrupted"
    return "trials" if cap is not None and finished >= cap else "time"


def optimize(context: RunContext, data: PreparedData, written: Written, members: int) -> Optimized:
    """SMAC gets the time left before the deadline, minus a reserve for refitting (and bagging) ``members``
    configurations.

    The time is measured once the workers are up, so starting a cluster does not eat into the run's end.
    Each trial is judged by the runner on the run's metric, from its model's validation predictions. The
    offline writer's space starts from the task's portfolio (see :func:`starts`).
    """
    config, paths, progress = context.config, context.paths, context.progress
    settings, plan = written.artifacts.scenario, written.artifacts.plan
    fits = members * (1 + bag_fits_per_member(context)) if config.bag else members
    reserve = context.clock.refit_reserve(written.default_seconds, fits)
    if not context.resume:  # a resumed search has its own time left (see _smac_scenario)
        ensure_search_time(context, written, reserve)
    where = f"{config.workers} dask workers" if config.workers > 1 else config.dask_scheduler or ""
    if where:
        progress.stage(f"starting {where}")
    progress.start_trials(settings.n_trials)  # None: a count without a total
    try:
        with dask_client(config.workers, config.dask_scheduler, paths.root / ".dask", paths.trials_dir) as client, \
                graceful_interrupts(progress.stage) as stop:  # fmt: skip
            closing = CLUSTER_CLOSE_SECONDS if client is not None else 0.0
            scenario, walltime = _smac_scenario(context, written, reserve + closing)
            files = RunFiles(paths.train_py, paths.space_json, paths.search_data, paths.trials_dir)
            warm_start = plan.budget_kind is not None and plan.budget_kind != "data_fraction"
            limits = context.limits(settings)
            validation = validation_of(context, data)
            target = TrialTarget(files, limits, deadline=time.time() + walltime, warm_start=warm_start,
                                 validation=validation)  # fmt: skip
            cap = trial_cap(scenario)
            bound = f"up to {cap} trials in" if cap is not None else "trials until the time is spent:"
            progress.stage(f"optimizing with SMAC ({plan.facade}{', ' + where if where else ''}): "
                           f"{bound} {walltime:.0f} s")  # fmt: skip
            first, first_only = starts(written, scenario.configspace, data.task)
            result = run_smac(scenario, plan, target, progress.trial_done, dask_client=client,
                              resume=context.resume, should_stop=stop, starts=first,
                              starts_only=first_only)  # fmt: skip
            interrupted = stop.requested
    finally:
        progress.stop_trials()
    write_json(paths.trials_json, [asdict(trial) for trial in result.trials])
    if not any(trial.status == "success" for trial in result.trials):
        raise RunError(
            f"every one of {len(result.trials)} trials failed: see the logs in "
            f"{paths.trials_dir} and raise --walltime or the scenario's trial limits"
        )
    return Optimized(result, interrupted, validation, stopped_by(interrupted, len(result.trials), cap))


def ensure_search_time(context: RunContext, written: Written, reserve: float) -> None:
    """Stop the run, naming the walltime, when what is left of it after the refit's ``reserve`` would not fit even
    one call of the default configuration: such a search ends in "every trial failed", which hides the cause."""
    clock = context.clock
    if clock.remaining() - reserve < max(MIN_SEARCH_SECONDS, written.default_seconds):
        raise WalltimeSpent(f"writing and verifying train.py ({clock.elapsed():.0f} s of {clock.walltime:g} s, "
                            f"{reserve:.0f} s kept for the refit)")  # fmt: skip


def validation_of(context: RunContext, data: PreparedData) -> Validation:
    """What trials are judged against: the validation split's targets, or each ``--cv`` fold's."""
    config = context.config
    if config.folds:
        folds = data.fold_targets(config.folds, config.seed)
        truth = {context.paths.fold_data(i).stem: y for i, y in enumerate(folds)}
    else:
        truth = {SINGLE_SPLIT: data.y_valid}
    n_classes = len(data.labels.classes) if data.labels else 0
    return Validation(context.metric.name, n_classes, truth, context.paths.predictions_dir)


def starts(written: Written, space: ConfigurationSpace, task: str) -> tuple[list[Configuration] | None, bool]:
    """SMAC's first configurations, and whether they are its whole initial design.

    The default first, then the scenario's starting configurations (a scenario file's or a model's, see
    :func:`automl.optimize.initial_design.valid_starts`), then for the offline writer's train.py
    ``task``'s portfolio: the whole initial design, as SMAC's model takes over from it. Only portfolio
    configurations valid in the run's space are kept (the planner may have dropped a family, ``--space``
    may differ; hyperparameters a budget sets are left out first). Another writer's space starts from its
    scenario's configurations and each algorithm's defaults, then SMAC's own random points (None: the
    algorithm defaults alone).
    """
    artifacts = written.artifacts
    unset = set_by_budget(artifacts.plan.budget_kind)
    proposed = list(artifacts.scenario.initial_configurations)
    if artifacts.writer == OFFLINE:
        return initial_configurations(space, [*proposed, *load_portfolio(task)], unset), True
    if not proposed:
        return None, False
    chosen = portfolio_starts(space, proposed, unset, origin="Initial design: scenario")
    return chosen + [config for config in algorithm_defaults(space) if config not in chosen], False


def _smac_scenario(context: RunContext, written: Written, reserve: float) -> tuple[Scenario, float]:
    """SMAC's scenario and its walltime: what is left before the deadline, or (resuming) what SMAC had left.

    A resumed run's deadline moves to now plus that time plus the refit's reserve.
    """
    config, paths, artifacts = context.config, context.paths, written.artifacts
    scenario = saved_scenario(paths.smac_dir, config.seed) if context.resume else None
    if scenario is not None:
        walltime = walltime_left(scenario)
        context.clock.resume(walltime, reserve)
        return scenario, walltime
    walltime = max(context.clock.remaining() - reserve, MIN_SEARCH_SECONDS)
    folds = [paths.fold_data(fold).stem for fold in range(config.folds)] if config.folds else None
    scenario = build_scenario(artifacts.space, artifacts.plan, artifacts.scenario, paths.smac_dir, config.seed,
                              walltime, artifacts.scenario.crash_cost, folds)  # fmt: skip
    return scenario, walltime
