"""Whether mean ranks differ by more than chance: the Friedman test and the Nemenyi critical difference.

Following Demšar (2006, "Statistical comparisons of classifiers over multiple data sets", JMLR 7),
the blocks are datasets: each framework's main metric is averaged over the dataset's seeds first,
then the frameworks are ranked per dataset. Seeds of one dataset are not independent problems (same
rows, other splits); counting (dataset, seed) pairs as blocks would overstate N and shrink the critical
difference. Only datasets where every ranked framework has a result take part (the seeds used are the
complete ones of :mod:`automl.bench.ranking`).

The Friedman test asks whether the frameworks' mean ranks differ more than chance allows; if they do,
the Nemenyi test says which pairs: two frameworks whose mean ranks differ by at least
``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` (k frameworks, N datasets, ``q_alpha`` the studentized range
quantile over sqrt 2) differ significantly. If the Friedman test does not reject, no pair does.

scipy (scikit-learn's own dependency) gives both formulas' hard parts: ``friedmanchisquare`` and
``studentized_range``. autorank would add statsmodels and more dependencies for these two formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import friedmanchisquare, studentized_range

from automl.bench.metrics import higher_is_better
from automl.bench.ranking import Ranking, rank_values, values_by_dataset

ALPHA = 0.05
# scipy's Friedman test compares at least three groups (with two it is a sign test).
MIN_FRAMEWORKS = 3
MIN_BLOCKS = 2


@dataclass(frozen=True)
class Significance:
    """The Friedman test and Nemenyi critical difference over datasets, or ``note`` saying why they were skipped."""

    blocks: int  # datasets where every ranked framework has a result
    mean_ranks: dict[str, float]  # framework -> mean rank over the blocks, best first
    statistic: float | None = None
    p_value: float | None = None
    critical_difference: float | None = None
    alpha: float = ALPHA
    note: str = ""

    @property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        """The largest runs of frameworks (in rank order) whose mean ranks span less than the CD, two or more each.

        Frameworks in one group are not significantly different; when the Friedman test does not reject,
        all of them form one group.
        """
        if self.critical_difference is None or self.p_value is None:
            return ()
        names = list(self.mean_ranks)
        if self.p_value >= self.alpha:
            return (tuple(names),)
        found: list[tuple[str, ...]] = []
        last = -1
        for start, name in enumerate(names):
            end = max(i for i, other in enumerate(names)
                      if self.mean_ranks[other] - self.mean_ranks[name] < self.critical_difference)  # fmt: skip
            if end > last and end > start:
                found.append(tuple(names[start : end + 1]))
            last = max(last, end)
        return tuple(found)

    @property
    def like_the_best(self) -> tuple[str, ...]:
        """The frameworks not significantly different from the best one (the best excluded)."""
        names = list(self.mean_ranks)
        return next((group[1:] for group in self.groups if group[0] == names[0]), ())


def significance(rows: list[dict[str, Any]], ranking: Ranking, alpha: float = ALPHA) -> Significance:
    """The Friedman test and Nemenyi CD of the ranked frameworks over datasets (seeds averaged first)."""
    frameworks = [entry.framework for entry in ranking.table]
    values, metric_of = values_by_dataset(rows, ranking)
    block_ranks = [
        rank_values({name: float(np.mean(found)) for name, found in values[dataset].items()},
                    higher_is_better(metric_of[dataset]))
        for dataset in sorted(values)
    ]  # fmt: skip
    k, n = len(frameworks), len(block_ranks)
    means = {name: sum(ranks[name] for ranks in block_ranks) / n for name in frameworks} if n else {}
    means = dict(sorted(means.items(), key=lambda item: (item[1], item[0])))
    if k < MIN_FRAMEWORKS or n < MIN_BLOCKS:
        return Significance(n, means, alpha=alpha, note=f"Friedman test skipped: it needs at least {MIN_FRAMEWORKS} "
                            f"ranked frameworks and {MIN_BLOCKS} datasets every one has a result on "
                            f"(here {k} and {n}).")  # fmt: skip
    if all(len(set(ranks.values())) == 1 for ranks in block_ranks):  # the statistic would divide by zero
        return Significance(n, means, alpha=alpha,
                            note="Friedman test skipped: every framework ties on every dataset.")  # fmt: skip
    result = friedmanchisquare(*([ranks[name] for ranks in block_ranks] for name in frameworks))
    q_alpha = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    cd = float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))
    return Significance(n, means, float(result.statistic), float(result.pvalue), cd, alpha)


def significance_markdown(found: Significance) -> str:
    """The test's numbers and what they mean, as a few lines under the rank table."""
    if found.note:
        return found.note
    assert found.statistic is not None and found.p_value is not None and found.critical_difference is not None
    ranks = ", ".join(f"{name} {value:.2f}" for name, value in found.mean_ranks.items())
    best = next(iter(found.mean_ranks))
    lines = [
        f"Friedman test over {found.blocks} datasets (the blocks; each framework's score averaged over seeds "
        f"first, Demšar 2006): χ² = {found.statistic:.2f}, p = {found.p_value:.4g}.",
        f"Nemenyi critical difference at α = {found.alpha:g}: CD = {found.critical_difference:.2f} "
        f"(k = {len(found.mean_ranks)}, N = {found.blocks}); mean rank over datasets: {ranks}.",
    ]
    if found.p_value >= found.alpha:
        lines.append(f"No significant difference (p ≥ {found.alpha:g}): every framework may be as good as {best}.")
        return "\n".join(lines)
    like = ", ".join(found.like_the_best) or "none"
    groups = "; ".join(", ".join(group) for group in found.groups) or "none"
    lines.append(f"Not significantly different from the best ({best}): {like}. "
                 f"Groups within the CD: {groups}.")  # fmt: skip
    return "\n".join(lines)
