"""The built-in writer: no language model, the same artifacts, a strong default.

It plans by rules (``automl.plan``), takes its search space from ``configs/offline_<task>.json``
narrowed to the algorithms the data size allows (or the user's ``--space``), derives a finite crash
cost from the task's baseline loss, and writes ``train.py`` from the template module
``offline_train.py`` with the task filled in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from automl.config import RunConfig
from automl.plan import plan_offline
from automl.resources import bundled_dir
from automl.writers.base import Artifacts
from automl.writers.space import load_space, restrict_choices

TEMPLATE = Path(__file__).with_name("offline_train.py")
TASK_PLACEHOLDER = 'TASK = "__TASK__"'
# A crashed trial costs this many times the loss of predicting the prior: worse than any real model.
CRASH_COST_FACTOR = 10.0


def render_train(task: str) -> str:
    """The train.py source for ``task``: the template with its one placeholder filled."""
    source = TEMPLATE.read_text(encoding="utf-8")
    if source.count(TASK_PLACEHOLDER) != 1:
        raise RuntimeError(f"{TEMPLATE} must contain the line {TASK_PLACEHOLDER!r} exactly once")
    return source.replace(TASK_PLACEHOLDER, f"TASK = {task!r}")


def baseline_loss(description: dict[str, Any]) -> float:
    """The loss of predicting the prior: the class entropy (log loss) or the target's std (RMSE)."""
    summary = description["target_summary"]
    if description["task"] == "regression":
        return float(summary["summary"].get("std") or 1.0)
    fractions = np.array([entry["fraction"] for entry in summary["classes"]], dtype=np.float64)
    fractions = fractions[fractions > 0]
    return float(-(fractions * np.log(fractions)).sum()) or 1.0


class OfflineWriter:
    """Writes plan, space, scenario and train.py without any model call."""

    name = "offline"

    def write(self, description: dict[str, Any], run: RunConfig) -> Artifacts:
        task = description["task"]
        plan = plan_offline(description)
        if run.space is not None:
            space = load_space(run.space)
        else:
            space = load_space(bundled_dir("configs") / f"offline_{task}.json")
            space = restrict_choices(space, "algorithm", plan.algorithms)
        scenario = run.scenario
        if scenario.crash_cost is None:
            crash_cost = CRASH_COST_FACTOR * baseline_loss(description)
            scenario = scenario.with_overrides(crash_cost=round(crash_cost, 6))
        return Artifacts(self.name, plan, space, scenario, render_train(task))
