"""Does ``automl run --walltime S`` (no ``--trials``) use its time, and stay within it?

Each dataset gets one fresh ``automl run --walltime S`` process, exactly as a user types it. The
script measures the process's wall seconds from start to exit, and reads ``result.json``: the run's
own time (``timings.total`` plus the report, written within the walltime), the trials and what
ended the search (``stopped_by``). The default preset's 40-trial cap must not end such a run: the
walltime should. Goal: the run uses at least 90% of the walltime and ends at most 10% past it.
The process adds the interpreter's start and imports (about 2-3 s, before the run's clock starts)
and its exit, so its share is shown too. Usage::

    python benchmarks/walltime_use.py                                   # 60 s on breast_cancer and a 40 000-row table
    python benchmarks/walltime_use.py --walltime 30 --datasets sklearn:digits,generated:10000
    python benchmarks/walltime_use.py --datasets my.csv --target y --keep runs/
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATASETS = "sklearn:breast_cancer,generated:40000"
GOAL_LOW, GOAL_HIGH = 0.90, 1.10
PRESET_TRIALS = 40  # the default preset's n_trials, which capped such runs before
GENERATED_COLUMNS = 15  # below automl.stages.prepare.THREADED_CELLS at 40 000 rows: one thread per trial


@dataclass(frozen=True)
class Use:
    """One run: the limit, the seconds the process and the run took, and what the search did."""

    dataset: str
    rows: int
    facade: str
    walltime: float
    process_s: float
    run_s: float  # timings.total plus the report
    trials: int
    stopped_by: str
    load: tuple[float, float]

    def row(self) -> str:
        share = f"{self.run_s / self.walltime:.0%}"
        process = f"{self.process_s / self.walltime:.0%}"
        return (f"| {self.dataset} | {self.rows} | {self.facade} | {self.walltime:g} | {self.run_s:.1f} | {share} | "
                f"{self.process_s:.1f} | {process} | {self.trials} | {self.stopped_by} | "
                f"{self.load[0]:.1f}→{self.load[1]:.1f} |")  # fmt: skip


HEADER = (
    "| dataset | rows | facade | walltime s | run s (total + report) | run share | process s | process share | "
    "trials | stopped by | load avg (start→end) |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def resolve(name: str, scratch: Path, seed: int) -> str:
    """``generated:ROWS`` becomes a CSV of a generated classification table; anything else is passed on."""
    if not name.startswith("generated:"):
        return name
    import pandas as pd
    from sklearn.datasets import make_classification

    rows = int(name.removeprefix("generated:"))
    X, y = make_classification(n_samples=rows, n_features=GENERATED_COLUMNS, n_informative=10, n_redundant=3,
                               flip_y=0.03, random_state=seed)  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"x{i:02d}" for i in range(X.shape[1])]).assign(target=y)
    path = scratch / f"generated-{rows}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def run_once(dataset: str, source: str, target: str | None, walltime: float, seed: int, out: Path) -> Use:
    """One ``automl run --walltime`` process on ``source``; what it used."""
    command = [sys.executable, "-m", "automl.cli", "run", "--data", source, "--walltime", f"{walltime:g}",
               "--seed", str(seed), "--out", str(out)]  # fmt: skip
    if target:
        command += ["--target", target]
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"automl run failed on {dataset} ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    timings = result["timings"]
    rows = sum(result["dataset"]["rows"].values())
    return Use(dataset, rows, result["facade"], walltime, seconds, timings["total"] + timings.get("report", 0.0),
               result["n_trials"], result.get("stopped_by") or "?", (load_before, os.getloadavg()[0]))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walltime", type=float, default=60.0)
    parser.add_argument("--datasets", default=DEFAULT_DATASETS,
                        help="comma-separated: sklearn:NAME, generated:ROWS or a file path")  # fmt: skip
    parser.add_argument("--target", default=None, help="target column of file datasets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="walltime-use-") as scratch_name:
        scratch = Path(scratch_name)
        root = args.keep or scratch / "runs"
        uses = []
        for index, dataset in enumerate(args.datasets.split(",")):
            source = resolve(dataset, scratch, args.seed)
            target = "target" if dataset.startswith("generated:") else args.target
            out = root / f"{index:02d}-{Path(dataset.replace(':', '-')).stem}"
            uses.append(run_once(dataset, source, target, args.walltime, args.seed, out))
            print(f"{dataset}: {uses[-1].run_s:.1f} s of {args.walltime:g} ({uses[-1].trials} trials)", flush=True)
    print()
    print(HEADER)
    for use in uses:
        print(use.row())
    print()
    for use in uses:
        share = use.run_s / use.walltime
        verdict = "meets" if GOAL_LOW <= share <= GOAL_HIGH else "misses"
        past_cap = f"{use.trials} trials, past the preset's {PRESET_TRIALS}" if use.trials > PRESET_TRIALS else (
            f"{use.trials} trials")  # fmt: skip
        print(f"{use.dataset}: the run used {share:.0%} of its {use.walltime:g} s ({past_cap}, stopped by "
              f"{use.stopped_by}): {verdict} the {GOAL_LOW:.0%}-{GOAL_HIGH:.0%} goal")  # fmt: skip


if __name__ == "__main__":
    main()
