"""Search curves of SMAC's model-based facade (``hpo``) against random search (``random``) on one space.

Why. At a 60 s budget ``automl bench`` ranked ``random`` (SMAC's RandomFacade over the same space,
pipeline, portfolio start, refit and ensemble) slightly ahead of ``automl`` (SMAC's
HyperparameterOptimizationFacade). This script measures where the model-based search loses: how
good the incumbent is after k trials, how many distinct configurations each facade evaluated and on
how many folds, how long SMAC itself takes between trials (its random-forest surrogate and the
acquisition maximizer's random and local search), and what that means for a 60 s search.

How. Each (dataset, seed) is split as ``automl bench`` splits it (``automl.bench.harness.split``,
25% test rows), and ``automl.runner.run`` runs once per facade with a fixed trial cap and a walltime
far above what the trials need, so trials, not time, end the search and the curves do not depend on
the machine's load. The bench's main metric is the run's metric (roc_auc binary, log_loss
multiclass, rmse regression). Per run the script reads:

- SMAC's ``intensifier.json`` trajectory: the incumbent's cost as the intensifier gives it (with
  folds, the mean over the folds the incumbent ran so far) after each trial. "best after k" is the
  last trajectory entry at or before SMAC trial k;
- SMAC's ``runhistory.json``: each trial's start and end, so a trial's seconds are end - start and
  SMAC's own overhead is the gap between one trial's end and the next one's start (tell, saving its
  state, the surrogate's retraining and the acquisition maximizer). A gap over ``--retrain-gap``
  seconds is counted as a retrain (SMAC's config selector refits the model every 8 configurations);
- ``result.json``: the test main metric of the run's final model (after refit and ensemble).

"trials in 60 s" is ``--time-budget`` divided by the run's mean (overhead + trial) seconds per trial:
an extrapolation from 40 trials (hpo's retraining grows with the run history, so it is optimistic
for hpo). "cost at T" compares the facades at equal search time: the incumbent cost each had when
the faster facade (usually random) finished its trials, from the trajectory's walltime.

Usage::

    python benchmarks/search_curves.py [--datasets mixed_binary,digits,diabetes,imbalanced] [--seeds 5]
        [--trials 40] [--facades hpo,random] [--json runs.json] [--load runs.json ...] [--keep DIR]
        [--smac-forest] [--label -smacrf]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATASETS = "mixed_binary,digits,diabetes,imbalanced"
CHECKPOINTS = (10, 20, 30, 40)
# Far above what 40 trials need on these tables, so the trial cap ends every search.
BIG_WALLTIME = 3600.0
TEST_FILE = "test.csv"


def one_run(dataset: Any, seed: int, facade: str, trials: int, work: Path, label: str = "") -> dict[str, Any]:
    """Run the runner once and return what its run directory says about the search."""
    from ConfigSpace import ConfigurationSpace

    from automl.bench.harness import split
    from automl.bench.metrics import BINARY, MAIN_METRIC, MULTICLASS, REGRESSION
    from automl.config import RunConfig, ScenarioSettings
    from automl.optimize.initial_design import initial_configurations, load_portfolio
    from automl.runner import run

    X_train, X_test, y_train, y_test = split(dataset, seed)
    kind = REGRESSION if dataset.task == "regression" else BINARY if len(np.unique(y_train)) == 2 else MULTICLASS
    data_dir = work / f"{dataset.name}-{seed}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    train_file, test_file = data_dir / "train.parquet", data_dir / "test.parquet"
    if not train_file.is_file():
        X_train.assign(target=y_train).to_parquet(train_file, index=False)
        X_test.assign(target=y_test).to_parquet(test_file, index=False)
    out = work / f"{dataset.name}-{seed}-{facade}{label}"
    scenario = ScenarioSettings(n_trials=trials, walltime_limit=BIG_WALLTIME)
    config = RunConfig(data=str(train_file), target="target", test_data=str(test_file), task=dataset.task,
                       seed=seed, out=out, facade=facade, scenario=scenario, metric=MAIN_METRIC[kind])  # fmt: skip
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(config)
    seconds = time.perf_counter() - started
    space = ConfigurationSpace.from_json(result.paths.root / "config_space.json")
    starts = len(initial_configurations(space, load_portfolio(dataset.task)))
    return read_run(result.paths.root, seed) | {
        "starts": min(starts, trials),
        "dataset": dataset.name,
        "seed": seed,
        "facade": facade,
        "metric": MAIN_METRIC[kind],
        "run_seconds": seconds,
    }


def read_run(root: Path, seed: int) -> dict[str, Any]:
    """Trajectory, per-trial timings and test metric of one finished run directory."""
    smac_dir = next((root / "smac").glob(f"*/{seed}"))
    history = json.loads((smac_dir / "runhistory.json").read_text())
    trajectory = json.loads((smac_dir / "intensifier.json").read_text())["trajectory"]
    result = json.loads((root / "result.json").read_text())
    trials = sorted(history["data"], key=lambda trial: trial["starttime"])
    durations = [trial["endtime"] - trial["starttime"] for trial in trials]
    gaps = [later["starttime"] - earlier["endtime"] for earlier, later in itertools.pairwise(trials)]
    folds_per_config: dict[int, int] = {}
    for trial in trials:
        folds_per_config[trial["config_id"]] = folds_per_config.get(trial["config_id"], 0) + 1
    return {
        "trajectory": [(entry["trial"], entry["walltime"], entry["costs"][0]) for entry in trajectory],
        "durations": durations,
        "gaps": gaps,
        "configs": len(folds_per_config),
        "folds_per_config": statistics.mean(folds_per_config.values()),
        "cv_folds": result.get("cv_folds"),
        "test": result["test_metrics"][result["metric"]],
        "origins": list(history.get("config_origins", {}).values()),
        "trial_configs": [trial["config_id"] for trial in trials],
    }


def cost_after(trajectory: list, k: int) -> float:
    """The incumbent's cost after SMAC trial ``k``: the last trajectory entry at or before it."""
    costs = [cost for trial, _, cost in trajectory if trial <= k]
    return costs[-1] if costs else float("nan")


