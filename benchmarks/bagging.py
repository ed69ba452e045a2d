"""Do the members' bags pay? The same run's final model scored with its bags and with its refits alone.

For each dataset of the offline bench suite, automl runs once on the bench's split with a walltime
(the way users run it) and the AutoML Benchmark's main metric as ``--metric``. The saved model is then
scored on the test rows twice: as saved (each member the mean of its refit and its fold models) and
with the bags taken off the card (each member its refit alone). Same trials, same members, same
weights: the difference is the bags' alone. The table also gives how many fold models were fitted
or copied from the search's folds, and the seconds the refit stage took.

Usage::

    python benchmarks/bagging.py                                   # 9 datasets, 60 s each
    python benchmarks/bagging.py --datasets large_regression,imbalanced --walltime 300
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from automl.predictor import FittedModel

DATASETS = "breast_cancer,digits,diabetes,mixed_binary,mixed_multiclass,imbalanced,mixed_regression,large_regression"


def main_metric(task: str, y: pd.Series) -> str:
    if task == "regression":
        return "rmse"
    return "roc_auc" if y.nunique() == 2 else "log_loss"


def scored(model: FittedModel, X_test: pd.DataFrame, y_test: np.ndarray, task: str, metric: str) -> float:
    """The main metric of ``model``'s predictions of the test rows."""
    from automl.bench.metrics import Predictions, score

    if task == "regression":
        predictions = Predictions(values=np.asarray(model.predict(X_test), dtype=np.float64))
        return score(task, y_test, predictions, np.array([]))[metric]
    labels, proba = model.predict_with_proba(X_test)
    return score(task, y_test, Predictions(labels=labels, proba=proba), model.classes)[metric]


def compare(datasets: list[str], walltime: float, seed: int, root: Path) -> list[dict]:
    """One row per dataset: the test score with and without the bags, and what the bags took."""
    from automl.bench.harness import split
    from automl.bench.suites import get_suite
    from automl.config import RunConfig, ScenarioSettings
    from automl.predictor import FittedModel
    from automl.runner import run

    rows = []
    for dataset in (d for d in get_suite("offline") if d.name in datasets):
        X_train, X_test, y_train, y_test = split(dataset, seed)
        metric = main_metric(dataset.task, pd.Series(y_train))
        settings = ScenarioSettings(n_trials=None, walltime_limit=walltime)
        config = RunConfig(data=dataset.name, target="target", task=dataset.task, seed=seed, scenario=settings,
                           out=root / dataset.name, metric=metric)  # fmt: skip
        result = run(config, table=X_train.assign(target=y_train))
        bagged = FittedModel.load(result.paths.root)
        card = bagged.card
        refits = FittedModel(result.paths, replace(card, members=tuple(replace(m, bag=()) for m in card.members)))
        refit = result.summary.refit
        row = {"dataset": dataset.name, "metric": metric, "bagged": scored(bagged, X_test, y_test, dataset.task,
               metric), "refits": scored(refits, X_test, y_test, dataset.task, metric),
               "members": len(card.members), "fold models": refit.bag_models, "refit s": refit.seconds,
               "folds": result.summary.cv_folds or 1}  # fmt: skip
        rows.append(row)
        print(row, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--walltime", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="automl-bagging-") as scratch:
        rows = compare(args.datasets.split(","), args.walltime, args.seed, Path(scratch))
    wins = 0
    print(f"\nwalltime {args.walltime:g} s, seed {args.seed}, load average {os.getloadavg()[0]:.1f}\n")
    print("| dataset | metric | search folds | bagged | refits alone | better | members | fold models | refit s |")
    print("|---|---|---:|---:|---:|---|---:|---:|---:|")
    for row in rows:
        higher = row["metric"] == "roc_auc"
        if row["bagged"] == row["refits"]:
            verdict = "tie"
        else:
            verdict = "bagged" if (row["bagged"] > row["refits"]) == higher else "refits"
        wins += verdict == "bagged"
        print(f"| {row['dataset']} | {row['metric']} | {row['folds']} | {row['bagged']:.4f} | {row['refits']:.4f} | "
              f"{verdict} | {row['members']} | {row['fold models']} | {row['refit s']:.1f} |")  # fmt: skip
    print(f"\nbagged better on {wins} of {len(rows)} datasets")


if __name__ == "__main__":
    main()
