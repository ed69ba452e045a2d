"""Do two dask workers finish trials nearly twice as fast as one?

``--workers N`` is only worth its cluster if trials really run side by side: SMAC asks for the next
configuration while the others run, each dask worker keeps its own sandbox fork server, and nothing
serializes them. This script measures that on trials whose cost is known exactly: a ``train()`` that
sleeps ``--sleep`` seconds and returns ``{"loss": cfg["x"]}``, on a one-hyperparameter space. It
drives ``build_scenario`` and ``run_smac`` directly with a :class:`~automl.optimize.target.TrialTarget`,
so every trial still goes through the sandbox as in a real run, once with ``dask_client(1, ...)``
(no cluster: trials run in this process, one after another) and once with ``dask_client(2, ...)``
(a local cluster of two single-threaded worker processes).

Each measurement runs in a fresh interpreter, so both start from the same state (no fork server yet,
no cluster). Reported per measurement: the cluster's start-up (not part of the throughput), trials
per second over SMAC's ``optimize()`` call, and the steady rate once every worker has finished its
first trial (which includes starting that worker's fork server). Goal: 2 workers give at least 1.8x
the throughput of 1. Usage::

    python benchmarks/workers.py [--trials 30] [--sleep 1.0] [--repeats 1] [--facade hpo]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Marks the child's one line of output among whatever else it prints.
RESULT_PREFIX = "WORKERS_RESULT "
# Sleeps and reports its one hyperparameter as the loss: the trial's cost is the sleep, nothing else.
TRAIN = """import time


def train(cfg, dataset, seed, budget=None, model_dir=None):
    time.sleep({sleep!r})
    return {{"loss": float(cfg["x"])}}
