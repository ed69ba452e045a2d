"""SMAC runs the generated train() through the sandbox; every failure kind maps to its SMAC status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from ConfigSpace import Categorical, ConfigurationSpace
from smac import HyperparameterOptimizationFacade, MultiFidelityFacade, RandomFacade, Scenario
from smac.model.random_forest.random_forest import EPMRandomForest

from automl.config import ScenarioSettings
from automl.optimize import smac_run
from automl.optimize.acquisition import acquisition_maximizer
from automl.optimize.initial_design import algorithm_defaults
from automl.optimize.smac_run import UNCAPPED_TRIALS, build_scenario, run_smac, trial_cap
from automl.optimize.surrogate import surrogate_model
from automl.optimize.target import RunFiles, TrialTarget
from automl.plan import Plan
from automl.sandbox import Limits

TRAIN = """
import time
import numpy as np


def train(cfg, dataset, seed, budget=None, model_dir=None):
    kind = cfg["algorithm"]
    if kind == "sleepy":
        time.sleep(60)
    if kind == "hungry":
        hog = np.ones(2**31 // 8 * 2)
        return {"loss": float(hog[0])}
    if kind == "broken":
        raise ValueError("this branch is broken")
    return {"loss": 0.25 if kind == "good" else 0.5, "accuracy": 0.75}
"""


def test_timeouts_memoryouts_and_crashes_reach_smac_with_a_finite_cost(tmp_path: Path) -> None:
    space = ConfigurationSpace(seed=0)
    space.add(Categorical("algorithm", ["good", "sleepy", "hungry", "broken", "fine"], default="good"))
    (tmp_path / "train.py").write_text(TRAIN)
    space.to_json(tmp_path / "space.json")
    joblib.dump({"X": pd.DataFrame({"a": [1.0, 2.0]}), "y": np.array([0, 1])}, tmp_path / "data.joblib")
    files = RunFiles(tmp_path / "train.py", tmp_path / "space.json", tmp_path / "data.joblib", tmp_path / "trials")
    target = TrialTarget(files, Limits(walltime_s=5, memory_mb=1024))
    settings = ScenarioSettings(n_trials=5, walltime_limit=60, crash_cost=9.0)
    plan = Plan(facade="hpo")
    scenario = build_scenario(space, plan, settings, tmp_path / "smac", seed=0, walltime=60, crash_cost=9.0)
    seen: list[tuple[float, str]] = []
    started = time.monotonic()
    result = run_smac(scenario, plan, target, lambda cost, status: seen.append((cost, status)))
    assert time.monotonic() - started < 45

    statuses = {trial.config["algorithm"]: trial.status for trial in result.trials}
    assert statuses == {"good": "success", "sleepy": "timeout", "hungry": "memoryout", "broken": "crashed",
                        "fine": "success"}  # fmt: skip
    costs = {trial.config["algorithm"]: trial.cost for trial in result.trials}
    assert costs["sleepy"] == costs["hungry"] == costs["broken"] == 9.0
    assert result.incumbent == {"algorithm": "good"} and result.incumbent_cost == 0.25
    assert len(seen) == 5 and ("success" in {status for _, status in seen})
    good = next(trial for trial in result.trials if trial.config["algorithm"] == "good")
    assert good.metrics == {"accuracy": 0.75}
    assert (tmp_path / "trials" / good.model_dir / "trial.log").is_file()
    runhistory = json.loads((tmp_path / "smac" / "smac" / "0" / "runhistory.json").read_text())
    assert len(runhistory["data"]) == 5  # SMAC's own record keeps every finished trial


def test_initial_design_starts_from_each_algorithm_default() -> None:
    space = ConfigurationSpace.from_json(Path(__file__).parents[1] / "configs" / "offline_classification.json")
    starts = algorithm_defaults(space)
    assert starts[0] == space.get_default_configuration()
    assert sorted(config["algorithm"] for config in starts) == sorted(space["algorithm"].choices)


@pytest.mark.parametrize("facade", [HyperparameterOptimizationFacade, MultiFidelityFacade, RandomFacade])
def test_a_search_bounded_by_time_gets_a_huge_trial_count_but_the_default_runs_initial_design(
    tmp_path: Path, facade: type
) -> None:
    space = ConfigurationSpace.from_json(Path(__file__).parents[1] / "configs" / "offline_classification.json")
    plan = Plan(facade="hpo")

    def design(n_trials: int | None) -> list:
        settings = ScenarioSettings(n_trials=n_trials, walltime_limit=60, crash_cost=9.0)
        scenario = build_scenario(space, plan, settings, tmp_path / str(n_trials), seed=0, walltime=60, crash_cost=9.0)
        assert trial_cap(scenario) == n_trials
        assert scenario.n_trials == (UNCAPPED_TRIALS if n_trials is None else n_trials)
        # The facade seeds the space before its design draws (abstract_facade.py); an unseeded one draws per
        # process, and SMAC drops a random point that repeats a default (19 of 20 for about 1% of seeds).
        scenario.configspace.seed(scenario.seed)
        return smac_run.initial_design_for(facade, scenario).select_configurations()

    timed, default = design(None), design(40)
    assert timed == default  # 7 algorithm defaults, and 3 Sobol points where the facade has them
    if facade is RandomFacade:
        assert len(default) == len(algorithm_defaults(space))
    else:
        assert len(default) == 10
        assert len(design(400)) == smac_run.INITIAL_DESIGN_MAX  # a large cap of the user's still scales it, capped


REPO = Path(__file__).parents[1]
# One SMAC run on the bundled classification space with a cheap, deterministic loss; prints the
# configurations in the order SMAC proposed them.
REPLAY = """
import json, math, sys
from pathlib import Path
from ConfigSpace import ConfigurationSpace
from automl.config import ScenarioSettings
from automl.optimize.smac_run import build_scenario, run_smac
from automl.plan import Plan

BASE = {"hgb": 0.3, "lgbm": 0.28, "rf": 0.35, "et": 0.4, "linear": 0.2, "knn": 0.5, "svm": 0.45, "mlp": 0.1}

class Target:
    def train(self, config, seed=0, budget=None):
        values = dict(config)
        loss = BASE[values.pop("algorithm")]
        for _, value in sorted(values.items()):
            if isinstance(value, float):
                loss += 0.005 * abs(math.log10(abs(value) + 1e-9) + 2)
            elif isinstance(value, int):
                loss += 0.001 * (value % 7)
        return loss, {}

space_path, out, seed, n_trials = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
settings = ScenarioSettings(n_trials=n_trials, walltime_limit=600, crash_cost=9.0)
plan = Plan(facade="hpo")
space = ConfigurationSpace.from_json(space_path)
scenario = build_scenario(space, plan, settings, out, seed=seed, walltime=600, crash_cost=9.0)
result = run_smac(scenario, plan, Target())
print(json.dumps([trial.config for trial in result.trials], default=str))
"""


def test_same_seed_proposes_the_same_configurations_in_every_process(tmp_path: Path) -> None:
    """Each run is a new process with its own string-hash salt, as two `automl run` calls are."""
    space = REPO / "configs" / "offline_classification.json"
    n_trials = 16  # past the initial design (the 8 algorithm defaults), into model-based proposals

    def start(seed: int, hash_seed: int) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": str(REPO)}
        out = tmp_path / f"seed{seed}-hash{hash_seed}"
        command = [sys.executable, "-c", REPLAY, str(space), str(out), str(seed), str(n_trials)]
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    runs = [start(0, 1), start(0, 2), start(1, 1)]
    sequences = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr[-2000:]
        sequences.append(json.loads(stdout.strip().splitlines()[-1]))
    first, again, other_seed = sequences
    assert len(first) == n_trials
    assert first == again
    assert first != other_seed


def hpo_scenario(output_dir: Path) -> Scenario:
    """An hpo scenario over the offline classification space, for comparing our SMAC parts with the facade's."""
    space = ConfigurationSpace.from_json(REPO / "configs" / "offline_classification.json")
    settings = ScenarioSettings(n_trials=10, walltime_limit=60, crash_cost=9.0)
    return build_scenario(space, Plan(facade="hpo"), settings, output_dir, seed=3, walltime=60, crash_cost=9.0)


def test_acquisition_maximizer_keeps_the_hpo_facade_settings(tmp_path: Path) -> None:
    scenario = hpo_scenario(tmp_path)
    ours = acquisition_maximizer(HyperparameterOptimizationFacade, scenario)
    assert ours is not None
    theirs = HyperparameterOptimizationFacade.get_acquisition_maximizer(scenario)

    def settings_of(meta: dict) -> dict:
        return {key: settings_of(value) if isinstance(value, dict) else value
                for key, value in meta.items() if key != "name"}  # fmt: skip

    assert settings_of(ours.meta) == settings_of(theirs.meta)
    assert ours._local_search_iterations == theirs._local_search_iterations  # not in meta


def test_surrogate_model_keeps_the_hpo_facade_forest(tmp_path: Path) -> None:
    scenario = hpo_scenario(tmp_path)
    ours = surrogate_model(HyperparameterOptimizationFacade, scenario)
    assert ours is not None
    theirs = HyperparameterOptimizationFacade.get_model(scenario)
    assert ours.meta == theirs.meta  # so a run saved with SMAC's own forest resumes without SMAC's prompt
    assert surrogate_model(RandomFacade, scenario) is None

    # The same trees: fitted on the same rows, the forests predict the same; only the leaf limit differs.
    configs = scenario.configspace.sample_configuration(12)
    X = np.array([config.get_array() for config in configs])
    y = np.linspace(0.1, 1.0, len(configs)).reshape(-1, 1)
    ours.train(X, y)
    theirs.train(X, y)
    assert isinstance(ours._rf, EPMRandomForest)
    assert ours._rf.max_leaf_nodes == len(configs)
    np.testing.assert_array_equal(ours.predict(X)[0], theirs.predict(X)[0])
