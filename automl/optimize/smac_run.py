"""Run SMAC on the generated train() and read back what every trial did.

The scenario comes from the user's limits (a finite crash cost always: an infinite one makes SMAC's
models fail on the first crash), SMAC writes inside the run directory, and a callback reports each
finished trial so the console can show progress. The acquisition maximizer is SMAC's own with its
local search started in a fixed order (see :mod:`automl.optimize.acquisition`), so a run bounded by
``n_trials`` proposes the same configurations, and finds the same incumbent, every time it is run
with the same seed. The random-forest surrogate is SMAC's own with its trees' node arrays sized to
the data (see :mod:`automl.optimize.surrogate`): the same trees, without seconds of allocation per refit.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ConfigSpace import Configuration, ConfigurationSpace
from smac import Callback, Scenario
from smac.facade.abstract_facade import AbstractFacade
from smac.runhistory import StatusType, TrialInfo, TrialValue

from automl._io import read_json, write_bytes
from automl.config import ScenarioSettings
from automl.optimize.acquisition import acquisition_maximizer
from automl.optimize.facades import get_recipe
from automl.optimize.initial_design import algorithm_defaults, as_configuration
from automl.optimize.surrogate import surrogate_model
from automl.optimize.target import TrialTarget
from automl.plan import Plan
from automl.plan.plan import TIME_LIMITED_TRIALS

logger = logging.getLogger(__name__)

# Share of the trials SMAC may spend on its initial design (defaults per algorithm included), and a
# cap, so a large --trials with a short walltime still leaves time for model-based search.
INITIAL_DESIGN_RATIO = 0.25
INITIAL_DESIGN_MAX = 20
# SMAC needs a trial count: a search bounded by time alone gets this many, and its walltime (and the
# trials' deadline) stops it. Its initial design is sized as for TIME_LIMITED_TRIALS, not for this.
UNCAPPED_TRIALS = 1_000_000
# SMAC's own console logging: warnings and worse only; our progress bar says the rest.
SMAC_LOGGING_LEVEL = 30


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial as the run history has it."""

    config_id: int
    config: dict[str, Any]
    seed: int | None
    budget: float | None
    instance: str | None
    status: str
    cost: float
    wall_time: float
    metrics: dict[str, float] = field(default_factory=dict)
    model_dir: str = ""
    error: str = ""
    round: int = 1  # the round of search that ran it: its space and train.py are that round's (RunPaths.round_files)


@dataclass(frozen=True)
class OptimizationResult:
    """The incumbent and the whole run history of one SMAC run."""

    incumbent: dict[str, Any]
    incumbent_cost: float
    incumbent_trials: tuple[TrialRecord, ...]
    trials: tuple[TrialRecord, ...]
    seconds: float


TrialObserver = Callable[[float, str], None]


def _hide_unused_budget_warning(record: logging.LogRecord) -> bool:
    """One target serves every facade, so SMAC's note that it passes no budget is expected noise."""
    return "is not set by SMAC" not in record.getMessage()


def _hide_empty_initial_design_warning(record: logging.LogRecord) -> bool:
    """A later round's search starts from the earlier rounds' trials, on purpose without an initial design."""
    return "No initial configurations were sampled" not in record.getMessage()


logging.getLogger("smac.runner.target_function_runner").addFilter(_hide_unused_budget_warning)
logging.getLogger("smac.main.config_selector").addFilter(_hide_empty_initial_design_warning)


class _ObserverCallback(Callback):
    """Forwards each told trial's cost and status to an observer, and stops SMAC when asked to."""

    def __init__(self, observer: TrialObserver | None, should_stop: Callable[[], bool] | None, state_dir: Path) -> None:
        super().__init__()
        self._state_dir = state_dir  # where SMAC saves its state after every trial
        self._observer = observer
        self._should_stop = should_stop

    def on_iteration_start(self, smbo: Any) -> None:
        keep_last_good(self._state_dir)

    def on_tell_end(self, smbo: Any, info: TrialInfo, value: TrialValue) -> bool | None:
        if self._observer is not None:
            self._observer(float(value.cost), value.status.name.lower())
        if self._should_stop is not None and self._should_stop():
            return False  # SMAC finishes this tell, saves, and leaves its loop
        return None


