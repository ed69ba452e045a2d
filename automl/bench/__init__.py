"""``automl bench``: compare automl with other AutoML frameworks under one protocol, and report ranks.

Two entry points: :func:`run_bench` runs a suite into a SQLite database (resumable), and
:func:`bench_report` turns the database into a rank table and plots. The modules each do one part:
``suites`` (datasets), ``folder_suite`` (a user's suite folder), ``frameworks`` (contestants), ``metrics``
(scoring), ``harness`` (protocol), ``store`` (database), ``ranking`` (ranks and tables), ``stats`` (the
Friedman test and Nemenyi critical difference), ``plots`` (figures).
"""

from __future__ import annotations

import os

# Frameworks that run in this process (FLAML's LightGBM and XGBoost, scikit-learn) each bring an
# OpenMP runtime; with OpenMP's default of spinning idle threads they slow each other several-fold
# on a busy machine (measured: default HistGradientBoosting 7x slower after a FLAML fit). The
# sandbox sets the same policy for automl's trials. It must be set before OpenMP loads.
# A command that runs benchmarks should import automl.bench before anything that loads scikit-learn.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path
from typing import Any

from automl._io import write_text
from automl.bench.harness import run_bench
from automl.bench.store import ResultStore
from automl.bench.suites import suite_name
from automl.errors import ConfigError

__all__ = ["bench_report", "run_bench"]


def _choose(rows: list[dict[str, Any]], db: Path) -> tuple[str, float]:
    """The (suite, budget) to report when the caller named none: the most recently run one.

    Ranks only mean something within one suite and one budget, so a database holding several is
    reported one combination at a time.
    """
    if not rows:
        raise ConfigError(f"no benchmark results in '{db}': run `automl bench --suite NAME` first")
    latest = max(rows, key=lambda row: row["timestamp"])
    return latest["suite"], latest["budget"]


def _header(rows: list[dict[str, Any]], suite: str, budget: float, others: list[str]) -> str:
    datasets = sorted({row["dataset"] for row in rows})
    seeds = sorted({row["seed"] for row in rows})
    cores = sorted({row["cores"] for row in rows if row["cores"] is not None})
    latest = max(rows, key=lambda row: row["timestamp"])
    versions = ", ".join(f"{name} {version}" for name, version in latest["versions"].items())
    caps = sorted({row["trials"] for row in rows if row.get("trials")})
    capped = f", at most {'/'.join(map(str, caps))} trials per automl run" if caps else ""
    lines = [
        f"Suite `{suite}`, budget {budget:g} s{capped}, {len(datasets)} datasets × {len(seeds)} seed(s), "
        f"{'/'.join(map(str, cores))} core(s); last result {latest['timestamp']}.",
        f"Versions: {versions}.",
        "Main metric: ROC AUC (binary, higher is better), log loss (multiclass, lower), RMSE (regression, lower).",
    ]
    if others:
        lines.append(f"Also in the database (report them with suite=/budget=): {', '.join(others)}.")
    return "\n".join(lines)


def bench_report(
    db: Path, out_dir: Path, suite: str | None = None, budget: float | None = None
) -> tuple[str, list[Path]]:
    """Rank table (markdown) and plots for one suite and budget of ``db``; writes them into ``out_dir``.

    Without ``suite``/``budget`` the most recently run combination is reported; ``suite`` may name a
    suite folder (its results are stored under its name). Returns the text
    (also written to ``out_dir/ranks.md``) and the plot files.
    """
    from automl.bench.plots import plot_critical_difference, plot_ranks, plot_scores
    from automl.bench.ranking import rank, rank_markdown, scores_markdown
    from automl.bench.stats import significance, significance_markdown

    db = Path(db)
    if not db.is_file():
        raise ConfigError(f"benchmark database '{db}' does not exist: run `automl bench` first or pass --db")
    if suite is not None:
        suite = suite_name(suite)
    store = ResultStore(db)
    everything = store.rows()
    candidates = [row for row in everything if suite is None or row["suite"] == suite]
    candidates = [row for row in candidates if budget is None or row["budget"] == float(budget)]
    if not candidates:
        held = sorted({f"{row['suite']} at {row['budget']:g} s" for row in everything})
        asked = f"suite {suite or 'any'} at budget {'any' if budget is None else f'{budget:g} s'}"
        raise ConfigError(f"'{db}' has no results for {asked}: it holds {', '.join(held) or 'none'}")
    chosen_suite, chosen_budget = _choose(candidates, db)
    rows = [row for row in candidates if (row["suite"], row["budget"]) == (chosen_suite, chosen_budget)]
    combos = sorted({(row["suite"], row["budget"]) for row in everything} - {(chosen_suite, chosen_budget)})
    others = [f"{name} at {seconds:g} s" for name, seconds in combos]
    ranking = rank(rows)
    tested = significance(rows, ranking)
    text = "\n\n".join([
        _header(rows, chosen_suite, chosen_budget, others),
        rank_markdown(ranking),
        significance_markdown(tested),
        "Main metric per dataset (mean over seeds; best in bold):",
        scores_markdown(rows, ranking),
        "For reading: accuracy (classification) and R² (regression), higher is better:",
        scores_markdown(rows, ranking, reading=True),
    ])  # fmt: skip
    out_dir = Path(out_dir)
    write_text(out_dir / "ranks.md", text + "\n")
    if not ranking.table or not ranking.ranks:
        return text, []
    title = f"{chosen_suite} suite, {chosen_budget:g} s budget"
    plots = [
        plot_scores(rows, ranking, out_dir / "scores.png", title),
        plot_ranks(ranking, out_dir / "ranks.png", title),
    ]
    if tested.critical_difference is not None:
        plots.append(plot_critical_difference(tested, out_dir / "critical_difference.png", title))
    return text, plots
