"""Whether a plan's budget leaves its cheapest trials enough rows to say anything.

A multi-fidelity plan whose budget is a share of the training rows fits its smallest trials on
``min_budget`` times those rows. On 142 rows a data fraction of 1/9 is 16 rows: such losses are
noise, so successive halving drops configurations by chance, and a model that needs an early-stopping
split or a few rows per class may not fit at all. Trees, rounds and epochs make a trial cheap without
shrinking its data.
"""

from __future__ import annotations

import math
import re

# The fewest rows the smallest trial of a budget that shares out the rows should fit on.
MIN_BUDGET_ROWS = 100
# Words by which a planner's budget_kind says the budget is a share (or a count) of the rows:
# data_fraction, fraction, rows, subsample, n_samples, ...
ROW_WORDS = frozenset({"fraction", "row", "rows", "subsample", "sample", "samples", "data", "share", "percent"})


def counts_rows(budget_kind: str) -> bool:
    """Whether ``budget_kind``, in a planner's own words, is a share or a count of the training rows."""
    return bool(ROW_WORDS & set(re.split(r"[^a-z]+", budget_kind.lower())))


def too_few_rows(budget_kind: str, min_budget: float, max_budget: float, fit_rows: int) -> str:
    """Why the smallest trials would fit on under :data:`MIN_BUDGET_ROWS` rows and what to do instead ("" if not).

    ``fit_rows`` is the dataset description's ``splits.train``: the rows train() fits on. A range that
    tops out at 1 shares them out; a larger one counts rows.
    """
    if not counts_rows(budget_kind):
        return ""
    smallest = min_budget * fit_rows if max_budget <= 1 else min_budget
    if smallest >= MIN_BUDGET_ROWS:
        return ""
    needed = math.ceil(100 * MIN_BUDGET_ROWS / fit_rows) / 100 if max_budget <= 1 else MIN_BUDGET_ROWS
    larger = f"a 'min_budget' of at least {needed:g}, " if needed < max_budget else ""
    return (f"budget_kind '{budget_kind}' with min_budget {min_budget:g} fits the smallest trials on about "
            f"{smallest:.0f} of the {fit_rows} training rows (the dataset description's splits.train), under "
            f"{MIN_BUDGET_ROWS}: their losses would be noise, and successive halving would drop configurations by "
            f"chance. Use {larger}a budget that counts iterations or trees ('n_estimators', 'max_iter', "
            "'epochs'), or the 'hpo' facade without budgets")  # fmt: skip
