"""Choose the facade and the meaning of the budget for a dataset (``plan.json``).

The offline planner decides by written rules; a language model's planner (a later writer) returns
the same :class:`Plan`, so the optimizer does not care who planned.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from automl.plan.algorithms import ALL_ALGORITHMS, BUDGETS, EPOCHS, MIN_EPOCHS, TENSOR_NETS, algorithms_for
from automl.plan.facades import FACADE_INFO
from automl.plan.fidelity import MIN_BUDGET_ROWS, too_few_rows


@dataclass(frozen=True)
class Plan:
    """Facade name (see ``automl.optimize.facades``), budget kind and range, and the reasons."""

    facade: str
    budget_kind: str | None = None
    min_budget: float | None = None
    max_budget: float | None = None
    reasons: tuple[str, ...] = ()
    train_plan: str = ""
    algorithms: tuple[str, ...] = field(default_factory=tuple)
    # The metric models are judged by: the user's --metric, else the planner's choice, else the task's
    # default; settled once when the plan is accepted and used for every loss of the run.
    metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["algorithms"] = list(self.algorithms)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """The plan a run recorded in ``plan.json`` (``to_dict``'s output)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**{**known, "reasons": tuple(known.get("reasons", ())),
                      "algorithms": tuple(known.get("algorithms", ()))})  # fmt: skip

    @classmethod
    def from_proposal(cls, proposal: dict[str, Any], required_facade: str = "auto", fit_rows: int | None = None
                      ) -> Plan:  # fmt: skip
        """A plan from a planner's JSON answer; ValueError lists every problem, for the planner to fix.

        ``required_facade`` is the user's ``--facade`` (``auto``: the planner's choice stands).
        ``fit_rows`` (the dataset description's training rows), when given, must leave a budget that
        shares out the rows enough of them at its smallest (:mod:`automl.plan.fidelity`).
        """
        problems = []
        facade = proposal.get("facade")
        info = FACADE_INFO.get(facade) if isinstance(facade, str) else None
        if info is None:
            problems.append(f"'facade' is {facade!r}: use one of {sorted(FACADE_INFO)}")
        elif required_facade != "auto" and facade != required_facade:
            problems.append(f"'facade' is {facade!r} but the user chose {required_facade!r}: plan for that facade")
        budget_kind = proposal.get("budget_kind") or None
        budgets = [proposal.get("min_budget"), proposal.get("max_budget")]
        if info is not None and info.uses_budget:
            if not isinstance(budget_kind, str):
                problems.append(f"facade '{facade}' needs 'budget_kind': say what the budget means (e.g. 'max_iter')")
            if not all(_is_number(value) and value > 0 for value in budgets):
                problems.append(f"facade '{facade}' needs positive 'min_budget' and 'max_budget', got {budgets}")
            elif budgets[0] >= budgets[1]:
                problems.append(f"'min_budget' ({budgets[0]}) must be below 'max_budget' ({budgets[1]})")
            elif isinstance(budget_kind, str) and fit_rows is not None:
                problems.append(too_few_rows(budget_kind, float(budgets[0]), float(budgets[1]), fit_rows))
        problems = [problem for problem in problems if problem]
        reasons = proposal.get("reasons") or []
        algorithms = proposal.get("algorithms") or []
        train_plan = proposal.get("train_plan") or ""
        if not isinstance(train_plan, str) or not train_plan.strip():
            problems.append("'train_plan' must be a non-empty text: the steps train() should follow")
        metric = proposal.get("metric") or None
        if metric is not None and not isinstance(metric, str):
            problems.append(f"'metric' is {metric!r}: give one metric's name, or null for the default")
        if problems:
            raise ValueError("; ".join(problems))
        uses_budget = info is not None and info.uses_budget
        return cls(
            facade=str(facade),
            budget_kind=str(budget_kind) if uses_budget else None,
            min_budget=float(budgets[0]) if uses_budget else None,
            max_budget=float(budgets[1]) if uses_budget else None,
            reasons=tuple(str(reason) for reason in (reasons if isinstance(reasons, list) else [reasons])),
            train_plan=str(train_plan).strip(),
            algorithms=tuple(str(name) for name in (algorithms if isinstance(algorithms, list) else [algorithms])),
            metric=metric,
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# From this many training rows on, a full fit is slow enough that cheap low-budget trials pay off.
MULTI_FIDELITY_ROWS = 20_000
# A data fraction's smallest budget keeps about this many rows (the full budgets are in automl.plan.algorithms).
MIN_FRACTION_ROWS = 1_000
# Successive halving's factor (SMAC's default eta): each rung has a third of the configurations at three
# times the budget. Its first bracket runs ETA ** (rungs - 1) trials at the smallest budget, so short
# runs get fewer rungs, or they would never reach a larger budget.
ETA = 3
AUTO = "auto"
# A search bounded by time alone (no trial cap) is planned, and its initial design sized, as one of this
# many trials: the default preset's count, so a longer walltime buys more model-based trials, not a
# bigger random start or more rungs than the default run has.
TIME_LIMITED_TRIALS = 40


def _rungs(n_trials: int) -> int:
    """How many budget levels a run of ``n_trials`` trials can climb: 2, 3 or 4."""
    return 2 if n_trials < ETA**3 else 3 if n_trials < ETA**4 else 4


def _budget_range(kind: str, n_rows: int, n_trials: int) -> tuple[float, float]:
    """The plan's budget range: ``rungs`` levels a factor ETA apart, ending at the full budget."""
    high = BUDGETS[kind].full_budget
    low = high / ETA ** (_rungs(n_trials) - 1)
    if kind == "data_fraction":  # the smallest fit still needs enough rows, and the range two rungs
        low = min(max(low, MIN_FRACTION_ROWS / max(n_rows, 1)), high / ETA)
    return round(low, 6), high


def _choose_budget_kind(requested: str, n_rows: int, n_trials: int) -> tuple[str, str]:
    """The user's budget kind, else a data fraction, which every algorithm can honour, unless its smallest
    trials would fit on too few rows (:mod:`automl.plan.fidelity`): then trees and rounds. With the reason
    when the default was passed over."""
    if requested != AUTO:
        return requested, ""
    low, high = _budget_range("data_fraction", n_rows, n_trials)
    if not too_few_rows("data_fraction", low, high, n_rows):
        return "data_fraction", ""
    return "n_estimators", (f" (not data_fraction: its smallest trials would fit on {low * n_rows:.0f} of the "
                            f"{n_rows} training rows, under {MIN_BUDGET_ROWS})")  # fmt: skip


def _choose_facade(n_rows: int, facade: str) -> tuple[str, str]:
    """The facade (the user's, or by the data's size) and the reason for it."""
    if facade != AUTO:
        return facade, f"{facade}: chosen by the user (--facade {facade})."
    if n_rows >= MULTI_FIDELITY_ROWS:
        return "mf", (
            f"mf: with {n_rows} training rows a full fit is slow, so Hyperband's cheap low-budget trials "
            "weed out weak configurations and SMAC's random-forest model picks new ones."
        )
    return "hpo", (
        "hpo: SMAC's random-forest Bayesian optimization handles the conditional, mixed-type space of "
        f"several algorithm families and stays cheap per trial on {n_rows} rows; every trial runs at full budget."
    )


def plan_offline(
    description: dict[str, Any], facade: str = AUTO, budget_kind: str = AUTO, n_trials: int | None = 40
) -> Plan:
    """Plan by rules: the facade by the data's size (or the user's), the algorithms the size allows.

    Budgeted facades get a data fraction by default, which every algorithm can honour, or trees and
    rounds (``n_estimators``) where a fraction's smallest trials would fit on too few rows; a budget
    kind the user asks for stands, even on small data. The budget range has as many rungs as
    ``n_trials`` can climb (None, a search bounded by time: as :data:`TIME_LIMITED_TRIALS` can).
    """
    n_trials = TIME_LIMITED_TRIALS if n_trials is None else n_trials
    n_rows = int(description["splits"]["train"])
    algorithms = algorithms_for(n_rows)
    dropped = [name for name in ALL_ALGORITHMS if name not in algorithms]
    facade, why = _choose_facade(n_rows, facade)
    reasons = [why, f"algorithms: {', '.join(algorithms)} on {n_rows} training rows."]
    if dropped:
        reasons.append(f"left out {', '.join(dropped)}: their trials grow too slow at {n_rows} rows.")
    kind, low, high = None, None, None
    if FACADE_INFO[facade].uses_budget:
        kind, passed_over = _choose_budget_kind(budget_kind, n_rows, n_trials)
        low, high = _budget_range(kind, n_rows, n_trials)
        reasons.append(f"budget: {kind} from {low:g} to {high:g}, {BUDGETS[kind].meaning}{passed_over}.")
    task = description["task"]
    train_plan = (
        f"Impute and encode the {description['n_numeric']} numeric and {description['n_categorical']} categorical "
        f"columns per algorithm, fit the {task} model chosen by cfg['algorithm'] on X/y, "
        "score it on X_test/y_test with the run's metric and save it."
    )
    return Plan(facade=facade, budget_kind=kind, min_budget=low, max_budget=high, reasons=tuple(reasons),
                train_plan=train_plan, algorithms=algorithms)  # fmt: skip


def plan_tensors(description: dict[str, Any], facade: str = AUTO, n_trials: int | None = 40) -> Plan:
    """Plan a tensor run: Hyperband over epochs unless the user chose a facade, the networks the samples allow.

    A network's trial costs its epochs, and a configuration's lower-budget checkpoint is continued at the next
    rung, so successive halving's cheap early rungs are nearly free; facades without budgets train every trial
    for the full :data:`EPOCHS` budget.
    """
    n_trials = TIME_LIMITED_TRIALS if n_trials is None else n_trials
    kind = description["tensor"]["kind"]
    nets = TENSOR_NETS[kind]
    if facade == AUTO:
        facade = "hyperband"
        why = ("hyperband: a network's trial costs its epochs, and each rung continues the previous rung's "
               "checkpoint, so low-budget trials are cheap and informative.")  # fmt: skip
    else:
        why = f"{facade}: chosen by the user (--facade {facade})."
    shape = "x".join(map(str, description["tensor"]["sample_shape"]))
    reasons = [why, f"networks: {', '.join(nets)} for {kind} samples of shape {shape}."]
    budget_kind, low, high = None, None, None
    if FACADE_INFO[facade].uses_budget:
        budget_kind, high = EPOCHS.name, EPOCHS.full_budget
        low = max(high / ETA ** (_rungs(n_trials) - 1), MIN_EPOCHS)
        reasons.append(f"budget: {budget_kind} from {low:g} to {high:g}, {EPOCHS.meaning}.")
    train_plan = (f"Normalize the inputs, train the network chosen by cfg['algorithm'] ({', '.join(nets)}) for the "
                  "budget's epochs on X/y, score it on X_test/y_test with the run's metric and save it.")  # fmt: skip
    return Plan(facade=facade, budget_kind=budget_kind, min_budget=low, max_budget=high, reasons=tuple(reasons),
                train_plan=train_plan, algorithms=nets)  # fmt: skip
