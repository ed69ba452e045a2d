"""Every SMAC facade, budgets and cross-validation folds, end to end through the CLI (workers and resume:
``test_workers_and_resume.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from automl.config import RunConfig
from automl.errors import ConfigError
from automl.plan.algorithms import BUDGETS
from automl.stages.prepare import SMALL_DATA_FOLDS, SMALL_DATA_ROWS, validation_folds

pytestmark = pytest.mark.e2e


def automl(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "automl.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def read(run: Path, name: str):
    return json.loads((run / name).read_text())


# hpo, the default facade, runs end to end in test_cross_validation_folds_are_instances below and in test_e2e.py.
@pytest.mark.parametrize("facade", ["mf", "hyperband", "blackbox", "random"])
def test_every_other_facade_runs_end_to_end(tmp_path: Path, facade: str) -> None:
    run = tmp_path / "run"
    # Iris has 78 training rows, too few for a data fraction by default (trees instead): asked for, it stands.
    fraction = ["--budget-kind", "data_fraction"] if facade in ("mf", "hyperband") else []
    # Two rounds under successive halving: the second is told the first's trials at their budgets.
    rounds = ["--rounds", "2"] if facade == "mf" else []
    # One split and no bags: what differs between facades is the search, not the folds or the refit.
    done = automl("run", "--data", "sklearn:iris", "--facade", facade, *fraction, *rounds, "--trials", "12",
                  "--walltime", "60", "--cv", "1", "--no-bag", "--out", run, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result, plan = read(run, "result.json"), read(run, "plan.json")
    assert result["facade"] == plan["facade"] == facade
    assert result["test_metrics"]["accuracy"] > 0.8
    trials = read(run, "trials.json")
    assert sum(trial["status"] == "success" for trial in trials) >= 5
    if facade in ("mf", "hyperband"):
        assert plan["budget_kind"] == "data_fraction" and 0 < plan["min_budget"] < plan["max_budget"] == 1
        budgets = {trial["budget"] for trial in trials}
        assert len(budgets) > 1, "successive halving ran every trial at one budget"
        assert all(plan["min_budget"] - 1e-9 <= budget <= plan["max_budget"] + 1e-9 for budget in budgets)
        # train() saw those budgets: it reports the row fraction it fitted on.
        assert all(trial["metrics"]["budget_used"] == pytest.approx(trial["budget"], abs=0.02) for trial in trials
                   if trial["status"] == "success")  # fmt: skip
        assert result["budget"]["seen"] == sorted(budgets)
    else:
        assert plan["budget_kind"] is None and all(trial["budget"] is None for trial in trials)
    if rounds:  # the offline writer's revision narrowed the families; round 2 searched only those
        first, second = result["rounds"]
        assert first["trials"] + second["trials"] == 12 and second["carried_over"] > 0
        families = set(read(run / "rounds" / "2", "config_space.json")["hyperparameters"][0]["choices"])
        assert {trial["config"]["algorithm"] for trial in trials if trial["round"] == 2} <= families
        assert "algorithm: dropped" in second["revision"]


def test_tree_budgets_continue_from_the_lower_budget_model(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = automl("run", "--data", "sklearn:breast_cancer", "--facade", "mf", "--budget-kind", "n_estimators",
                  "--trials", "24", "--walltime", "120", "--no-bag", "--out", run, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan, trials = read(run, "plan.json"), read(run, "trials.json")
    # 24 trials climb two rungs of successive halving: 90 and 270 trees.
    assert plan["budget_kind"] == "n_estimators" and (plan["min_budget"], plan["max_budget"]) == (90, 270)
    space = read(run, "config_space.json")
    assert "rf:n_estimators" not in {hp["name"] for hp in space["hyperparameters"]}  # the budget sets it
    done_trials = [trial for trial in trials if trial["status"] == "success"]
    assert len({trial["budget"] for trial in done_trials}) > 1
    for trial in done_trials:
        if trial["config"]["algorithm"] in BUDGETS["n_estimators"].counts:  # trees or rounds = round(budget)
            assert trial["metrics"]["budget_used"] == round(trial["budget"])
    promoted = [trial for trial in done_trials if trial["metrics"]["warm_started"] == 1.0]
    assert promoted, "no trial at a higher budget continued its configuration's lower-budget model"
    assert all(trial["config"]["algorithm"] in BUDGETS["n_estimators"].warm_starts for trial in promoted)


def test_cross_validation_folds_are_instances(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = automl("run", "--data", "sklearn:wine", "--cv", "3", "--trials", "15", "--walltime", "90", "--out", run,
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result, trials = read(run, "result.json"), read(run, "trials.json")
    assert result["facade"] == "hpo" and result["cv_folds"] == 3
    assert {trial["instance"] for trial in trials} == {"fold-0", "fold-1", "fold-2"}
    assert all((run / "data" / f"fold-{fold}.joblib").is_file() for fold in range(3))
    assert result["incumbent_folds"] == 3
    incumbent = [t for t in trials if t["config"] == result["incumbent"] and t["status"] == "success"]
    assert result["validation_loss"] == pytest.approx(sum(t["cost"] for t in incumbent) / len(incumbent))
    # The ensemble was selected on out-of-fold predictions: every fold's rows, each predicted once.
    assert {t["model_dir"] + ".npz" for t in incumbent} <= {p.name for p in (run / "predictions").iterdir()}
    assert result["refit"]["validation_loss"] is not None


def test_small_data_tunes_on_folds_unless_told_otherwise() -> None:
    assert validation_folds(RunConfig(), SMALL_DATA_ROWS) == SMALL_DATA_FOLDS
    assert validation_folds(RunConfig(), SMALL_DATA_ROWS + 1) == 1  # one validation split
    assert validation_folds(RunConfig(facade="hyperband"), 300) == 1  # budgets allow one instance only
    assert validation_folds(RunConfig(), 300, rarest=3) == 3  # stratified folds: every class in each
    assert validation_folds(RunConfig(), 300, rarest=1) == 1
    assert RunConfig(cv=1).folds is None and RunConfig(cv=3).folds == 3 and RunConfig().folds is None
    with pytest.raises(ConfigError, match="1: one validation split"):
        RunConfig(cv=0)


def test_cv_with_a_budgeted_facade_is_a_clear_error(tmp_path: Path) -> None:
    done = automl("run", "--facade", "mf", "--cv", "3", cwd=tmp_path)
    assert done.returncode == 2 and "--cv works with the facades hpo and random" in done.stderr