def cost_at_time(trajectory: list, seconds: float) -> float:
    """The incumbent's cost after ``seconds`` of SMAC's walltime."""
    costs = [cost for _, walltime, cost in trajectory if walltime <= seconds]
    return costs[-1] if costs else float("nan")


def start_share(row: dict[str, Any]) -> float:
    """The share of the run's trials spent on its start configurations (SMAC numbers them first, 1..starts)."""
    return sum(config_id <= row["starts"] for config_id in row["trial_configs"]) / len(row["trial_configs"])


def summarize(runs: list[dict[str, Any]], time_budget: float, retrain_gap: float) -> list[str]:
    """Markdown tables: per dataset and facade, means over seeds."""
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in runs:
        by_key.setdefault((row["dataset"], row["facade"]), []).append(row)
    datasets = list(dict.fromkeys(row["dataset"] for row in runs))
    facades = list(dict.fromkeys(row["facade"] for row in runs))
    mean = statistics.mean
    header = "| dataset | facade | seeds | folds | " + " | ".join(f"best@{k}" for k in CHECKPOINTS) + " | configs | "
    header += (
        f"folds/config | start share | SMAC s/trial | retrains | s/retrain | trial s | trials in {time_budget:.0f} s | "
    )
    header += "cost@T | T s | test |"
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for dataset in datasets:
        # Equal-time comparison: every facade at the time its fastest seed-mean finished its trials.
        ends = {
            facade: mean(sum(row["durations"]) + sum(row["gaps"]) for row in by_key[dataset, facade])
            for facade in facades
            if (dataset, facade) in by_key
        }
        horizon = min(ends.values())
        for facade in facades:
            rows = by_key.get((dataset, facade))
            if not rows:
                continue
            per_trial = [(sum(row["durations"]) + sum(row["gaps"])) / len(row["durations"]) for row in rows]
            retrains = [[gap for gap in row["gaps"] if gap > retrain_gap] for row in rows]
            all_retrains = [gap for gaps in retrains for gap in gaps]
            cells = [
                dataset,
                facade,
                str(len(rows)),
                str(rows[0]["cv_folds"] or 1),
                *(f"{mean(cost_after(row['trajectory'], k) for row in rows):.4f}" for k in CHECKPOINTS),
                f"{mean(row['configs'] for row in rows):.1f}",
                f"{mean(row['folds_per_config'] for row in rows):.2f}",
                f"{mean(start_share(row) for row in rows):.2f}",
                f"{mean(mean(row['gaps']) for row in rows):.3f}",
                f"{mean(len(gaps) for gaps in retrains):.1f}",
                f"{mean(all_retrains):.2f}" if all_retrains else "-",
                f"{mean(mean(row['durations']) for row in rows):.3f}",
                f"{mean(time_budget / seconds for seconds in per_trial):.0f}",
                f"{mean(cost_at_time(row['trajectory'], horizon) for row in rows):.4f}",
                f"{horizon:.1f}",
                f"{mean(row['test'] for row in rows):.4f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def wins(runs: list[dict[str, Any]], a: str, b: str) -> list[str]:
    """Per dataset: seeds where facade ``a`` was better/equal/worse than ``b`` (final validation cost, test metric)."""
    lines = [f"| dataset | {a} vs {b}: best@end better/equal/worse | test better/equal/worse |", "|---|---|---|"]
    paired: dict[str, dict[int, dict[str, dict]]] = {}
    for row in runs:
        paired.setdefault(row["dataset"], {}).setdefault(row["seed"], {})[row["facade"]] = row
    for dataset, seeds in paired.items():
        both = [pair for pair in seeds.values() if a in pair and b in pair]
        if not both:
            continue
        sign = 1 if both[0][a]["metric"] == "roc_auc" else -1  # +1: higher is better
        valid = [-(cost_after(p[a]["trajectory"], 10**9) - cost_after(p[b]["trajectory"], 10**9)) for p in both]
        test = [sign * (p[a]["test"] - p[b]["test"]) for p in both]
        lines.append(f"| {dataset} | {_tally(valid)} | {_tally(test)} |")
    return lines


def _tally(differences: list[float]) -> str:
    """better/equal/worse counts of differences (positive: better)."""
    return "/".join(
        str(sum(test(d) for d in differences)) for test in (lambda d: d > 0, lambda d: d == 0, lambda d: d < 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=DEFAULT_DATASETS, help="names from the offline suite")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--facades", default="hpo,random")
    parser.add_argument("--time-budget", type=float, default=60.0, help="seconds of search for 'trials in T s'")
    parser.add_argument("--retrain-gap", type=float, default=0.5, help="a gap above this many seconds is a retrain")
    parser.add_argument("--json", type=Path, help="also save every run's measurements here")
    parser.add_argument("--load", type=Path, nargs="+", help="print the tables of saved --json files instead")
    parser.add_argument(
        "--smac-forest",
        action="store_true",
        help="hpo with SMAC's own random forest (2**20-leaf trees), as before automl.optimize.surrogate",
    )
    parser.add_argument("--label", default="", help="appended to each facade's name in the tables (e.g. -smacrf)")
    parser.add_argument("--keep", type=Path, help="keep the run directories here (default: a temporary directory)")
    args = parser.parse_args()

    if args.load:
        runs = [row for path in args.load for row in json.loads(path.read_text())]
    else:
        from automl.bench.suites import get_suite

        if args.smac_forest:
            from automl.optimize import smac_run

            smac_run.surrogate_model = lambda facade, scenario: None  # the facade builds SMAC's own forest

        suite = {dataset.name: dataset for dataset in get_suite("offline")}
        facades = args.facades.split(",")
        runs = []
        with tempfile.TemporaryDirectory(prefix="search-curves-") as scratch:
            work = args.keep or Path(scratch)
            for name in args.datasets.split(","):
                for seed in (int(value) for value in args.seeds.split(",")):
                    for facade in facades:
                        row = one_run(suite[name], seed, facade, args.trials, work, args.label)
                        row["facade"] += args.label if facade != "random" else ""
                        runs.append(row)
                        print(f"{name} seed {seed} {facade}: best {cost_after(row['trajectory'], 10**9):.4f}, "
                              f"test {row['test']:.4f}, {row['configs']} configs, {row['run_seconds']:.0f} s",
                              flush=True)  # fmt: skip
                        if args.json:
                            args.json.write_text(json.dumps(runs))
    print()
    print("\n".join(summarize(runs, args.time_budget, args.retrain_gap)))
    for facade in dict.fromkeys(row["facade"] for row in runs):
        if facade != "random" and any(row["facade"] == "random" for row in runs):
            print()
            print("\n".join(wins(runs, facade, "random")))
    print()
    print(f"load average: {', '.join(f'{value:.1f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