def _replay_history(runhistory: Any, observer: TrialObserver) -> None:
    """Tell ``observer`` of the trials a resumed run finished before, oldest first, so that it counts and ranks
    the whole run (a progress bar's best loss is the run's best, not the best of the trials since the resume)."""
    for value in runhistory.values():
        if value.status != StatusType.RUNNING:
            observer(float(value.cost), value.status.name.lower())


def build_scenario(
    space: ConfigurationSpace,
    plan: Plan,
    settings: ScenarioSettings,
    output_dir: Path,
    seed: int,
    walltime: float,
    crash_cost: float,
    instances: list[str] | None = None,
    name: str = "smac",
    n_trials: int | None = None,
) -> Scenario:
    """SMAC's scenario: limits from the settings, budgets from the plan, folds as instances, output in the run.

    ``name`` is the output's folder (a later round's search has its own); ``n_trials`` replaces the settings'
    trial cap (a round's share of it, plus the earlier trials it is told of).
    """
    recipe = get_recipe(plan.facade)
    budgets = {"min_budget": plan.min_budget, "max_budget": plan.max_budget} if recipe.uses_budget else {}
    folds = {}
    if instances:
        folds = {"instances": instances, "instance_features": {name: [float(i)] for i, name in enumerate(instances)}}
    cap = settings.n_trials if n_trials is None else n_trials
    return Scenario(
        configspace=space,
        name=name,
        output_directory=output_dir,
        deterministic=settings.deterministic,
        crash_cost=crash_cost,
        n_trials=UNCAPPED_TRIALS if cap is None else cap,
        walltime_limit=walltime,
        seed=seed,
        **budgets,
        **folds,
    )


# SMAC rewrites these in place after every trial; a kill during the write leaves a broken file.
# optimization.json holds SMAC's statistics, such as its used_walltime.
RUNHISTORY_JSON, INTENSIFIER_JSON, OPTIMIZATION_JSON = "runhistory.json", "intensifier.json", "optimization.json"
STATE_FILES = (RUNHISTORY_JSON, INTENSIFIER_JSON, OPTIMIZATION_JSON)
LAST_GOOD = "last-good"


def keep_last_good(state_dir: Path) -> None:
    """Copy SMAC's state files, complete between trials, aside (atomically) when they changed.

    SMAC saves its state with plain writes after every trial, so a process killed mid-write would
    leave an empty run history; the copy is what :func:`restore_last_good` falls back to.
    """
    backup = state_dir / LAST_GOOD
    for name in STATE_FILES:
        source = state_dir / name
        target = backup / name
        if not source.is_file() or (target.is_file() and target.stat().st_mtime_ns >= source.stat().st_mtime_ns):
            continue
        write_bytes(target, source.read_bytes())
        os.utime(target, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns))


def restore_last_good(state_dir: Path) -> list[str]:
    """Put back the last complete copy of any state file a kill left broken; the names restored."""
    restored = []
    for name in STATE_FILES:
        path, copy = state_dir / name, state_dir / LAST_GOOD / name
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if copy.is_file():
                write_bytes(path, copy.read_bytes())
                restored.append(name)
    return restored


def drop_unfinished(state_dir: Path) -> int:
    """Remove from the saved run history the trials that were running when the run was killed; how many.

    SMAC saves them as RUNNING and, resumed, neither runs them again nor finishes them, while counting them
    against its trial limit: the resumed run would end with trials that never ran (and a progress bar short
    of its total). Without them, SMAC proposes again from the trials that did finish."""
    path = state_dir / RUNHISTORY_JSON
    if not path.is_file():
        return 0
    history = read_json(path)
    rows = history["data"]
    kept = [row for row in rows if row["status"] != StatusType.RUNNING.value]
    dropped = len(rows) - len(kept)
    if dropped:
        stats = history["stats"]
        history.update(data=kept, stats={**stats, "submitted": stats["submitted"] - dropped, "running": 0})
        write_bytes(path, json.dumps(history, indent=2).encode("utf-8"))
    return dropped


