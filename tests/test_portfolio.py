"""The portfolio start: the bundled portfolios, which of their configurations a run's space keeps, and their order.

The portfolios are built by ``benchmarks/portfolio.py``; here they are only read and checked against
the offline spaces, full and narrowed the way the planner and the budgets narrow them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ConfigSpace import Categorical, Configuration, ConfigurationSpace, EqualsCondition, Float
from smac import HyperbandFacade, HyperparameterOptimizationFacade, RandomFacade

from automl.config import ScenarioSettings
from automl.optimize.initial_design import (
    algorithm_defaults,
    initial_configurations,
    load_portfolio,
    portfolio_starts,
    valid_starts,
)
from automl.optimize.smac_run import build_scenario, initial_design_for
from automl.plan import Plan
from automl.plan.algorithms import BUDGETS, algorithms_for
from automl.stages.optimize import starts
from automl.stages.write import Written
from automl.writers.base import Artifacts
from automl.writers.space import drop_hyperparameters, load_space, restrict_choices

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
TASKS = ("classification", "regression")


def _space(task: str) -> ConfigurationSpace:
    return load_space(CONFIGS / f"offline_{task}.json")


@pytest.mark.parametrize("task", TASKS)
def test_each_portfolio_loads_and_is_valid_in_the_full_offline_space(task: str) -> None:
    recorded = json.loads((CONFIGS / f"portfolio_{task}.json").read_text())
    assert recorded["task"] == task and recorded["datasets"] and recorded["candidates"]["total"] > 0
    portfolio = load_portfolio(task)
    assert 8 <= len(portfolio) <= 12
    space = _space(task)
    for values in portfolio:
        Configuration(space, values=values).check_valid_configuration()  # ConfigSpace's check_configuration
    kept = portfolio_starts(space, portfolio)
    assert kept[0] == space.get_default_configuration()
    assert [dict(config) for config in kept[1:]] == portfolio  # none dropped, in the file's order


@pytest.mark.parametrize("task", TASKS)
def test_configurations_invalid_in_a_narrowed_space_are_skipped(task: str) -> None:
    portfolio = load_portfolio(task)
    with_svm = [values for values in portfolio if values["algorithm"] == "svm"]
    portfolio = [*portfolio, {**portfolio[0], "algorithm": "svm"}, {"algorithm": "svm", "svm:nonsense": 1.0}]
    space = restrict_choices(_space(task), "algorithm", algorithms_for(20_000))  # svm is left out above 10 000 rows
    kept = portfolio_starts(space, portfolio)
    assert kept[0] == space.get_default_configuration()
    assert [dict(config) for config in kept[1:]] == [v for v in load_portfolio(task) if v["algorithm"] != "svm"]
    assert len(kept) == len(load_portfolio(task)) + 1 - len(with_svm)


def test_hyperparameters_a_budget_sets_are_left_out_not_the_configuration() -> None:
    portfolio = load_portfolio("classification")
    budget = BUDGETS["n_estimators"]
    space = drop_hyperparameters(_space("classification"), budget.replaced_hyperparameters)
    assert len(portfolio_starts(space, portfolio)) < len(portfolio) + 1  # counted families name a dropped knob
    kept = portfolio_starts(space, portfolio, budget.replaced_hyperparameters)
    assert len(kept) == len(portfolio) + 1
    assert all(name not in dict(config) for config in kept for name in budget.replaced_hyperparameters)


def test_a_space_with_other_names_starts_from_each_algorithm_default() -> None:
    space = ConfigurationSpace({"algorithm": Categorical("algorithm", ["a", "b"]), "a:alpha": Float("a:alpha", (0, 1))})
    starts_ = initial_configurations(space, load_portfolio("classification"))
    assert starts_ == algorithm_defaults(space)


def _written(writer: str, space: ConfigurationSpace, budget_kind: str | None = None, proposed: tuple = ()) -> Written:
    plan = Plan("hpo", budget_kind=budget_kind)
    scenario = ScenarioSettings(initial_configurations=proposed)
    return Written(Artifacts(writer, plan, space, scenario, ""), 0.0, "none")


@pytest.mark.parametrize("task", TASKS)
def test_the_offline_writer_starts_from_the_default_then_the_portfolio(task: str) -> None:
    space = _space(task)
    chosen, only = starts(_written("offline", space), space, task)
    assert chosen is not None and chosen[0] == space.get_default_configuration() and only
    assert [dict(config) for config in chosen[1:]] == load_portfolio(task)
    # A model's train.py without starting points of its own: each algorithm's defaults, then SMAC's points.
    assert starts(_written("llm", space), space, task) == (None, False)


SMALL = ConfigurationSpace({"algorithm": Categorical("algorithm", ["a", "b"], default="a"),
                            "a:alpha": Float("a:alpha", (0, 1), default=0.5)})  # fmt: skip
SMALL.add(EqualsCondition(SMALL["a:alpha"], SMALL["algorithm"], "a"))


def test_valid_proposed_starts_are_kept_and_the_others_dropped_saying_why() -> None:
    proposed = ({"algorithm": "a", "a:alpha": 0.9}, {"algorithm": "c"}, {"algorithm": "a", "a:alpha": 7.0},
                {"algorithm": "b", "a:alpha": 0.2}, {"algorithm": "a"}, {"algorithm": "b"})  # fmt: skip
    kept, notes = valid_starts(SMALL, proposed)
    assert kept == ({"algorithm": "a", "a:alpha": 0.9}, {"algorithm": "b"})
    assert [note.split(" {")[0] for note in notes] == [
        f"initial_configurations: dropped proposed configuration {n}" for n in (2, 3, 4, 5)
    ]
    assert "'c'" in notes[0] and "7.0" in notes[1]  # ConfigSpace's reason: the unknown value, the value out of range
    # A hyperparameter the budget sets is left out first, not held against the configuration.
    assert valid_starts(SMALL, [{"algorithm": "b", "b:trees": 90}], unset=["b:trees"])[0] == ({"algorithm": "b"},)


def test_a_models_starts_come_after_the_default_then_each_algorithms_defaults() -> None:
    proposed = ({"algorithm": "a", "a:alpha": 0.9}, {"algorithm": "b"})
    chosen, only = starts(_written("llm", SMALL, proposed=proposed), SMALL, "classification")
    assert [dict(config) for config in chosen] == [{"algorithm": "a", "a:alpha": 0.5}, *proposed]
    assert not only  # a few guesses: SMAC's own initial design follows them
    # The offline writer puts a scenario's starts before its portfolio.
    space = _space("classification")
    first = {"algorithm": "linear", "linear:C": 3.0, "linear:class_weight": "none", "linear:scaler": "standard"}
    chosen, only = starts(_written("offline", space, proposed=(first,)), space, "classification")
    assert dict(chosen[1]) == first and only


def test_the_initial_design_runs_the_starts_first_and_random_points_do_not_grow(tmp_path: Path) -> None:
    space = _space("classification")
    chosen = initial_configurations(space, load_portfolio("classification"))
    settings = ScenarioSettings(n_trials=100, walltime_limit=60, crash_cost=9.0)
    scenario = build_scenario(space, Plan("hpo"), settings, tmp_path, 0, 60.0, 9.0)
    design = initial_design_for(HyperparameterOptimizationFacade, scenario, chosen)
    before = initial_design_for(HyperparameterOptimizationFacade, scenario)  # each algorithm's defaults
    assert design.meta["n_configs"] + len(chosen) == before.meta["n_configs"] + len(algorithm_defaults(space)) == 20
    proposed = design.select_configurations()
    assert proposed[: len(chosen)] == chosen  # before SMAC's own Sobol points
    assert len(proposed) == 20
    random = initial_design_for(RandomFacade, scenario, chosen).select_configurations()
    assert random[: len(chosen)] == chosen
    # A portfolio is the whole initial design: SMAC's model proposes from the trial after it.
    only = initial_design_for(HyperparameterOptimizationFacade, scenario, chosen, starts_only=True)
    assert only.select_configurations() == chosen


HYPERBAND = Plan("hyperband", "data_fraction", 0.1, 1.0)


@pytest.mark.parametrize(("facade", "plan"), [(RandomFacade, Plan("random")), (HyperbandFacade, HYPERBAND)])
def test_facades_without_random_points_take_as_many_starts_as_their_trials_allow(
    tmp_path: Path, facade: type, plan: Plan
) -> None:
    space = _space("classification")
    chosen = initial_configurations(space, load_portfolio("classification"))
    settings = ScenarioSettings(n_trials=12, walltime_limit=60, crash_cost=9.0)
    scenario = build_scenario(space, plan, settings, tmp_path, 0, 60.0, 9.0)
    proposed = initial_design_for(facade, scenario, chosen).select_configurations()  # SMAC counts 3 of its own
    assert proposed == chosen[:9]
