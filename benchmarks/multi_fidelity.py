"""Do the multi-fidelity facades reach hpo's loss sooner on data large enough for budgets to matter?

``mf`` and ``hyperband`` spend most trials on a small budget (a fraction of the training rows, or a
few trees) and promote the best configurations to the full one. That only pays off if a full fit is
slow, so this script generates a 50 000-row classification table offline and runs automl on it once
per facade (``automl.runner.run``) with the same walltime and a trial cap far above what fits, so the
walltime ends every run. It has 15 columns by default: a table above ``automl.stages.prepare.THREADED_CELLS``
gives trials several threads, which crash in the sandbox at the time of writing (benchmarks/README.md).

From each run's SMAC run history (``smac/smac/<seed>/runhistory.json``) it builds the anytime curve:
the best cost so far, counted from the start of the run's first trial. Only full-budget trials count
(hpo runs nothing else), because a loss at a data fraction of 1/27 is not comparable with one at the
full budget. The target is the loss hpo ends with; the ratio is the time a facade needs to reach that
loss divided by the time hpo needed for it (its last improvement). Goal: 0.40 or less for mf and
hyperband. Usage::

    python benchmarks/multi_fidelity.py                              # hpo, mf, hyperband; 300 s each
    python benchmarks/multi_fidelity.py --walltime 120 --budget-kinds data_fraction,n_estimators
    python benchmarks/multi_fidelity.py --json mf.json --keep runs/   # also write the numbers and keep the runs
    python benchmarks/multi_fidelity.py --report mf.json              # print a saved run's tables again
    python benchmarks/multi_fidelity.py --data sklearn:digits_images --budget-kinds auto --walltime 120

``--data`` runs the facades on a dataset of your own instead of the generated table: for tensor data (an image
folder, ``.npz``, ``sklearn:digits_images``) the budget is always epochs, so pass ``--budget-kinds auto``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# SMAC's StatusType.SUCCESS as the run history stores it.
SUCCESS = 1
RATIO_GOAL = 0.40
# Informative columns of the generated table (a few more are redundant, the rest noise).
N_INFORMATIVE = 10
N_REDUNDANT = 3
# Two budgets closer than this count as the same rung (the plan rounds budgets to six decimals).
BUDGET_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Variant:
    """One run: a facade and, for the facades with budgets, what the budget means."""

    facade: str
    budget_kind: str = "auto"

    @property
    def label(self) -> str:
        return self.facade if self.budget_kind == "auto" else f"{self.facade} ({self.budget_kind})"


@dataclass(frozen=True)
class Trial:
    """One finished trial from the run history, its times relative to the first trial's start."""

    budget: float | None
    cost: float
    ok: bool
    start: float
    end: float
    seconds: float


@dataclass
class Summary:
    """What one run's history and result say: its full-budget anytime curve and where its time went."""

    label: str
    facade: str
    budget_kind: str | None
    budgets: list[float]
    trials: int
    full_trials: int
    search_seconds: float
    curve: list[tuple[float, float]]  # (seconds, best full-budget cost so far), one point per improvement
    per_budget: list[dict[str, float]]
    test_metrics: dict[str, float]
    load: list[float]
    time_to_target: float | None = None
    ratio: float | None = None
    loss_at_goal: float | None = None  # best full-budget loss after RATIO_GOAL times hpo's time
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        return self.curve[-1][1] if self.curve else math.inf

    @property
    def first_full(self) -> float | None:
        """When the first full-budget trial ended: mf and hyperband must climb every rung before it."""
        return self.curve[0][0] if self.curve else None

    def time_to(self, target: float) -> float | None:
        """When the best full-budget cost first reached ``target`` (None if it never did)."""
        return next((seconds for seconds, cost in self.curve if cost <= target), None)

    def loss_at(self, seconds: float) -> float:
        """The best full-budget cost known ``seconds`` after the first trial started (inf before the first)."""
        return min((cost for at, cost in self.curve if at <= seconds), default=math.inf)


