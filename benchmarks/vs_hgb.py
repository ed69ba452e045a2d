"""Does a tuned automl run beat scikit-learn's untuned HistGradientBoosting on the same split?

HistGradientBoosting with its defaults is the bar a tuner has to clear: it is strong, fast and needs
no search. For each dataset this script runs automl (``automl.runner.run``) with a wall-clock
budget, rebuilds the run's exact split with ``automl.data.prepare_dataset`` (same source, target,
task and seed as the runner), fits the default HGB on every non-test row (train + validation, as
automl's refit does) and scores both on the same held-out test rows with the same function
(``automl.evaluate.score_predictions``).

Datasets: scikit-learn's bundled breast_cancer, wine, digits and diabetes, plus two synthetic CSVs
written to a temporary directory (classification and regression, each with categorical columns
and missing values). Usage::

    python benchmarks/vs_hgb.py                                  # all six, 60 s each
    python benchmarks/vs_hgb.py --walltime 15 --datasets breast_cancer,wine
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BUNDLED = ("breast_cancer", "wine", "digits", "diabetes")
SYNTHETIC = ("synth_classification", "synth_regression")
DEFAULT_DATASETS = (*BUNDLED, *SYNTHETIC)
SYNTHETIC_ROWS = 1500
# Metric per task for the table; for accuracy higher is better, for rmse lower.
HEADLINE = {"classification": ("accuracy", True), "regression": ("rmse", False)}


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from and which column is the target."""

    name: str
    data: str
    target: str


def _synthetic_table(task: str, rows: int, seed: int) -> pd.DataFrame:
    """Numbers, a few-level and a many-level categorical column, missing values, a nonlinear target.

    Built so that both the categorical columns and an interaction matter, i.e. a model that drops or
    mangles categories or cannot fit interactions loses accuracy.
    """
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, rows))
    noise_feature = rng.uniform(-1, 1, size=rows)
    colour = rng.choice(["red", "green", "blue", "black"], size=rows, p=[0.4, 0.3, 0.2, 0.1])
    city = rng.choice([f"city_{i:02d}" for i in range(40)], size=rows)
    city_effect = {f"city_{i:02d}": value for i, value in enumerate(rng.normal(scale=0.8, size=40))}
    colour_effect = {"red": 1.0, "green": -0.5, "blue": 0.0, "black": -1.2}
    signal = (
        1.2 * x1
        + np.sin(2 * x2)
        + 0.8 * x1 * x3
        + np.vectorize(colour_effect.get)(colour)
        + np.vectorize(city_effect.get)(city)
    )
    frame = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "noise": noise_feature, "colour": colour, "city": city})
    for column, share in (("x1", 0.1), ("x3", 0.05), ("colour", 0.1), ("city", 0.05)):
        frame.loc[rng.random(rows) < share, column] = np.nan
    if task == "classification":
        score = signal + rng.normal(scale=0.7, size=rows)
        frame["target"] = np.select([score < -0.5, score < 1.0], ["low", "mid"], default="high")
    else:
        frame["target"] = 5.0 + 2.0 * signal + rng.normal(scale=0.5, size=rows)
    return frame


def resolve_sources(names: list[str], scratch: Path, seed: int) -> list[Source]:
    """Bundled names become ``sklearn:NAME``; synthetic names are written as CSV into ``scratch``."""
    sources = []
    for name in names:
        if name in BUNDLED:
            sources.append(Source(name, f"sklearn:{name}", "target"))
        elif name in SYNTHETIC:
            task = name.removeprefix("synth_")
            path = scratch / f"{name}.csv"
            _synthetic_table(task, SYNTHETIC_ROWS, seed).to_csv(path, index=False)
            sources.append(Source(name, str(path), "target"))
        else:
            raise SystemExit(f"unknown dataset {name!r}: choose from {', '.join(DEFAULT_DATASETS)}")
    return sources


def run_automl(source: Source, walltime: float, trials: int | None, seed: int, out: Path) -> dict[str, Any]:
    """One automl run with this budget; returns its result.json content."""
    from automl.config import RunConfig, ScenarioSettings
    from automl.runner import run

    settings = ScenarioSettings.load("default").with_overrides(walltime_limit=walltime, n_trials=trials)
    config = RunConfig(data=source.data, target=source.target, seed=seed, out=out, scenario=settings)
    return run(config).summary.to_dict()


@dataclass(frozen=True)
class Baseline:
    """The default HGB's test scores, and what identifies the split it was scored on."""

    task: str
    scores: dict[str, float]
    seconds: float
    test_rows: int
    fingerprint: str


