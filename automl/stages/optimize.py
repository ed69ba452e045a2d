"""Stage 3, optimize: SMAC tunes train.py within what is left of the walltime, minus the refit's reserve."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from ConfigSpace import Configuration, ConfigurationSpace
from smac import Scenario

from automl._io import write_json
from automl.config import OFFLINE
from automl.data import PreparedData
from automl.ensemble.ranking import ranked_groups
from automl.errors import RunError, WalltimeSpent
from automl.optimize.initial_design import (
    algorithm_defaults,
    as_configuration,
    initial_configurations,
    load_portfolio,
    portfolio_starts,
)
from automl.optimize.smac_run import (
    OptimizationResult,
    TrialRecord,
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
from automl.result import RoundSummary
from automl.stages.bagging import bag_fits_per_member
from automl.stages.context import RunContext
from automl.stages.write import Written

# Seconds kept back for closing a dask cluster after the search.
CLUSTER_CLOSE_SECONDS = 2.0
# The least time a search may get: with less (or less than the default configuration took), the run stops.
MIN_SEARCH_SECONDS = 1.0
# Another round needs time for this many calls of the default configuration (its verification and a few trials).
ROUND_MIN_TRIALS = 4


@dataclass(frozen=True)
class Optimized:
    """SMAC's run history and incumbent, whether the user stopped the search early, what ended it, and what
    trials were judged on."""

    result: OptimizationResult  # every round's trials; the incumbent is the best of them all
    interrupted: bool
    validation: Validation
    stopped_by: str = ""  # "trials" (the cap was reached), "time" (the walltime was spent) or "interrupted"
    rounds: tuple[RoundSummary, ...] = ()


def stopped_by(interrupted: bool, finished: int, cap: int | None) -> str:
    """What ended a search of ``finished`` trials under a trial ``cap`` (None: no cap, only the walltime)."""
    if interrupted:
        return "interrupted"
    return "trials" if cap is not None and finished >= cap else "time"


def optimize(
    context: RunContext, data: PreparedData, written: Written, members: int, earlier: Optimized | None = None
) -> Optimized:
    """SMAC gets the time left before the deadline, minus a reserve for refitting (and bagging) ``members``
    configurations; with several rounds, this round's share of it (see :func:`round_limits`).

    The time is measured once the workers are up, so starting a cluster does not eat into the run's end.
    Each trial is judged by the runner on the run's metric, from its model's validation predictions. The
    offline writer's space starts from the task's portfolio (see :func:`starts`); a later round's search
    is told every trial of ``earlier`` rounds valid in its space and starts from them.
    """
    config, paths, progress = context.config, context.paths, context.progress
    settings, plan = written.artifacts.scenario, written.artifacts.plan
    number = written.round_number
    fits = members * (1 + bag_fits_per_member(context)) if config.bag else members
    reserve = context.clock.refit_reserve(written.default_seconds, fits)
    # A resumed search has its own time left (see _smac_scenario); a later round was started only with time for it
    # (room_for_another_round), and must never end the run with the earlier rounds' trials lost.
    if not context.resume and number == 1:
        ensure_search_time(context, written, reserve)
    before = earlier.result.trials if earlier is not None else ()
    carried = carried_over(written.artifacts.space, before)
    if len(carried) < len(before):
        progress.stage(f"round {number}: {len(before) - len(carried)} of {len(before)} earlier trials are not "
                       "valid in the revised space and stay out of its search (the ensemble keeps them)")  # fmt: skip
    where = f"{config.workers} dask workers" if config.workers > 1 else config.dask_scheduler or ""
    if where:
        progress.stage(f"starting {where}")
    share, cap_trials = round_limits(context, settings.n_trials, number, len(before))
    # SMAC counts the told trials against its n_trials: the round's cap comes on top of them.
    smac_trials = None if cap_trials is None else cap_trials + len(carried)
    progress.start_trials(smac_trials)  # None: a count without a total
    try:
        with dask_client(config.workers, config.dask_scheduler, paths.root / ".dask", paths.trials_dir) as client, \
                graceful_interrupts(progress.stage) as stop:  # fmt: skip
            closing = CLUSTER_CLOSE_SECONDS if client is not None else 0.0
            scenario, walltime = _smac_scenario(context, written, reserve + closing, share, smac_trials)
            code = paths.round_files(number)
            files = RunFiles(code.train_py, code.space_json, paths.search_data, paths.trials_dir)
            warm_start = plan.budget_kind is not None and plan.budget_kind != "data_fraction"
            limits = context.limits(settings)
            validation = validation_of(context, data)
            target = TrialTarget(files, limits, deadline=time.time() + walltime, warm_start=warm_start,
                                 validation=validation, round_number=number)  # fmt: skip
            cap = trial_cap(scenario)
            bound = f"up to {cap - len(carried)} trials in" if cap is not None else "trials until the time is spent:"
            rounds = f"round {number} of {config.rounds}, " if config.rounds > 1 else ""
            progress.stage(f"optimizing with SMAC ({rounds}{plan.facade}{', ' + where if where else ''}): "
                           f"{bound} {walltime:.0f} s")  # fmt: skip
            first, first_only = starts(written, scenario.configspace, data.task)
            if carried:  # SMAC's model starts from the earlier trials: only the starts they did not run
                tried = [trial.config for trial in carried]
                first, first_only = [config for config in first or [] if dict(config) not in tried], True
            result = run_smac(scenario, plan, target, progress.trial_done, dask_client=client,
                              resume=context.resume, should_stop=stop, starts=first, starts_only=first_only,
                              earlier=carried, round_number=number)  # fmt: skip
            interrupted = stop.requested
    finally:
        progress.stop_trials()
    new = tuple(trial for trial in result.trials if trial.round == number)
    merged = merge_rounds(earlier.result if earlier is not None else None, result, new)
    write_json(paths.trials_json, [asdict(trial) for trial in merged.trials])
    if not any(trial.status == "success" for trial in merged.trials):
        raise RunError(
            f"every one of {len(merged.trials)} trials failed: see the logs in "
            f"{paths.trials_dir} and raise --walltime or the scenario's trial limits"
        )
    ranked = ranked_groups(new)  # a configuration's cost over the folds it ran, as the ensemble ranks them
    best = ranked[0].entry.cost if ranked else None
    this_round = RoundSummary(number, len(new), len(carried), best, written.revision)
    rounds = (earlier.rounds if earlier is not None else ()) + (this_round,)
    return Optimized(merged, interrupted, validation, stopped_by(interrupted, len(result.trials), cap), rounds)


def carried_over(space: ConfigurationSpace, trials: Sequence[TrialRecord]) -> tuple[TrialRecord, ...]:
    """The finished earlier trials whose configuration is valid in ``space``: what a later round's SMAC is told."""
    kept = []
    for trial in trials:
        try:
            as_configuration(space, trial.config)
        except (ValueError, TypeError):
            continue
        kept.append(trial)
    return tuple(kept)


