"""The built-in writer: no language model, the same artifacts, a strong default.

It plans by rules (``automl.plan``), takes its search space from ``configs/offline_<task>.json``
narrowed to the algorithms the data size allows, leaves the scenario to the user's limits (with a
crash cost derived from the task's baseline loss), and writes ``train.py`` from the template module
``offline_train.py`` with the task and the plan's budget filled in. Its answers never change, so it is
never asked twice.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace
from ConfigSpace.hyperparameters import CategoricalHyperparameter

from automl.errors import WriterError
from automl.plan import Plan, plan_offline
from automl.plan.algorithms import (
    BUDGET_KINDS,
    COUNTING_KINDS,
    EPOCHS,
    length_budgets,
    min_holdout_rows,
    set_by_budget,
    warm_starts,
)
from automl.plan.plan import plan_tensors
from automl.resources import bundled_dir
from automl.writers.base import Feedback, Revision, WriteContext
from automl.writers.space import drop_hyperparameters, load_space, restrict_choices

TEMPLATE = Path(__file__).with_name("offline_train.py")
TORCH_TEMPLATE = Path(__file__).with_name("offline_torch_train.py")
# A revision keeps at most this many of the algorithm families the search tried, the best ones.
KEPT_FAMILIES = 3
TASK_PLACEHOLDER = 'TASK = "__TASK__"'
BUDGET_KIND_PLACEHOLDER = "BUDGET_KIND = None"
MAX_BUDGET_PLACEHOLDER = "MAX_BUDGET = None"
# The template's family tables, filled in from automl.plan.algorithms so that the file and the planner agree.
FAMILY_TABLES = {
    "MIN_HOLDOUT_ROWS": min_holdout_rows,
    "LENGTH_BUDGETS": length_budgets,
    "WARM_STARTS": warm_starts,
}


def render_train(task: str, budget_kind: str | None = None, max_budget: float | None = None) -> str:
    """The train.py source for ``task`` and the plan's budget: the template with its placeholder lines filled.

    Without a budget kind the rendered file behaves as the template always did (a budget, if any, is a
    row fraction).
    """
    _check_budget(budget_kind, max_budget)
    source = TEMPLATE.read_text(encoding="utf-8")
    for name, table in FAMILY_TABLES.items():
        source = _fill(source, f"{name} = ...", f"{name} = {_python_literal(table())}")
    source = _fill(source, TASK_PLACEHOLDER, f"TASK = {task!r}")
    source = _fill(source, BUDGET_KIND_PLACEHOLDER, f"BUDGET_KIND = {budget_kind!r}")
    return _fill(source, MAX_BUDGET_PLACEHOLDER, f"MAX_BUDGET = {None if max_budget is None else float(max_budget)!r}")


def render_torch_train(task: str, max_budget: float | None = None) -> str:
    """The PyTorch train.py for tensor data: the template with its task and full epochs filled in.

    Its budget is always epochs (``max_budget``, or :data:`EPOCHS`' full budget for facades without one).
    """
    epochs = EPOCHS.full_budget if max_budget is None else float(max_budget)
    _check_budget(None, epochs)
    source = _fill(TORCH_TEMPLATE.read_text(encoding="utf-8"), TASK_PLACEHOLDER, f"TASK = {task!r}", TORCH_TEMPLATE)
    return _fill(source, MAX_BUDGET_PLACEHOLDER, f"MAX_BUDGET = {epochs!r}", TORCH_TEMPLATE)


def is_tensor_run(description: dict[str, Any]) -> bool:
    """Whether the data is tensors (dataset.json's ``modality``), which get networks instead of table models."""
    return description.get("modality") == "tensor"


def _check_budget(budget_kind: str | None, max_budget: float | None) -> None:
    """A plan the template cannot honour fails here, naming the fix, not later in every trial."""
    if budget_kind is not None and budget_kind not in BUDGET_KINDS:
        raise WriterError(f"the offline train.py cannot honour budget_kind {budget_kind!r}: use one of {BUDGET_KINDS}")
    if max_budget is not None and not (math.isfinite(max_budget) and max_budget > 0):
        raise WriterError(f"max_budget must be a positive number, got {max_budget!r}")
    if budget_kind in COUNTING_KINDS and max_budget is None:
        raise WriterError(f"budget_kind {budget_kind!r} needs max_budget: the full number of trees or iterations")
    if budget_kind == "data_fraction" and max_budget is not None and max_budget > 1:
        raise WriterError(f"a data_fraction budget is at most 1 (all rows), but max_budget is {max_budget:g}")


def _python_literal(value: dict | tuple | str | int | float | None) -> str:
    """``value`` as Python source in the template's own style (double quotes, as ruff formats it)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_python_literal(key)}: {_python_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, tuple):
        items = [_python_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _fill(source: str, placeholder: str, line: str, template: Path = TEMPLATE) -> str:
    """Replace the one line that is exactly ``placeholder``; a template edited out of shape fails loudly."""
    lines = source.split("\n")
    if lines.count(placeholder) != 1:
        raise RuntimeError(f"{template} must contain the line {placeholder!r} exactly once")
    lines[lines.index(placeholder)] = line
    return "\n".join(lines)


class OfflineWriter:
    """Writes plan, space, scenario and train.py without any model call."""

    name = "offline"
    repairs = False

    def plan(self, context: WriteContext, feedback: Feedback | None) -> Plan:
        run = context.run
        if is_tensor_run(context.description):
            return plan_tensors(context.description, run.requested_facade, run.scenario.n_trials)
        return plan_offline(context.description, run.requested_facade, run.budget_kind, run.scenario.n_trials)

    def space(self, context: WriteContext, feedback: Feedback | None) -> ConfigurationSpace:
        assert context.plan is not None
        if is_tensor_run(context.description):
            space = load_space(bundled_dir("configs") / f"offline_tensor_{context.description['tensor']['kind']}.json")
            return restrict_choices(space, "algorithm", context.plan.algorithms)
        space = load_space(bundled_dir("configs") / f"offline_{context.description['task']}.json")
        space = restrict_choices(space, "algorithm", context.plan.algorithms)
        # Hyperparameters that the budget sets instead of the search (tuning both would fight over one knob).
        budget_set = set_by_budget(context.plan.budget_kind)
        return drop_hyperparameters(space, [name for name in budget_set if name in space])

    def scenario(self, context: WriteContext, feedback: Feedback | None) -> dict[str, Any]:
        return {}  # the user's limits as they are

    def train(self, context: WriteContext, feedback: Feedback | None) -> str:
        assert context.plan is not None
        if is_tensor_run(context.description):
            return render_torch_train(context.description["task"], context.plan.max_budget)
        return render_train(context.description["task"], context.plan.budget_kind, context.plan.max_budget)

    def revise(self, context: WriteContext, account: dict[str, Any], feedback: Feedback | None) -> Revision:
        """The space narrowed to the better half of the algorithm families tried (at most
        :data:`KEPT_FAMILIES`, ranked by their best loss), and families not tried yet; train.py stays.

        The next round's trials then go to the families that earned them, while the ensemble still
        draws on every family's trials of the earlier rounds.
        """
        assert context.space is not None
        choice = context.space.get("algorithm")
        tried = account.get("by_algorithm", {})
        if not isinstance(choice, CategoricalHyperparameter) or not tried:
            return Revision(context.space)
        priced = [name for name, seen in tried.items() if seen["best_loss"] is not None]  # best first
        keep = set(priced[: min(KEPT_FAMILIES, math.ceil(len(tried) / 2))])
        keep |= {str(value) for value in choice.choices if str(value) not in tried}
        kept = tuple(str(value) for value in choice.choices if str(value) in keep)
        return Revision(restrict_choices(context.space, "algorithm", kept) if kept else context.space)