def saved_scenario(output_dir: Path, seed: int) -> Scenario | None:
    """The scenario a run saved under ``output_dir`` (SMAC's ``smac/<seed>``), or None if it has none."""
    path = Path(output_dir) / "smac" / str(seed)
    return Scenario.load(path) if (path / "scenario.json").is_file() else None


def walltime_left(scenario: Scenario) -> float:
    """Seconds of its walltime a saved SMAC run had not used yet (at least one): what ``--resume`` continues with."""
    used = read_json(Path(scenario.output_directory) / OPTIMIZATION_JSON).get("used_walltime", 0.0)
    return max(scenario.walltime_limit - float(used), 1.0)


def trial_cap(scenario: Scenario) -> int | None:
    """The most trials a SMAC scenario allows, or None when only its walltime bounds it."""
    return None if scenario.n_trials >= UNCAPPED_TRIALS else scenario.n_trials


def initial_design_size(n_trials: int | None) -> int:
    """How many configurations the initial design holds (algorithm defaults included) for a trial cap."""
    return min(math.ceil((n_trials or TIME_LIMITED_TRIALS) * INITIAL_DESIGN_RATIO), INITIAL_DESIGN_MAX)


def initial_design_for(
    facade: type[AbstractFacade],
    scenario: Scenario,
    starts: Sequence[Configuration] | None = None,
    starts_only: bool = False,
) -> Any:
    """The facade's own initial design, started from ``starts`` (and random ones where it has them).

    ``starts`` defaults to each algorithm's defaults. They count towards the initial design's share of
    the trials, so more starts leave fewer of SMAC's own random (or Sobol) points, never more; with
    ``starts_only`` (a portfolio: strong, diverse configurations already; a later round, whose model starts
    from the earlier rounds' trials) there are none. SMAC's
    model proposes as well as random points per trial here (``benchmarks/search_curves.py``), and a
    60 s search has few trials to spare: 9 Sobol points after an 11-configuration portfolio left the
    model-based search a third of them.
    """
    if starts is None:
        starts = algorithm_defaults(scenario.configspace)
    starts = list(starts)[: scenario.n_trials]  # SMAC refuses more starts than trials
    if "n_configs" not in inspect.signature(facade.get_initial_design).parameters:  # random and hyperband
        # Their DefaultInitialDesign runs only the default but counts SMAC's usual share against n_trials.
        reserved = max(1, int(min(10 * len(scenario.configspace), scenario.n_trials * 0.25)))  # its max_ratio
        starts = starts[: max(0, scenario.n_trials - reserved)]
        return _starts_first(facade.get_initial_design(scenario, additional_configs=starts), starts)
    n_initial = len(starts) if starts_only else initial_design_size(trial_cap(scenario))
    design = facade.get_initial_design(scenario, n_configs=max(0, n_initial - len(starts)), additional_configs=starts)
    return _starts_first(design, starts)


def _starts_first(design: Any, starts: list[Configuration]) -> Any:
    """``design`` proposing ``starts`` first, in their order, then its own points.

    SMAC puts the additional configurations after its own random or Sobol points; the default
    configuration, which verification already ran, and the portfolio are meant to come first.
    """
    select = design.select_configurations

    def select_starts_first() -> list[Configuration]:
        configs = select()
        ours = [config for config in starts if config in configs]
        return ours + [config for config in configs if config not in ours]

    design.select_configurations = select_starts_first
    return design


def told(space: ConfigurationSpace, trial: TrialRecord) -> tuple[TrialInfo, TrialValue]:
    """An earlier round's finished ``trial`` as SMAC's tell takes it, its configuration one of ``space``'s (it
    must be valid there: see :func:`automl.optimize.initial_design.as_configuration`)."""
    config = as_configuration(space, trial.config, origin=f"Round {trial.round}")
    info = {"metrics": trial.metrics, "model_dir": trial.model_dir, "wall_time": trial.wall_time,
            "round": trial.round, **({"error": trial.error} if trial.error else {})}  # fmt: skip
    value = TrialValue(cost=trial.cost, time=trial.wall_time, status=StatusType[trial.status.upper()],
                       additional_info=info)  # fmt: skip
    return TrialInfo(config, instance=trial.instance, seed=trial.seed, budget=trial.budget), value


