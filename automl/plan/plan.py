"""Choose the facade and the meaning of the budget for a dataset (``plan.json``).

The offline planner decides by written rules; a language model's planner (a later writer) returns
the same :class:`Plan`, so the optimizer does not care who planned.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from automl.plan.facades import FACADE_INFO


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        data["algorithms"] = list(self.algorithms)
        return data

    @classmethod
    def from_proposal(cls, proposal: dict[str, Any]) -> Plan:
        """A plan from a planner's JSON answer; ValueError lists every problem, for the planner to fix."""
        problems = []
        facade = proposal.get("facade")
        info = FACADE_INFO.get(facade) if isinstance(facade, str) else None
        if info is None:
            problems.append(f"'facade' is {facade!r}: use one of {sorted(FACADE_INFO)}")
        budget_kind = proposal.get("budget_kind") or None
        budgets = [proposal.get("min_budget"), proposal.get("max_budget")]
        if info is not None and info.uses_budget:
            if not isinstance(budget_kind, str):
                problems.append(f"facade '{facade}' needs 'budget_kind': say what the budget means (e.g. 'max_iter')")
            if not all(_is_number(value) and value > 0 for value in budgets):
                problems.append(f"facade '{facade}' needs positive 'min_budget' and 'max_budget', got {budgets}")
            elif budgets[0] >= budgets[1]:
                problems.append(f"'min_budget' ({budgets[0]}) must be below 'max_budget' ({budgets[1]})")
        reasons = proposal.get("reasons") or []
        algorithms = proposal.get("algorithms") or []
        train_plan = proposal.get("train_plan") or ""
        if not isinstance(train_plan, str) or not train_plan.strip():
            problems.append("'train_plan' must be a non-empty text: the steps train() should follow")
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
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# Above these training sizes an algorithm's trials take too long for a short run (kernel SVMs scale
# with the square of the rows, k-NN predicts by scanning every training row, MLPs need many epochs).
ALGORITHM_ROW_LIMITS = {"svm": 10_000, "knn": 50_000, "mlp": 100_000}
ALL_ALGORITHMS = ("hgb", "rf", "et", "linear", "knn", "svm", "mlp")


def plan_offline(description: dict[str, Any]) -> Plan:
    """Plan by rules: full-budget Bayesian optimization over the algorithms the data size allows."""
    n_rows = int(description["splits"]["train"])
    algorithms = tuple(name for name in ALL_ALGORITHMS if n_rows <= ALGORITHM_ROW_LIMITS.get(name, n_rows))
    dropped = [name for name in ALL_ALGORITHMS if name not in algorithms]
    reasons = [
        "hpo: SMAC's random-forest Bayesian optimization handles the conditional, mixed-type space of "
        "several algorithm families and stays cheap per trial; every trial runs at full budget.",
        f"algorithms: {', '.join(algorithms)} on {n_rows} training rows.",
    ]
    if dropped:
        reasons.append(f"left out {', '.join(dropped)}: their trials grow too slow at {n_rows} rows.")
    task = description["task"]
    train_plan = (
        f"Impute and encode the {description['n_numeric']} numeric and {description['n_categorical']} categorical "
        f"columns per algorithm, fit the {task} model chosen by cfg['algorithm'] on X/y, "
        f"score it on X_test/y_test ({'log loss' if task == 'classification' else 'RMSE'} as loss) and save it."
    )
    return Plan(facade="hpo", reasons=tuple(reasons), train_plan=train_plan, algorithms=algorithms)
