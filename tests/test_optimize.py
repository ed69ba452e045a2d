"""SMAC runs the generated train() through the sandbox; every failure kind maps to its SMAC status."""

from __future__ import annotations

import json
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from ConfigSpace import Categorical, ConfigurationSpace

from automl.config import ScenarioSettings
from automl.optimize.initial_design import algorithm_defaults
from automl.optimize.smac_run import build_scenario, run_smac
from automl.optimize.target import RunFiles, TrialTarget
from automl.plan import Plan
from automl.verify.sandbox import Limits

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
