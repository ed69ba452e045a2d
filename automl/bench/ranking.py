"""Rank frameworks per problem on the main metric, and summarise: mean rank, wins, failures.

Ranks, not raw scores, are averaged because metrics differ in scale between datasets (an RMSE of
3 and a ROC AUC of 0.99 cannot be averaged); this is the AutoML Benchmark's summary. A problem is
one (dataset, seed) pair; rank 1 is best, ties share the average of the ranks they span. Failed runs
take part with their imputed constant-predictor score; unavailable frameworks do not take part.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from automl.bench.metrics import higher_is_better

RANKED_STATUSES = ("ok", "failed")


@dataclass(frozen=True)
class FrameworkRank:
    """One framework's summary over the ranked problems."""

    framework: str
    mean_rank: float
    wins: float  # problems where it ranked first; a tie for first counts as a share
    failures: int
    problems: int
    mean_seconds: float
    over_budget: int
    # Summed over its ranked runs that used a language model; None when none did (cost: None when no price known).
    llm_calls: int | None = None
    llm_tokens: int | None = None
    llm_cost_usd: float | None = None


@dataclass(frozen=True)
class Ranking:
    """Per-problem ranks and the per-framework summary, best mean rank first."""

    table: tuple[FrameworkRank, ...]
    ranks: dict[tuple[str, int], dict[str, float]]  # (dataset, seed) -> framework -> rank
    unavailable: tuple[str, ...]
    incomplete: tuple[tuple[str, int], ...]  # problems left out because a framework has no result