def write_dataset(path: Path, rows: int, features: int, seed: int) -> None:
    """A binary classification table with 10 informative columns: slow enough to fit that budgets matter."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=features, n_informative=N_INFORMATIVE,
                               n_redundant=N_REDUNDANT, random_state=seed)  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"x{i:02d}" for i in range(features)])
    frame["target"] = y
    frame.to_parquet(path, index=False)


def run_variant(variant: Variant, data: Path | str, walltime: float, trials: int, seed: int, out: Path) -> Any:
    """One automl run through the public runner: the same walltime and trial cap for every facade."""
    from automl.config import RunConfig, ScenarioSettings
    from automl.data.tensors import is_tensor_source
    from automl.runner import run

    settings = ScenarioSettings.load("default").with_overrides(walltime_limit=walltime, n_trials=trials)
    target = None if is_tensor_source(str(data)) or str(data).startswith("sklearn:") else "target"
    config = RunConfig(data=str(data), target=target, seed=seed, out=out, scenario=settings,
                       facade=variant.facade, budget_kind=variant.budget_kind)  # fmt: skip
    return run(config)


def read_trials(runhistory: Path) -> list[Trial]:
    """Every finished trial, ordered by when it ended, in seconds since the first trial started."""
    data = json.loads(runhistory.read_text())["data"]
    origin = min(entry["starttime"] for entry in data)
    trials = [
        Trial(
            budget=entry["budget"],
            cost=float(entry["cost"]),
            ok=entry["status"] == SUCCESS,
            start=entry["starttime"] - origin,
            end=entry["endtime"] - origin,
            seconds=float(entry["time"]),
        )
        for entry in data
    ]
    return sorted(trials, key=lambda trial: trial.end)


def summarize(variant: Variant, run_result: Any, load: list[float]) -> Summary:
    """The full-budget anytime curve, trial counts and seconds per budget of one finished run."""
    paths, result = run_result.paths, run_result.summary
    plan = json.loads(paths.plan_json.read_text())
    seed = json.loads(paths.run_json.read_text())["arguments"]["seed"]
    trials = read_trials(paths.smac_dir / "smac" / str(seed) / "runhistory.json")
    top = plan.get("max_budget")

    def is_full(trial: Trial) -> bool:
        return trial.budget is None or top is None or abs(trial.budget - top) <= BUDGET_TOLERANCE

    curve: list[tuple[float, float]] = []
    for trial in trials:
        if trial.ok and is_full(trial) and (not curve or trial.cost < curve[-1][1]):
            curve.append((round(trial.end, 3), trial.cost))
    per_budget = []
    total = sum(trial.seconds for trial in trials) or 1.0
    for budget in sorted({trial.budget for trial in trials if trial.budget is not None}) or [None]:
        group = [trial for trial in trials if trial.budget == budget]
        seconds = sum(trial.seconds for trial in group)
        per_budget.append({"budget": budget, "trials": len(group), "seconds": round(seconds, 1),
                           "share": round(seconds / total, 3), "failed": sum(not t.ok for t in group)})  # fmt: skip
    return Summary(
        label=variant.label,
        facade=variant.facade,
        budget_kind=plan.get("budget_kind"),
        budgets=sorted({trial.budget for trial in trials if trial.budget is not None}),
        trials=len(trials),
        full_trials=sum(is_full(trial) for trial in trials),
        search_seconds=round(max(trial.end for trial in trials), 1),
        curve=curve,
        per_budget=per_budget,
        test_metrics=result.test_metrics,
        load=load,
        extra={"run_dir": str(paths.root), "timings": result.timings, "incumbent": result.incumbent},
    )


def compare(summaries: list[Summary]) -> float | None:
    """Set each run's time to hpo's final loss and its ratio to hpo's own time; returns the target."""
    hpo = next((summary for summary in summaries if summary.facade == "hpo"), None)
    if hpo is None or not hpo.curve:
        return None
    target = hpo.final_loss
    reference = hpo.time_to(target)
    for summary in summaries:
        summary.time_to_target = summary.time_to(target)
        if summary.time_to_target is not None and reference:
            summary.ratio = summary.time_to_target / reference
        if reference:  # how far each run had got by the deadline the goal sets
            summary.loss_at_goal = summary.loss_at(RATIO_GOAL * reference)
    return target


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.0f} s"