"""
SPEEDUP_GOAL = 1.8
# Far more than the trials need: the trial cap, not the clock, ends every measurement.
WALLTIME = 3600.0


def write_inputs(root: Path, sleep: float) -> Any:
    """train.py, the space and a tiny dataset in a run-like folder; returns the RunFiles naming them."""
    import joblib
    import numpy as np
    import pandas as pd
    from ConfigSpace import ConfigurationSpace, Float

    from automl.optimize.target import RunFiles

    root.mkdir(parents=True, exist_ok=True)
    (root / "train.py").write_text(TRAIN.format(sleep=sleep))
    space = ConfigurationSpace(seed=0)
    space.add(Float("x", (0.0, 1.0), default=0.5))
    space.to_json(root / "config_space.json")
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    labels = np.array([0, 1, 0, 1])
    joblib.dump({"X": frame, "y": labels, "X_test": frame, "y_test": labels}, root / "search.joblib")
    return RunFiles(root / "train.py", root / "config_space.json", root / "search.joblib", root / "trials")


def measure_child(workers: int, trials: int, sleep: float, facade: str, seed: int, root: Path) -> None:
    """One SMAC run on ``workers`` workers; prints its timings as one JSON line."""
    from ConfigSpace import ConfigurationSpace

    from automl import sandbox
    from automl.config import ScenarioSettings
    from automl.optimize.smac_run import build_scenario, run_smac
    from automl.optimize.target import TrialTarget
    from automl.optimize.workers import dask_client
    from automl.plan import Plan
    from automl.sandbox import Limits

    files = write_inputs(root, sleep)
    space = ConfigurationSpace.from_json(files.space_path)
    plan = Plan(facade=facade)
    settings = ScenarioSettings(n_trials=trials, walltime_limit=WALLTIME, crash_cost=10.0)
    scenario = build_scenario(space, plan, settings, root / "smac", seed, WALLTIME, 10.0)
    target = TrialTarget(files, Limits(walltime_s=60.0, memory_mb=2048, n_jobs=1))
    began = time.perf_counter()
    with dask_client(workers, None, root / ".dask", files.trials_dir) as client:
        if client is None:  # as in a real run, where verification has already started the sandbox
            sandbox.warm_up(files.trials_dir)
        else:
            client.wait_for_workers(workers)
        started, started_at = time.perf_counter(), time.time()
        result = run_smac(scenario, plan, target, dask_client=client)
        finished, finished_at = time.perf_counter(), time.time()
    closed = time.perf_counter()
    history = json.loads((root / "smac" / "smac" / str(seed) / "runhistory.json").read_text())["data"]
    ends = sorted(entry["endtime"] for entry in history)
    first_start = min(entry["starttime"] for entry in history)
    statuses: dict[str, int] = {}
    for trial in result.trials:
        statuses[trial.status] = statuses.get(trial.status, 0) + 1
    # Once each worker has finished a trial, its fork server is up: what is left is the steady rate.
    warm = ends[workers - 1 :]
    steady = (len(warm) - 1) / (warm[-1] - warm[0]) if len(warm) > 1 and warm[-1] > warm[0] else float("nan")
    report = {
        "workers": workers,
        "startup_s": started - began,
        "run_smac_s": finished - started,
        "optimize_s": result.seconds,
        "close_s": closed - finished,
        "trials": len(result.trials),
        "statuses": statuses,
        "per_second": len(result.trials) / result.seconds,
        "steady_per_second": steady,
        "first_trial_s": ends[0] - first_start,
        "trial_wall_s": statistics.median(trial.wall_time for trial in result.trials),
        # Outside every trial: SMAC's set-up (and the workers unpickling the target) before the first, the wait
        # for the last result after it.
        "lead_s": first_start - started_at,
        "tail_s": finished_at - ends[-1],
        # Share of the workers' time spent inside trials; the rest is SMAC choosing (or the lead and tail).
        "busy": sum(entry["time"] for entry in history) / (workers * result.seconds),
    }
    print(RESULT_PREFIX + json.dumps(report), flush=True)


def measure(workers: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Run :func:`measure_child` in a fresh interpreter and read back its report."""
    command = [sys.executable, __file__, "--child", str(workers), "--out", str(root), "--trials", str(args.trials),
               "--sleep", str(args.sleep), "--facade", args.facade, "--seed", str(args.seed)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"the {workers}-worker measurement failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def print_report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Each measurement, then the median speed-ups of 2 workers over 1 (overall and steady)."""
    print(f"\n{args.trials} trials of a train() sleeping {args.sleep:g} s, facade {args.facade}, sandboxed; "
          f"{os.cpu_count()} cores, load average at the end "
          + ", ".join(f"{value:.1f}" for value in os.getloadavg()))  # fmt: skip
    print("| workers | cluster start s | optimize s | trials | trials/s | steady trials/s | before first trial s "
          "| first trial ends s | after last trial s | median trial s | workers busy | close s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        failed = sum(count for status, count in row["statuses"].items() if status != "success")
        trials = f"{row['trials']}" + (f" ({failed} failed)" if failed else "")
        print(f"| {row['workers']} | {row['startup_s']:.2f} | {row['optimize_s']:.2f} | {trials} "
              f"| {row['per_second']:.3f} | {row['steady_per_second']:.3f} | {row['lead_s']:.2f} "
              f"| {row['first_trial_s']:.2f} | {row['tail_s']:.2f} | {row['trial_wall_s']:.3f} | {row['busy']:.0%} "
              f"| {row['close_s']:.2f} |")  # fmt: skip
    for key, name in (("per_second", "over optimize()"), ("steady_per_second", "steady, after each worker's first")):
        one = statistics.median(row[key] for row in rows if row["workers"] == 1)
        two = statistics.median(row[key] for row in rows if row["workers"] == 2)
        verdict = "meets" if two / one >= SPEEDUP_GOAL else "misses"
        print(f"2 workers / 1 worker, {name}: {two / one:.2f}x ({verdict} the {SPEEDUP_GOAL:g}x goal)")
    print(f"ideal: 2 trials per {args.sleep:g} s at most, i.e. {2 / args.sleep:.2f} trials/s")


def main() -> None:
    """Alternate 1-worker and 2-worker measurements in fresh processes, then compare their throughput."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30, help="trials per measurement (default 30)")
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds each trial sleeps (default 1.0)")
    parser.add_argument("--repeats", type=int, default=1, help="measurements per worker count (default 1)")
    parser.add_argument("--facade", default="hpo", help="SMAC facade without budgets: hpo or random (default hpo)")
    parser.add_argument("--seed", type=int, default=0, help="SMAC's seed (default 0)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child is not None:
        measure_child(args.child, args.trials, args.sleep, args.facade, args.seed, args.out)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="automl-workers-") as scratch:
        for repeat in range(args.repeats):
            # Alternate which count goes first, so a change in the machine's load favours neither.
            for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
                row = measure(workers, args, Path(scratch) / f"r{repeat}-w{workers}")
                rows.append(row)
                print(f"{workers} worker(s): {row['trials']} trials in {row['optimize_s']:.1f} s "
                      f"({row['per_second']:.3f}/s), cluster start {row['startup_s']:.1f} s", flush=True)  # fmt: skip
    print_report(rows, args)


if __name__ == "__main__":
    main()