def rank_values(values: dict[str, float], higher_better: bool) -> dict[str, float]:
    """Rank 1 for the best value; equal values share the average of their ranks."""
    ordered = sorted(values, key=lambda name: -values[name] if higher_better else values[name])
    ranks: dict[str, float] = {}
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and math.isclose(values[ordered[end + 1]], values[ordered[start]],
                                                       rel_tol=1e-12, abs_tol=1e-12):  # fmt: skip
            end += 1
        for name in ordered[start : end + 1]:
            ranks[name] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def rank(rows: list[dict[str, Any]]) -> Ranking:
    """Rank the frameworks in ``rows`` (one suite and budget) on every problem all of them finished."""
    results: dict[tuple[str, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    frameworks: set[str] = set()
    everyone: set[str] = set()
    for row in rows:
        everyone.add(row["framework"])
        if row["status"] in RANKED_STATUSES and row.get("main_value") is not None:
            results[(row["dataset"], row["seed"])][row["framework"]] = row
            frameworks.add(row["framework"])
    complete = {problem: found for problem, found in results.items() if set(found) == frameworks}
    incomplete = tuple(sorted(set(results) - set(complete)))
    ranks: dict[tuple[str, int], dict[str, float]] = {}
    for problem, found in sorted(complete.items()):
        metric = next(iter(found.values()))["main_metric"]
        ranks[problem] = rank_values({name: float(row["main_value"]) for name, row in found.items()},
                                     higher_is_better(metric))  # fmt: skip
    table = []
    for name in frameworks:
        mine = [ranks[problem][name] for problem in ranks]
        runs = [complete[problem][name] for problem in ranks]
        wins = 0.0
        for problem in ranks:
            firsts = [other for other, value in ranks[problem].items() if value == min(ranks[problem].values())]
            wins += 1.0 / len(firsts) if name in firsts else 0.0
        table.append(
            FrameworkRank(
                framework=name,
                mean_rank=sum(mine) / len(mine) if mine else math.nan,
                wins=wins,
                failures=sum(run["status"] == "failed" for run in runs),
                problems=len(mine),
                mean_seconds=sum(float(run["seconds"] or 0.0) for run in runs) / len(runs) if runs else math.nan,
                over_budget=sum(bool(run.get("over_budget")) for run in runs),
                llm_calls=_total(runs, "llm_calls"),
                llm_tokens=_total(runs, "llm_tokens"),
                llm_cost_usd=_total(runs, "llm_cost_usd"),
            )
        )
    table.sort(key=lambda entry: (entry.mean_rank, entry.framework))
    return Ranking(tuple(table), ranks, tuple(sorted(everyone - frameworks)), incomplete)


def _total(runs: list[dict[str, Any]], column: str) -> Any:
    """The sum of ``column`` over the runs that have it (rows of runs without a model hold None), or None."""
    found = [run[column] for run in runs if run.get(column) is not None]
    return sum(found) if found else None


def _number(value: float, digits: int = 4) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def rank_markdown(ranking: Ranking) -> str:
    """The summary as a markdown table (lower mean rank is better).

    The model's calls, tokens and cost (sums over the ranked runs) are columns only when some framework
    used a model: most benchmarks have none, and three columns of dashes would say nothing.
    """
    usage = any(entry.llm_calls is not None for entry in ranking.table)
    header = "| framework | mean rank | wins | failures | problems | mean fit s | over budget |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    lines = [header + (" model calls | tokens | cost USD |" if usage else ""), rule + ("---:|" * 3 if usage else "")]
    for entry in ranking.table:
        cells = [entry.framework, _number(entry.mean_rank, 2), f"{round(entry.wins, 2):g}", entry.failures,
                 entry.problems, _number(entry.mean_seconds, 1), entry.over_budget]  # fmt: skip
        if usage:
            cells += [_count(entry.llm_calls), _count(entry.llm_tokens), _number(entry.llm_cost_usd)]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    notes = []
    if ranking.unavailable:
        notes.append(f"Not ranked (unavailable here): {', '.join(ranking.unavailable)}.")
    if ranking.incomplete:
        left_out = ", ".join(f"{dataset} (seed {seed})" for dataset, seed in ranking.incomplete)
        notes.append(f"Left out because some framework has no result yet: {left_out}.")
    return "\n".join(lines + (["", *notes] if notes else []))


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def _metric(row: dict[str, Any], reading: bool) -> tuple[str, float]:
    """The row's main metric, or the one people read more easily (accuracy, R²)."""
    if not reading:
        return row["main_metric"], float(row["main_value"])
    name = "r2" if row["task"] == "regression" else "accuracy"
    return name, float(row[name])


def scores_markdown(rows: list[dict[str, Any]], ranking: Ranking, reading: bool = False) -> str:
    """Main metric (or with ``reading``, accuracy / R²) per dataset and framework, mean over seeds."""
    frameworks = [entry.framework for entry in ranking.table]
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    metric_of: dict[str, str] = {}
    failed: set[tuple[str, str]] = set()
    for row in rows:
        if (row["dataset"], row["seed"]) in ranking.ranks and row["framework"] in frameworks:
            metric, value = _metric(row, reading)
            values[row["dataset"]][row["framework"]].append(value)
            metric_of[row["dataset"]] = metric
            if row["status"] == "failed":
                failed.add((row["dataset"], row["framework"]))
    lines = [f"| dataset | metric | {' | '.join(frameworks)} |", "|---|---|" + "---:|" * len(frameworks)]
    for dataset in sorted(values, key=lambda name: (metric_of[name], name)):
        metric = metric_of[dataset]
        means = {name: sum(found) / len(found) for name, found in values[dataset].items()}
        best = (max if higher_is_better(metric) else min)(means.values())
        cells = []
        for name in frameworks:
            cell = _number(means[name])
            cell = f"**{cell}**" if math.isclose(means[name], best, rel_tol=1e-12, abs_tol=1e-12) else cell
            cells.append(cell + (" (failed)" if (dataset, name) in failed else ""))
        arrow = "↑" if higher_is_better(metric) else "↓"
        lines.append(f"| {dataset} | {metric} {arrow} | {' | '.join(cells)} |")
    return "\n".join(lines)


def values_by_dataset(
    rows: list[dict[str, Any]], ranking: Ranking
) -> tuple[dict[str, dict[str, list[float]]], dict[str, str]]:
    """The ranked frameworks' main-metric values per dataset and framework (one per complete seed), and each
    dataset's main metric: what the score plot draws and the Friedman test ranks."""
    frameworks = {entry.framework for entry in ranking.table}
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    metric_of: dict[str, str] = {}
    for row in rows:
        if (row["dataset"], row["seed"]) in ranking.ranks and row["framework"] in frameworks:
            values[row["dataset"]][row["framework"]].append(float(row["main_value"]))
            metric_of[row["dataset"]] = row["main_metric"]
    return values, metric_of
