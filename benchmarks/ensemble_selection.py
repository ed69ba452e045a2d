"""Does ensemble selection beat the top-5 average on the same trials, and what do validation predictions cost?

(a) For each dataset of the offline bench suite, automl runs twice on the bench's split with the same
seed and a trial budget (not a time budget, so both runs see the same trials): once with the default
ensemble selection, once with the old top-5 equal-weight average. The metric is the AutoML
Benchmark's main one (ROC AUC for two classes, log loss for more, RMSE for regression), passed as
``--metric`` so the search and the selection optimize what is scored. The test score of each final
model is printed side by side.

(b) The cost of keeping validation predictions: the incumbent of the digits run (or the first
dataset's) is trained ``--repeats`` times in the sandbox with and without the validation prediction step.

Usage::

    python benchmarks/ensemble_selection.py                       # 7 datasets below 5 000 rows, 30 trials
    python benchmarks/ensemble_selection.py --datasets digits,imbalanced --trials 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

SMALL = "breast_cancer,wine,digits,iris,diabetes,mixed_binary,mixed_multiclass,imbalanced,mixed_regression"


def main_metric(task: str, y: pd.Series) -> str:
    if task == "regression":
        return "rmse"
    return "roc_auc" if y.nunique() == 2 else "log_loss"


def compare(datasets: list[str], trials: int, seed: int, root: Path) -> list[dict]:
    """(a): one row per dataset with the test score of each ensemble method."""
    from automl.bench.harness import split
    from automl.bench.suites import get_suite
    from automl.config import RunConfig, ScenarioSettings
    from automl.ensemble import EnsembleSelection, TopKAverage
    from automl.runner import run

    rows = []
    for dataset in (d for d in get_suite("offline") if d.name in datasets):
        X_train, X_test, y_train, y_test = split(dataset, seed)
        train = X_train.assign(target=y_train)
        test = X_test.assign(target=y_test)
        test_path = root / f"{dataset.name}-test.parquet"
        test.to_parquet(test_path)
        metric = main_metric(dataset.task, pd.Series(y_train))
        row = {"dataset": dataset.name, "metric": metric}
        for method in (EnsembleSelection(), TopKAverage()):
            settings = ScenarioSettings.load("default").with_overrides(n_trials=trials, walltime_limit=600)
            config = RunConfig(data=dataset.name, target="target", task=dataset.task, seed=seed, scenario=settings,
                               out=root / f"{dataset.name}-{method.name}", metric=metric,
                               test_data=str(test_path))  # fmt: skip
            since = time.perf_counter()
            result = run(config, table=train, ensemble=method)
            row[method.name] = result.summary.test_metrics[metric]
            row[f"{method.name} members"] = result.summary.refit.ensemble_size
            row[f"{method.name} s"] = time.perf_counter() - since
        rows.append(row)
        print(row, flush=True)
    return rows


def overhead(run_dir: Path, repeats: int) -> tuple[float, float]:
    """(b): median seconds of a finished run's incumbent trial without and with validation predictions."""
    from automl.result import RunSummary
    from automl.rundir import open_run_dir
    from automl.sandbox import Limits, run_train

    paths = open_run_dir(run_dir)
    config = RunSummary.read(paths.result_json).incumbent
    seconds: dict[str, list[float]] = {"": [], "proba": []}
    for i in range(repeats):
        for validation, times in seconds.items():
            since = time.perf_counter()
            trial_dir = run_dir / "overhead" / f"{i}{validation}"
            outcome = run_train(paths.train_py, paths.space_json, paths.search_data, config, 0, None, trial_dir,
                                Limits(walltime_s=120), validation)  # fmt: skip
            assert outcome.ok, outcome.error
            times.append(time.perf_counter() - since)
    return statistics.median(seconds[""]), statistics.median(seconds["proba"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=SMALL)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="automl-ensemble-") as scratch:
        rows = compare(args.datasets.split(","), args.trials, args.seed, Path(scratch))
        timed = "digits" if any(row["dataset"] == "digits" for row in rows) else rows[0]["dataset"]
        plain, predicted = overhead(Path(scratch) / f"{timed}-ensemble_selection", args.repeats)
    better = {"rmse": min, "log_loss": min, "roc_auc": max}
    wins = 0
    print("\n| dataset | metric | ensemble selection | top-5 average | members (selection / top-5) | better |")
    print("|---|---|---:|---:|---|---|")
    for row in rows:
        selection, top_k = row["ensemble_selection"], row["top_k_average"]
        best = better[row["metric"]](selection, top_k)
        verdict = "tie" if selection == top_k else ("selection" if best == selection else "top-5")
        wins += verdict == "selection"
        print(f"| {row['dataset']} | {row['metric']} | {selection:.4f} | {top_k:.4f} | "
              f"{row['ensemble_selection members']} / {row['top_k_average members']} | {verdict} |")  # fmt: skip
    print(f"\nensemble selection better on {wins} of {len(rows)} datasets")
    print(f"\n(b) {timed}, the incumbent, median of {args.repeats}: trial {plain:.3f} s without validation "
          f"predictions, {predicted:.3f} s with them (+{predicted - plain:.3f} s); load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
