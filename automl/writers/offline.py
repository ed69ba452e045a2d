"""The built-in writer: no language model, the same artifacts, a strong default.

It plans by rules (``automl.plan``), takes its search space from ``configs/offline_<task>.json``
narrowed to the algorithms the data size allows, leaves the scenario to the user's limits (with a
crash cost derived from the task's baseline loss), and writes ``train.py`` from the template module
``offline_train.py`` with the task filled in. Its answers never change, so it is never asked twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from automl.plan import Plan, plan_offline
from automl.resources import bundled_dir
from automl.writers.base import Feedback, WriteContext
from automl.writers.space import load_space, restrict_choices

TEMPLATE = Path(__file__).with_name("offline_train.py")
TASK_PLACEHOLDER = 'TASK = "__TASK__"'


def render_train(task: str) -> str:
    """The train.py source for ``task``: the template with its one placeholder filled."""
    source = TEMPLATE.read_text(encoding="utf-8")
    if source.count(TASK_PLACEHOLDER) != 1:
        raise RuntimeError(f"{TEMPLATE} must contain the line {TASK_PLACEHOLDER!r} exactly once")
    return source.replace(TASK_PLACEHOLDER, f"TASK = {task!r}")


class OfflineWriter:
    """Writes plan, space, scenario and train.py without any model call."""

    name = "offline"
    repairs = False

    def plan(self, context: WriteContext, feedback: Feedback | None) -> Plan:
        return plan_offline(context.description)

    def space(self, context: WriteContext, feedback: Feedback | None) -> ConfigurationSpace:
        assert context.plan is not None
        space = load_space(bundled_dir("configs") / f"offline_{context.description['task']}.json")
        return restrict_choices(space, "algorithm", context.plan.algorithms)

    def scenario(self, context: WriteContext, feedback: Feedback | None) -> dict[str, Any]:
        return {}  # the user's limits as they are

    def train(self, context: WriteContext, feedback: Feedback | None) -> str:
        return render_train(context.description["task"])