def round_limits(context: RunContext, n_trials: int | None, number: int, done: int) -> tuple[float, int | None]:
    """Round ``number``'s share of what is left: of the search's seconds, and of a trial cap (None: no cap)
    less the ``done`` trials of earlier rounds. The rounds still to come share both equally."""
    rounds_left = context.config.rounds - number + 1
    trials = None if n_trials is None else max(math.ceil((n_trials - done) / rounds_left), 1)
    return 1.0 / rounds_left, trials


def merge_rounds(
    earlier: OptimizationResult | None, result: OptimizationResult, new: tuple[TrialRecord, ...]
) -> OptimizationResult:
    """Every round's trials in one history: the earlier rounds' as they were, then this round's ``new`` ones;
    the incumbent is the better of the earlier one and this round's."""
    if earlier is None:
        return result
    trials = earlier.trials + new
    if earlier.incumbent_cost <= result.incumbent_cost:
        incumbent, cost, incumbent_trials = earlier.incumbent, earlier.incumbent_cost, earlier.incumbent_trials
    else:
        incumbent, cost, incumbent_trials = result.incumbent, result.incumbent_cost, result.incumbent_trials
    return OptimizationResult(incumbent, cost, incumbent_trials, trials, earlier.seconds + result.seconds)


def room_for_another_round(context: RunContext, written: Written, optimized: Optimized, members: int) -> bool:
    """Whether another round is asked for and fits: the search was not interrupted and what is left after the
    refit's reserve covers verifying a revision and a few trials (else the rounds end here, the trials kept)."""
    if written.round_number >= context.config.rounds or optimized.interrupted:
        return False
    enough = ROUND_MIN_TRIALS * max(MIN_SEARCH_SECONDS, written.default_seconds)
    if context.clock.remaining() - context.clock.refit_reserve(written.default_seconds, members) >= enough:
        return True
    context.progress.stage(f"no time left for round {written.round_number + 1} of {context.config.rounds}: "
                           "the search ends with the earlier rounds' trials")  # fmt: skip
    return False


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


def _smac_scenario(
    context: RunContext, written: Written, reserve: float, share: float = 1.0, n_trials: int | None = None
) -> tuple[Scenario, float]:
    """SMAC's scenario and its walltime: ``share`` of what is left before the deadline (a round's), or
    (resuming) what SMAC had left; ``n_trials`` is the round's trial cap (None: the scenario's).

    A resumed run's deadline moves to now plus that time plus the refit's reserve.
    """
    config, paths, artifacts = context.config, context.paths, written.artifacts
    scenario = saved_scenario(paths.smac_dir, config.seed) if context.resume else None
    if scenario is not None:
        walltime = walltime_left(scenario)
        context.clock.resume(walltime, reserve)
        return scenario, walltime
    walltime = max((context.clock.remaining() - reserve) * share, MIN_SEARCH_SECONDS)
    folds = [paths.fold_data(fold).stem for fold in range(config.folds)] if config.folds else None
    name = "smac" if written.round_number == 1 else f"round-{written.round_number}"
    scenario = build_scenario(artifacts.space, artifacts.plan, artifacts.scenario, paths.smac_dir, config.seed,
                              walltime, artifacts.scenario.crash_cost, folds, name, n_trials)  # fmt: skip
    return scenario, walltime