def run_hgb(source: Source, seed: int) -> Baseline:
    """Default HistGradientBoosting on the runner's split: fit on train+validation, score the test rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from automl.data import prepare_dataset
    from automl.evaluate import score_predictions

    # The same call the runner makes (config.data, config.target, config.task, config.test_data, config.seed).
    data = prepare_dataset(source.data, source.target, "auto", None, seed)
    X = pd.concat([data.X_train, data.X_valid], ignore_index=True)
    y = np.concatenate([data.y_train, data.y_valid])
    began = time.perf_counter()
    if data.task == "classification":
        n_classes = len(data.labels.classes) if data.labels else int(y.max()) + 1
        model: Any = HistGradientBoostingClassifier(random_state=seed).fit(X, y)
        scores = score_predictions(
            data.task, data.y_test, model.predict(data.X_test), model.predict_proba(data.X_test), n_classes
        )
    else:
        model = HistGradientBoostingRegressor(random_state=seed).fit(X, y)
        scores = score_predictions(data.task, data.y_test, model.predict(data.X_test))
    return Baseline(data.task, scores, time.perf_counter() - began, len(data.X_test), data.fingerprint)


def winner(task: str, automl_score: float, hgb_score: float) -> str:
    """Which side scored better on the headline metric (ties within 1e-9)."""
    _, higher_is_better = HEADLINE[task]
    if math.isclose(automl_score, hgb_score, rel_tol=0, abs_tol=1e-9):
        return "tie"
    better = automl_score > hgb_score if higher_is_better else automl_score < hgb_score
    return "automl" if better else "hgb"


def print_table(rows: list[dict[str, Any]], walltime: float, trials: int | None) -> None:
    """The comparison as a plain-text table, one dataset per row."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    cap = f"{trials} trials" if trials else "the default scenario's trial cap"
    print(f"\nautoml (up to {walltime:g} s and {cap} per run) vs default HistGradientBoosting, same test rows")
    print(f"{os.cpu_count()} cores, load average at the end {load}")
    header = f"{'dataset':<22}{'metric':<10}{'automl':>9}{'hgb':>9}  {'winner':<8}{'trials':>7}  automl incumbent"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['dataset']:<22}{row['metric']:<10}{row['automl']:>9.4f}{row['hgb']:>9.4f}  "
            f"{row['winner']:<8}{row['trials']:>7}  {row['incumbent']}"
        )
    wins = {side: sum(row["winner"] == side for row in rows) for side in ("automl", "hgb", "tie")}
    print(
        f"automl wins {wins['automl']}, hgb wins {wins['hgb']}, ties {wins['tie']} "
        f"(accuracy: higher is better; rmse: lower is better)"
    )


def main() -> None:
    """Run every requested dataset through automl and HGB and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--datasets",
        default=",".join(DEFAULT_DATASETS),
        help=f"comma-separated subset of {','.join(DEFAULT_DATASETS)} (default: all)",
    )
    parser.add_argument("--walltime", type=float, default=60.0, help="seconds per automl run (default 60)")
    parser.add_argument(
        "--trials",
        type=int,
        default=None,
        help="trial cap per run (default: the default scenario's, 60). SMAC's initial design is a quarter of the "
        "cap, so a cap far above what fits in the walltime turns the whole run into its random initial design",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the splits, SMAC and data (default 0)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories under this folder")
    args = parser.parse_args()
    # Like the sandbox's fork server: idle OpenMP threads sleep instead of spinning (set before sklearn loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="automl-vs-hgb-") as scratch:
        root = (args.keep or Path(scratch)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        for source in resolve_sources(names, Path(scratch), args.seed):
            began = time.perf_counter()
            result = run_automl(source, args.walltime, args.trials, args.seed, root / source.name)
            seconds = time.perf_counter() - began
            hgb = run_hgb(source, args.seed)
            ran = result["dataset"]
            if (hgb.task, hgb.test_rows, hgb.fingerprint) != (ran["task"], ran["rows"]["test"], ran["fingerprint"]):
                raise RuntimeError(f"{source.name}: the rebuilt split does not match the run's")
            task, hgb_scores = hgb.task, hgb.scores
            metric, _ = HEADLINE[task]
            automl_score = float(result["test_metrics"][metric])
            incumbent = result["incumbent"].get("algorithm", "?")
            rows.append(
                {
                    "dataset": source.name,
                    "metric": metric,
                    "automl": automl_score,
                    "hgb": float(hgb_scores[metric]),
                    "winner": winner(task, automl_score, float(hgb_scores[metric])),
                    "trials": result["n_trials"],
                    "incumbent": incumbent,
                }
            )
            print(
                f"{source.name}: automl {metric}={automl_score:.4f} ({result['n_trials']} trials, "
                f"{seconds:.0f} s), hgb {metric}={hgb_scores[metric]:.4f} ({hgb.seconds:.1f} s)",
                flush=True,
            )
    print_table(rows, args.walltime, args.trials)


if __name__ == "__main__":
    main()
