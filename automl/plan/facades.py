"""What each SMAC facade is for, in words a planner (rule or model) chooses by.

This is planning knowledge only; ``automl.optimize.facades`` maps the same names to SMAC classes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FacadeInfo:
    """Whether a facade's trials take a budget, and when to choose it."""

    uses_budget: bool
    summary: str


FACADE_INFO: dict[str, FacadeInfo] = {
    "hpo": FacadeInfo(
        uses_budget=False,
        summary="Bayesian optimization with a random-forest model; handles conditional, mixed-type spaces of "
        "several algorithms; every trial trains at full budget (budget=None).",
    ),
}


def facade_guide() -> str:
    """The facades as a bulleted list for prompts."""
    return "\n".join(
        f"- `{name}` ({'budgets' if info.uses_budget else 'no budgets'}): {info.summary}"
        for name, info in FACADE_INFO.items()
    )