def print_report(summaries: list[Summary], target: float | None, settings: dict[str, Any]) -> None:
    """The markdown comparison table, then each budgeted run's trials and seconds per budget."""
    data = settings.get("data", "generated")
    shape = data if data != "generated" else f"{settings['rows']} rows x {settings['features']} columns"
    print(f"\n{shape} ({settings['train_rows']} training), "
          f"walltime {settings['walltime']:g} s per run, trial cap {settings['trials']}, seed {settings['seed']}, "
          f"{os.cpu_count()} cores")  # fmt: skip
    if target is not None:
        print(f"target: hpo's final validation log loss {target:.5f}\n")
    print(
        f"| facade | time to hpo's final loss | ratio to hpo | loss at {RATIO_GOAL:.0%} of that time "
        "| best full-budget loss | first full-budget result "
        "| trials (full budget) | search s | test accuracy | test log loss | load avg (start→end) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in summaries:
        ratio = "—" if s.ratio is None else f"{s.ratio:.2f}"
        load = f"{s.load[0]:.1f}→{s.load[1]:.1f}"
        accuracy, log_loss = (s.test_metrics.get(name, math.nan) for name in ("accuracy", "log_loss"))
        at_goal = "none yet" if s.loss_at_goal in (None, math.inf) else f"{s.loss_at_goal:.5f}"
        print(f"| {s.label} | {_seconds(s.time_to_target)} | {ratio} | {at_goal} | {s.final_loss:.5f} "
              f"| {_seconds(s.first_full)} "
              f"| {s.trials} ({s.full_trials}) | {s.search_seconds:.0f} | {accuracy:.4f} | {log_loss:.4f} "
              f"| {load} |")  # fmt: skip
    for s in summaries:
        if s.ratio is not None and s.facade != "hpo":
            verdict = "meets" if s.ratio <= RATIO_GOAL else "misses"
            print(f"{s.label}: {s.ratio:.2f} of hpo's time, {verdict} the {RATIO_GOAL:.2f} goal")
        elif s.facade != "hpo":
            print(f"{s.label}: never reached hpo's final loss at the full budget, misses the {RATIO_GOAL:.2f} goal")
    for s in summaries:
        if s.budget_kind is None:
            continue
        print(f"\n{s.label}: trials and trial seconds per budget ({s.budget_kind})")
        print("| budget | trials | failed | trial seconds | share |")
        print("|---|---|---|---|---|")
        for row in s.per_budget:
            print(f"| {row['budget']:g} | {row['trials']} | {row['failed']} | {row['seconds']:.0f} "
                  f"| {row['share']:.0%} |")  # fmt: skip
    for s in summaries:
        steps = ", ".join(f"{seconds:.0f} s: {cost:.4f}" for seconds, cost in s.curve)
        print(f"\n{s.label} best full-budget loss over time: {steps or 'none'}")


def main() -> None:
    """Generate the table, run each facade on it with the same limits, and compare the anytime curves."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--walltime", type=float, default=300.0, help="seconds per automl run (default 300)")
    parser.add_argument(
        "--trials",
        type=int,
        default=5000,
        help="trial cap per run: far above what fits, so the walltime ends each run (default 5000)",
    )
    parser.add_argument("--rows", type=int, default=50_000, help="rows of the generated table (default 50000)")
    parser.add_argument("--features", type=int, default=15,
                        help="columns of the generated table (default 15: 32 000 training rows x 15 stay "
                             "below automl.stages.prepare.THREADED_CELLS, so trials run on one thread; see the "
                             "README)")  # fmt: skip
    parser.add_argument("--facades", default="hpo,mf,hyperband", help="comma-separated (default hpo,mf,hyperband)")
    parser.add_argument("--budget-kinds", default="data_fraction",
                        help="budget kinds for mf and hyperband, comma-separated: data_fraction, n_estimators, "
                             "max_iter (default data_fraction)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="seed for the data, the split and SMAC (default 0)")
    parser.add_argument("--data", default=None,
                        help="a dataset instead of the generated table (a table's target column must be 'target'; "
                             "tensors: an image folder, .npz or sklearn:digits_images)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers and curves to this file")
    parser.add_argument("--keep", type=Path, default=None, help="keep the run directories under this folder")
    parser.add_argument("--report", type=Path, default=None,
                        help="print the tables of a file written by --json again, running nothing")  # fmt: skip
    args = parser.parse_args()
    if args.report is not None:
        saved = json.loads(args.report.read_text())
        fields = set(Summary.__dataclass_fields__)
        summaries = [Summary(**{key: value for key, value in run.items() if key in fields}) for run in saved["runs"]]
        for summary in summaries:
            summary.curve = [(float(at), float(cost)) for at, cost in summary.curve]
        print_report(summaries, compare(summaries), saved["settings"])
        return
    # Like the sandbox's fork server: idle OpenMP threads sleep instead of spinning (set before sklearn loads).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from automl.plan.facades import FACADE_INFO

    variants = []
    for facade in (name.strip() for name in args.facades.split(",") if name.strip()):
        kinds = [kind.strip() for kind in args.budget_kinds.split(",") if kind.strip()]
        variants += [Variant(facade, kind) for kind in kinds] if FACADE_INFO[facade].uses_budget else [Variant(facade)]
    summaries = []
    with tempfile.TemporaryDirectory(prefix="automl-mf-") as scratch:
        root = (args.keep or Path(scratch)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        data: Path | str = args.data or Path(scratch) / f"classification_{args.rows}x{args.features}.parquet"
        if args.data is None:
            write_dataset(Path(data), args.rows, args.features, args.seed)
        for index, variant in enumerate(variants):
            load_before = os.getloadavg()[0]
            began = time.perf_counter()
            out = root / f"{index:02d}-{variant.label.replace(' ', '').replace('(', '-').strip(')')}"
            summary = summarize(variant, run_variant(variant, data, args.walltime, args.trials, args.seed, out),
                                [load_before, os.getloadavg()[0]])  # fmt: skip
            summaries.append(summary)
            print(f"{variant.label}: {summary.trials} trials ({summary.full_trials} at full budget), best full-budget "
                  f"loss {summary.final_loss:.5f}, {time.perf_counter() - began:.0f} s in all", flush=True)  # fmt: skip
        train_rows = json.loads(Path(summaries[0].extra["run_dir"], "result.json").read_text())["dataset"]["rows"]
    target = compare(summaries)
    settings = {
        "data": args.data or "generated",
        "rows": args.rows,
        "features": args.features,
        "train_rows": train_rows["train"],
        "walltime": args.walltime,
        "trials": args.trials,
        "seed": args.seed,
        "cores": os.cpu_count(),
    }
    print_report(summaries, target, settings)
    if args.json is not None:
        runs = [asdict(summary) for summary in summaries]
        report = {
            "settings": settings,
            "target": target,
            "goal_ratio": RATIO_GOAL,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "runs": runs,
        }
        args.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
