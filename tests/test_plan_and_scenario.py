"""A writer's plan and scenario proposals become a Plan and ScenarioSettings only within the rules."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from automl.config import ScenarioSettings, requested_scenario
from automl.errors import ConfigError
from automl.evaluate.metric import METRICS
from automl.plan import Plan
from automl.writers.scenario import bounded_scenario

USER = ScenarioSettings(n_trials=50, walltime_limit=120, trial_walltime_limit=60, trial_memory_limit_mb=4096)
LABELS = np.array([0, 0, 1, 2])  # class shares 0.5, 0.25, 0.25
LOG_LOSS = METRICS["log_loss"]
PRIOR = LOG_LOSS.prior_loss(LABELS, 3)


def test_the_prior_loss_is_what_a_model_that_learned_nothing_scores_on_the_runs_metric() -> None:
    assert pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))) == PRIOR
    assert METRICS["accuracy"].prior_loss(LABELS, 3) == pytest.approx(0.5)  # the majority class is right half the time
    assert METRICS["roc_auc"].prior_loss(LABELS, 3) == pytest.approx(0.5)
    target = np.array([1.0, 2.0, 3.0, 6.0])
    assert METRICS["rmse"].prior_loss(target) == pytest.approx(float(np.std(target)))
    assert METRICS["r2"].prior_loss(target) == pytest.approx(1.0)


def test_proposals_within_the_limits_are_kept() -> None:
    proposal = {"n_trials": 30, "walltime_limit": 90, "trial_walltime_limit": 20, "trial_memory_limit_mb": 2048,
                "crash_cost": 5.0, "deterministic": False}  # fmt: skip
    bounded, notes = bounded_scenario(proposal, USER, LOG_LOSS, PRIOR)
    assert (bounded.n_trials, bounded.walltime_limit, bounded.trial_walltime_limit) == (30, 90, 20)
    assert bounded.trial_memory_limit_mb == 2048 and isinstance(bounded.n_trials, int)
    assert bounded.crash_cost == 5.0 and bounded.deterministic is False
    assert notes == []


def test_proposals_above_the_users_limits_are_lowered_and_starving_ones_raised() -> None:
    proposal = {"n_trials": 10_000, "walltime_limit": 1e6, "trial_walltime_limit": 0.5, "trial_memory_limit_mb": 64}
    bounded, notes = bounded_scenario(proposal, USER, LOG_LOSS, PRIOR)
    assert (bounded.n_trials, bounded.walltime_limit) == (50, 120)
    assert (bounded.trial_walltime_limit, bounded.trial_memory_limit_mb) == (10, 1024)
    assert len(notes) == 4 and all(("lowered" in note) or ("raised" in note) for note in notes)
    small_user = ScenarioSettings(trial_walltime_limit=5)
    assert bounded_scenario({"trial_walltime_limit": 1}, small_user, LOG_LOSS, PRIOR)[0].trial_walltime_limit == 5


@pytest.mark.parametrize("bad", ["fast", None, -3, math.inf, True])
def test_values_that_are_not_positive_numbers_are_ignored(bad: object) -> None:
    bounded, notes = bounded_scenario({"n_trials": bad}, USER, LOG_LOSS, PRIOR)
    assert bounded.n_trials == 50
    assert notes and "ignored" in notes[0]


def test_a_models_trial_count_does_not_cap_a_run_bounded_by_time_alone() -> None:
    timed = replace(USER, n_trials=None, walltime_limit=60.0)
    bounded, notes = bounded_scenario({"n_trials": 30, "walltime_limit": 1e6}, timed, LOG_LOSS, PRIOR)
    assert bounded.n_trials is None and bounded.walltime_limit == 60.0
    assert any(note.startswith("n_trials: ignored the proposed 30") for note in notes)
    assert bounded_scenario({}, timed, LOG_LOSS, PRIOR) == (bounded, [])  # the offline writer proposes nothing


def test_a_crash_cost_not_worse_than_the_prior_is_replaced_and_the_users_wins() -> None:
    baseline = PRIOR
    bounded, notes = bounded_scenario({"crash_cost": 0.01}, USER, LOG_LOSS, PRIOR)
    assert bounded.crash_cost == pytest.approx(10 * baseline, rel=1e-6) and "crash_cost" in notes[0]
    assert bounded_scenario({}, USER, LOG_LOSS, PRIOR)[0].crash_cost == pytest.approx(10 * baseline, rel=1e-6)
    user_cost = USER.with_overrides(crash_cost=7.0)
    assert bounded_scenario({"crash_cost": 99.0}, user_cost, LOG_LOSS, PRIOR)[0].crash_cost == 7.0
    # A score's loss is at most 1 (or above, for a model worse than chance): a crash costs at least that.
    accuracy = METRICS["accuracy"]
    assert bounded_scenario({}, USER, accuracy, 0.02)[0].crash_cost == 1.0
    assert "1 - accuracy of predicting the prior" in bounded_scenario({"crash_cost": 0.01}, USER, accuracy, 0.02)[1][0]


def test_a_plan_proposal_becomes_a_plan() -> None:
    plan = Plan.from_proposal({"facade": "hpo", "budget_kind": "n_estimators", "min_budget": 1, "max_budget": 9,
                               "algorithms": ["rf"], "train_plan": " fit it ", "reasons": "small data"})  # fmt: skip
    # hpo takes no budgets: whatever the planner said about them is dropped.
    assert (plan.facade, plan.budget_kind, plan.min_budget, plan.max_budget) == ("hpo", None, None, None)
    assert plan.train_plan == "fit it" and plan.reasons == ("small data",) and plan.algorithms == ("rf",)


@pytest.mark.parametrize(
    ("proposal", "problem"),
    [
        ({"facade": "bayes", "train_plan": "x"}, "'facade' is 'bayes': use one of"),
        ({"facade": None, "train_plan": "x"}, "'facade' is None"),
        ({"facade": "hpo"}, "'train_plan' must be a non-empty text"),
        ({"facade": "hpo", "train_plan": ["a"]}, "'train_plan' must be a non-empty text"),
    ],
)
def test_a_bad_plan_proposal_says_what_to_fix(proposal: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        Plan.from_proposal(proposal)


def test_budgeted_facades_need_an_ordered_budget_range(monkeypatch: pytest.MonkeyPatch) -> None:
    from automl.plan import facades

    monkeypatch.setitem(facades.FACADE_INFO, "mf", facades.FacadeInfo(uses_budget=True, summary="test"))
    with pytest.raises(ValueError, match=r"needs 'budget_kind'.*positive 'min_budget'"):
        Plan.from_proposal({"facade": "mf", "train_plan": "x", "min_budget": 0, "max_budget": 10})
    with pytest.raises(ValueError, match="must be below"):
        Plan.from_proposal({"facade": "mf", "budget_kind": "epochs", "train_plan": "x", "min_budget": 9,
                            "max_budget": 3})  # fmt: skip
    plan = Plan.from_proposal({"facade": "mf", "budget_kind": "epochs", "train_plan": "x", "min_budget": 1,
                               "max_budget": 27})  # fmt: skip
    assert (plan.budget_kind, plan.min_budget, plan.max_budget) == ("epochs", 1.0, 27.0)


def _description(rows: int) -> dict:
    return {"splits": {"train": rows}, "task": "classification", "n_numeric": 3, "n_categorical": 1}


def test_the_offline_planner_chooses_multi_fidelity_for_large_data_only() -> None:
    from automl.plan import plan_offline

    small, large = plan_offline(_description(5_000)), plan_offline(_description(60_000))
    assert (small.facade, small.budget_kind, small.min_budget) == ("hpo", None, None)
    assert (large.facade, large.budget_kind) == ("mf", "data_fraction")
    assert large.max_budget == 1.0 and large.min_budget == pytest.approx(1 / 9)  # 40 trials: three rungs
    assert any("mf:" in reason for reason in large.reasons)
    assert plan_offline(_description(60_000), facade="random").facade == "random"


@pytest.mark.parametrize(("n_trials", "low"), [(10, 90.0), (40, 30.0), (200, 10.0)])
def test_budget_ranges_have_as_many_rungs_as_the_trials_can_climb(n_trials: int, low: float) -> None:
    from automl.plan import plan_offline

    plan = plan_offline(_description(500), facade="hyperband", budget_kind="n_estimators", n_trials=n_trials)
    assert (plan.min_budget, plan.max_budget) == (low, 270.0)


def test_a_search_bounded_by_time_is_planned_as_the_default_presets_trials() -> None:
    from automl.plan import plan_offline
    from automl.plan.plan import TIME_LIMITED_TRIALS

    assert ScenarioSettings.load("default").n_trials == TIME_LIMITED_TRIALS
    for rows in (500, 60_000):
        description = _description(rows)
        assert plan_offline(description, "mf", n_trials=None) == plan_offline(description, "mf", n_trials=40)


def test_a_small_table_keeps_enough_rows_at_the_smallest_fraction() -> None:
    from automl.plan import plan_offline

    plan = plan_offline(_description(3_000), facade="mf", n_trials=200)
    assert plan.min_budget == pytest.approx(1_000 / 3_000)  # 1/27 of 3000 rows would be 111 rows
    tiny = plan_offline(_description(100), facade="mf", budget_kind="data_fraction", n_trials=200)
    assert tiny.min_budget == pytest.approx(1 / 3)  # never fewer than two rungs


@pytest.mark.parametrize("rows", [78, 142, 299])
def test_on_small_data_the_offline_planner_counts_trees_instead_of_rows(rows: int) -> None:
    from automl.plan import plan_offline

    plan = plan_offline(_description(rows), facade="hyperband")
    assert (plan.budget_kind, plan.min_budget, plan.max_budget) == ("n_estimators", 30.0, 270.0)
    assert f"not data_fraction: its smallest trials would fit on {round(rows / 3)} of the {rows}" in plan.reasons[-1]


@pytest.mark.parametrize("rows", [78, 142, 300, 1_000, 3_000, 20_000, 60_000, 1_000_000])
@pytest.mark.parametrize("n_trials", [10, 40, 200, None])
def test_the_offline_planners_own_plans_pass_the_writers_plan_check(rows: int, n_trials: int | None) -> None:
    from automl.plan import plan_offline

    for facade in ("auto", "mf", "hyperband", "hpo"):
        plan = plan_offline(_description(rows), facade=facade, n_trials=n_trials)
        proposal = {**plan.to_dict(), "facade": plan.facade}
        assert Plan.from_proposal(proposal, fit_rows=rows) == plan


@pytest.mark.parametrize(
    ("kind", "low", "high", "rows", "problem"),
    [
        ("data_fraction", 0.1, 1.0, 142, r"about 14 of the 142 training rows .* Use a 'min_budget' of at least 0\.71,"),
        ("subsample", 0.2, 1.0, 142, "about 28 of the 142 training rows"),
        ("rows", 30, 142, 142, "about 30 of the 142 .* at least 100,"),
        ("fraction", 0.9, 1.0, 90, "about 81 of the 90 .* Use a budget that counts"),  # no fraction is enough
    ],
)
def test_a_data_fraction_on_few_rows_is_sent_back_with_what_to_do(kind: str, low: float, high: float, rows: int,
                                                                  problem: str) -> None:  # fmt: skip
    proposal = {"facade": "mf", "budget_kind": kind, "min_budget": low, "max_budget": high, "train_plan": "x"}
    with pytest.raises(ValueError, match=problem) as raised:
        Plan.from_proposal(proposal, fit_rows=rows)
    assert "splits.train" in str(raised.value) and "'hpo' facade without budgets" in str(raised.value)


def test_budgets_that_count_iterations_or_leave_enough_rows_pass() -> None:
    for kind, low, high in [("n_estimators", 10, 300), ("epochs", 1, 27), ("data_fraction", 0.71, 1.0)]:
        proposal = {"facade": "mf", "budget_kind": kind, "min_budget": low, "max_budget": high, "train_plan": "x"}
        assert Plan.from_proposal(proposal, fit_rows=142).budget_kind == kind
    tiny = {"facade": "mf", "budget_kind": "data_fraction", "min_budget": 0.1, "max_budget": 1.0, "train_plan": "x"}
    assert Plan.from_proposal(tiny).min_budget == 0.1  # no data size given: nothing to check against


def test_the_family_tables_are_consistent() -> None:
    """Budget kinds name only known families, and a family can continue only what the budget counts."""
    from automl.plan.algorithms import ALL_ALGORITHMS, BUDGETS, algorithms_for

    for kind in BUDGETS.values():
        assert set(kind.counts) <= set(ALL_ALGORITHMS), kind.name
        assert set(kind.warm_starts) <= set(kind.counts), kind.name
    assert algorithms_for(200_000) == ("hgb", "lgbm", "rf", "et", "linear")
    assert algorithms_for(10_000) == ALL_ALGORITHMS


def test_the_metric_is_settled_with_the_plan_and_one_that_does_not_fit_is_sent_back() -> None:
    from automl.config import RunConfig
    from automl.data import prepare_dataset
    from automl.stages.write import settle_metric
    from automl.writers.base import DraftRejected

    data = prepare_dataset("sklearn:diabetes", seed=0)
    plan = Plan(facade="hpo", train_plan="fit", metric="mae")
    assert settle_metric(plan, RunConfig(data="sklearn:diabetes"), data).metric == "mae"  # the planner's choice
    assert settle_metric(replace(plan, metric=None), RunConfig(data="x"), data).metric == "rmse"  # the default
    assert settle_metric(plan, RunConfig(data="x", metric="r2"), data).metric == "r2"  # --metric wins
    with pytest.raises(DraftRejected) as rejected:
        settle_metric(replace(plan, metric="roc_auc"), RunConfig(data="x"), data)
    assert "'metric' is 'roc_auc', which does not fit this regression table: use one of rmse, mae, r2" in str(
        rejected.value
    )


def test_a_models_starting_configurations_are_kept_up_to_a_few_and_a_scenario_files_own_win() -> None:
    guesses = [{"algorithm": "rf", "rf:max_depth": depth} for depth in range(1, 8)]
    bounded, notes = bounded_scenario({"initial_configurations": guesses[:2]}, USER, LOG_LOSS, PRIOR)
    assert bounded.initial_configurations == tuple(guesses[:2]) and notes == []
    bounded, notes = bounded_scenario({"initial_configurations": guesses}, USER, LOG_LOSS, PRIOR)
    assert bounded.initial_configurations == tuple(guesses[:5]) and "kept the first 5 of the 7" in notes[0]
    for bad in ({"algorithm": "rf"}, ["rf"], "rf"):
        bounded, notes = bounded_scenario({"initial_configurations": bad}, USER, LOG_LOSS, PRIOR)
        assert bounded.initial_configurations == () and "must be a list of" in notes[0]
    own = replace(USER, initial_configurations=(guesses[0],))
    bounded, notes = bounded_scenario({"initial_configurations": guesses[1:3]}, own, LOG_LOSS, PRIOR)
    assert bounded.initial_configurations == (guesses[0],) and "scenario file's own" in notes[0]


def test_a_scenario_file_may_name_starting_configurations(tmp_path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("walltime_limit: 60\ninitial_configurations:\n  - {algorithm: rf, 'rf:max_depth': 4}\n")
    assert requested_scenario(path).initial_configurations == ({"algorithm": "rf", "rf:max_depth": 4},)
    path.write_text("initial_configurations: rf\n")
    with pytest.raises(ConfigError, match="initial_configurations must be a list"):
        requested_scenario(path)


@pytest.mark.parametrize(("n_trials", "rungs"), [(12, (9.0, 27.0)), (40, (3.0, 27.0)), (5000, (3.0, 27.0))])
def test_a_tensor_plan_climbs_epochs_from_three_however_many_trials_it_has(n_trials: int, rungs: tuple) -> None:
    from automl.plan.plan import plan_tensors

    description = {"tensor": {"kind": "image", "sample_shape": [1, 8, 8]}}
    plan = plan_tensors(description, n_trials=n_trials)
    assert plan.facade == "hyperband" and plan.budget_kind == "epochs"
    assert (plan.min_budget, plan.max_budget) == rungs  # a 1-epoch rung would still be warming up
    assert plan_tensors(description, facade="hpo", n_trials=n_trials).min_budget is None
