"""What each SMAC facade is for, in words a planner (rule or model) chooses by.

This is planning knowledge only; ``automl.optimize.facades`` maps the same names to SMAC classes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FacadeInfo:
    """Whether a facade's trials take a budget or SMAC instances (``--cv`` folds), and when to choose it."""

    uses_budget: bool
    summary: str
    takes_folds: bool = True  # SMAC's Gaussian-process facade cannot handle instances


FACADE_INFO: dict[str, FacadeInfo] = {
    "hpo": FacadeInfo(
        uses_budget=False,
        summary="Bayesian optimization with a random-forest model; handles conditional, mixed-type spaces of "
        "several algorithms; every trial trains at full budget (budget=None). The default for small and "
        "medium data.",
    ),
    "mf": FacadeInfo(
        uses_budget=True,
        summary="multi-fidelity: the random-forest Bayesian optimization inside Hyperband; cheap low-budget "
        "trials weed out configurations, the good ones get more budget. For data large enough that a full "
        "fit is slow, with a budget that makes fits cheaper (rows, trees, iterations).",
    ),
    "hyperband": FacadeInfo(
        uses_budget=True,
        summary="Hyperband with random configurations: like mf without the model; robust when the budget "
        "is very short or the space is hard to model.",
    ),
    "blackbox": FacadeInfo(
        uses_budget=False,
        summary="Gaussian-process Bayesian optimization: sample-efficient on small, continuous spaces "
        "(under about 10 hyperparameters, no conditions) when each trial is expensive and trials are few "
        "(its overhead grows past a second per trial beyond ~100 trials).",
        takes_folds=False,
    ),
    "random": FacadeInfo(
        uses_budget=False,
        summary="random search: a baseline, or for spaces where model-based search has nothing to learn.",
    ),
}


def facade_guide() -> str:
    """The facades as a bulleted list for prompts."""
    return "\n".join(
        f"- `{name}` ({'budgets' if info.uses_budget else 'no budgets'}): {info.summary}"
        for name, info in FACADE_INFO.items()
    )