def _intensifier(facade: type[AbstractFacade], scenario: Scenario, uses_budget: bool) -> Any:
    """With folds, a configuration may be run on every fold (SMAC's default stops at three)."""
    if uses_budget or not scenario.instances:
        return facade.get_intensifier(scenario)
    return facade.get_intensifier(scenario, max_config_calls=max(len(scenario.instances), 1))


def run_smac(
    scenario: Scenario,
    plan: Plan,
    target: TrialTarget,
    observer: TrialObserver | None = None,
    *,
    dask_client: Any = None,
    resume: bool = False,
    should_stop: Callable[[], bool] | None = None,
    starts: Sequence[Configuration] | None = None,
    starts_only: bool = False,
    earlier: Sequence[TrialRecord] = (),
    round_number: int = 1,
) -> OptimizationResult:
    """Optimize, then collect every trial (resumed ones included) and the incumbent from the run history.

    ``resume`` continues the run saved under the scenario's output directory, which must have been
    made with an equal scenario (see :func:`saved_scenario`); otherwise any earlier output is replaced.
    ``starts`` are the configurations SMAC's initial design begins with (None: each algorithm's
    defaults, see :mod:`automl.optimize.initial_design`); ``starts_only``: they are all of it.
    ``earlier`` are finished trials of earlier rounds, already valid in the scenario's space: SMAC is told
    them before it asks for its first configuration, so its model starts from what they learned (they
    count towards the scenario's trial cap and come back among the trials); the trials run now are round
    ``round_number``'s.
    """
    recipe = get_recipe(plan.facade)
    if resume:
        for name in restore_last_good(Path(scenario.output_directory)):
            logger.warning("SMAC's %s was left broken by the interruption; using its last complete copy", name)
        drop_unfinished(Path(scenario.output_directory))
    smac = recipe.facade(
        scenario,
        target.train,
        initial_design=initial_design_for(recipe.facade, scenario, starts, starts_only),
        intensifier=_intensifier(recipe.facade, scenario, recipe.uses_budget),
        acquisition_maximizer=acquisition_maximizer(recipe.facade, scenario),  # same proposals in every process
        model=surrogate_model(recipe.facade, scenario),  # SMAC's forest without its 2**20-leaf allocation per tree
        overwrite=not resume,
        logging_level=SMAC_LOGGING_LEVEL,
        callbacks=[_ObserverCallback(observer, should_stop, Path(scenario.output_directory))],
        dask_client=dask_client,
    )
    if observer is not None:
        _replay_history(smac.runhistory, observer)
    for trial in earlier:
        smac.tell(*told(scenario.configspace, trial), save=False)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # SMAC's local search averages an empty neighbourhood now and then; harmless, and noise to users.
        warnings.filterwarnings("ignore", "Mean of empty slice|invalid value encountered", RuntimeWarning)
        incumbent = smac.optimize()
    seconds = time.perf_counter() - started

    runhistory = smac.runhistory
    trials = []
    for key, value in runhistory.items():
        config = dict(runhistory.get_config(key.config_id))
        info = value.additional_info or {}
        trials.append(
            TrialRecord(
                config_id=key.config_id,
                config=config,
                seed=key.seed,
                budget=key.budget,
                instance=key.instance,
                status=value.status.name.lower(),
                cost=float(value.cost),
                wall_time=float(info.get("wall_time", value.time)),
                metrics=info.get("metrics", {}),
                model_dir=info.get("model_dir", ""),
                error=str(info.get("error", "")),
                round=int(info.get("round", round_number)),  # a crashed trial's info is SMAC's, without it
            )
        )
    if isinstance(incumbent, list):  # several incumbents only arise with several objectives
        incumbent = incumbent[0]
    incumbent_values = dict(incumbent) if incumbent is not None else {}
    incumbent_trials = tuple(trial for trial in trials if trial.config == incumbent_values)
    incumbent_cost = float(runhistory.get_cost(incumbent)) if incumbent is not None else math.inf
    return OptimizationResult(incumbent_values, incumbent_cost, incumbent_trials, tuple(trials), seconds)
