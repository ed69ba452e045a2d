"""How long until the first trial is done, and what the sandbox costs per trial.

Two numbers decide whether a short run feels responsive and whether isolating generated code is
affordable:

(a) startup: seconds from the start of a fresh ``automl run``-like process to the first finished
    trial on breast_cancer (goal: under 5 s on 2 cores). A child interpreter imports the CLI, builds
    the run exactly as ``automl run`` does and hands the runner a progress object that records when
    each stage starts and when the first trial ends.
(b) overhead: the median wall time of the same calls run through the sandbox
    (``automl.sandbox.run_train``, exactly as SMAC's trials call it) next to calling the
    same ``train()`` in this process, interleaved so both see the same machine load. Twice: first a
    ``train()`` that returns at once, so what remains is the sandbox's own cost (fork, confinement,
    reply; goal: under 15 ms), then the run's real ``train.py`` on sampled configurations.

Usage: ``python benchmarks/startup_and_overhead.py [--repeats 3] [--trials 10] [--trivial 30]``.
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
RESULT_PREFIX = "STARTUP_RESULT "
# A train() that does nothing: through the sandbox, what it costs is the mechanism alone.
TRIVIAL_TRAIN = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n    return {'loss': 0.5}\n"
OVERHEAD_GOAL_MS = 15.0


# ---------------------------------------------------------------------------------------------
# (a) startup: runs in a child process, so interpreter start and imports are part of the time


class RecordingProgress:
    """A Progress (see automl.report.progress) that notes when each milestone happens."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.stages: list[tuple[str, float]] = []
        self.first_trial: float | None = None
        self.first_status = ""

    def stage(self, message: str) -> None:
        self.stages.append((message, time.time() - self.started))

    def start_trials(self, total: int) -> None:
        pass

    def trial_done(self, cost: float, status: str) -> None:
        if self.first_trial is None:
            self.first_trial = time.time() - self.started
            self.first_status = status

    def stop_trials(self) -> None:
        pass


def startup_child(started: float, out: Path, trials: int) -> None:
    """Do what ``automl run --out OUT --trials N`` does, reporting milestone times as one JSON line."""
    imported_at = time.time() - started
    import automl.cli  # noqa: F401  (the CLI's own import cost, as `automl run` pays it)
    from automl import sandbox
    from automl.rundir import create_run_dir_parent

    sandbox.warm_up(create_run_dir_parent(out))  # as automl.cli.run does, before the heavy imports
    from automl.config import RunConfig, ScenarioSettings
    from automl.runner import run

    cli_imported_at = time.time() - started
    progress = RecordingProgress(started)
    settings = ScenarioSettings.load("default").with_overrides(n_trials=trials)
    result = run(RunConfig(out=out, scenario=settings), progress)
    report = {
        "interpreter": imported_at,
        "imports": cli_imported_at,
        "stages": progress.stages,
        "first_trial": progress.first_trial,
        "first_status": progress.first_status,
        "total": time.time() - started,
        "run_dir": str(result.paths.root),
    }
    print(RESULT_PREFIX + json.dumps(report), flush=True)


def measure_startup(out: Path, trials: int) -> dict[str, Any]:
    """Start a fresh interpreter running :func:`startup_child` and read back its milestones."""
    started = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--startup-child", str(started), "--out", str(out), "--trials", str(trials)],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"the startup child failed (exit {done.returncode}):\n{done.stderr[-3000:]}")


def _stage_time(report: dict[str, Any], prefix: str) -> float:
    """When the first stage message starting with ``prefix`` was shown (NaN if never)."""
    return next((at for message, at in report["stages"] if message.startswith(prefix)), float("nan"))


def print_startup(reports: list[dict[str, Any]]) -> None:
    """Median seconds since process start at each milestone, over the repeats."""
    rows = [
        ("python up, script running", [r["interpreter"] for r in reports]),
        ("automl imported (CLI + runner)", [r["imports"] for r in reports]),
        ("data loaded, writing starts", [_stage_time(r, "writing") for r in reports]),
        ("verification starts", [_stage_time(r, "verifying") for r in reports]),
        ("SMAC starts", [_stage_time(r, "optimizing") for r in reports]),
        ("first trial finished", [r["first_trial"] for r in reports]),
    ]
    print(f"\n(a) startup on sklearn:breast_cancer, {len(reports)} fresh processes, seconds since process start")
    print(f"{'milestone':<34}{'median':>9}{'min':>9}{'max':>9}")
    for name, values in rows:
        print(f"{name:<34}{statistics.median(values):>9.2f}{min(values):>9.2f}{max(values):>9.2f}")
    first = statistics.median(r["first_trial"] for r in reports)
    verdict = "meets" if first < 5.0 else "misses"
    print(f"first trial after {first:.2f} s (median): {verdict} the 5 s goal on {os.cpu_count()} cores")
    print_verification([Path(r["run_dir"]) for r in reports])
    print("load average: " + ", ".join(f"{value:.1f}" for value in os.getloadavg()))


def print_verification(run_dirs: list[Path]) -> None:
    """Where verification's seconds went, from each run's verify.json (medians over the runs)."""
    parts: dict[str, list[float]] = {}
    counts: list[int] = []
    for run_dir in run_dirs:
        checks = json.loads((run_dir / "verify.json").read_text())["checks"]
        smoke = [check for check in checks if check["name"].startswith("smoke:") and check["seconds"] > 0]
        counts.append(len(smoke))
        for name in ("static", "default_configuration", "saved_model"):
            parts.setdefault(name, []).append(sum(c["seconds"] for c in checks if c["name"] == name))
        parts.setdefault("smoke", []).append(sum(check["seconds"] for check in smoke))
    shown = ", ".join(f"{name} {statistics.median(values):.2f} s" for name, values in parts.items())
    print(f"verification (median seconds per check): {shown} ({statistics.median(counts):.0f} smoke trials)")


# ---------------------------------------------------------------------------------------------
# (b) per-trial overhead: sandbox against in-process, same configurations, interleaved


def _load_train(path: Path) -> Any:
    """Import a run's train.py as a module, the way the sandbox child does, and return train()."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_train", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.train


def _alternate(
    label: str, calls: list[tuple[Any, dict[str, Any]]], sandboxed: Any, in_process: Any
) -> list[dict[str, Any]]:
    """Time each call both ways, alternating which side goes first so drift in load favours neither.

    The first call only warms both sides up (the fork server reads the run's inputs, the in-process
    side imports train.py's first-use modules) and is left out.
    """
    rows = []
    for index, (config, values) in enumerate(calls):
        timings = {}
        order = ("sandbox", "in_process") if index % 2 == 0 else ("in_process", "sandbox")
        for side in order:
            began = time.perf_counter()
            (sandboxed if side == "sandbox" else in_process)(index, config, values)
            timings[side] = time.perf_counter() - began
        if index > 0:
            rows.append({"label": label if label else values["algorithm"], **timings})
    return rows


def measure_overhead(run_dir: Path, n_trials: int, n_trivial: int, seed: int, scratch: Path
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """Per-call wall time through the sandbox and in-process: a do-nothing train(), then the real one."""
    import joblib
    from ConfigSpace import ConfigurationSpace
    from threadpoolctl import threadpool_limits

    from automl import sandbox
    from automl.rundir import RunPaths

    paths = RunPaths(run_dir)
    space = ConfigurationSpace.from_json(paths.space_json)
    space.seed(seed)
    configs = [space.get_default_configuration(), *space.sample_configuration(n_trials)]
    dataset = joblib.load(paths.search_data)
    limits = sandbox.Limits(walltime_s=120.0, memory_mb=4096, n_jobs=1)
    os.environ["AUTOML_N_JOBS"] = "1"  # what the sandbox gives a small-data trial
    scratch.mkdir(parents=True, exist_ok=True)  # bubblewrap can only bind a folder that exists
    sandbox.warm_up(scratch)
    print(f"\nsandbox: {sandbox.isolation_mode()}")

    def through_sandbox(train_path: Path, side: str) -> Any:
        def call(index: int, config: Any, values: dict[str, Any]) -> None:
            outcome = sandbox.run_train(train_path, paths.space_json, paths.search_data, values, seed, None,
                                        scratch / side / f"c{index}", limits)  # fmt: skip
            if not outcome.ok:
                raise RuntimeError(f"sandbox call {index} ({side}) {outcome.status}: {outcome.error}")

        return call

    def in_process(train: Any, side: str) -> Any:
        def call(index: int, config: Any, values: dict[str, Any]) -> None:
            train(config, dict(dataset), seed, None, str(scratch / f"{side}-in-process" / f"c{index}"))

        return call

    trivial_path = scratch / "trivial_train.py"
    trivial_path.write_text(TRIVIAL_TRAIN)
    trivial = _load_train(trivial_path)
    default = space.get_default_configuration()
    with threadpool_limits(1):
        # One block per train.py: the fork server keeps one file's inputs (and a spare child) at a time.
        trivial_rows = _alternate("trivial", [(default, dict(default))] * (n_trivial + 1),
                                  through_sandbox(trivial_path, "trivial"), in_process(trivial, "trivial"))  # fmt: skip
        real = _load_train(paths.train_py)
        real_rows = _alternate("", [(config, dict(config)) for config in configs],
                               through_sandbox(paths.train_py, "real"), in_process(real, "real"))  # fmt: skip
    return trivial_rows, real_rows


def _milliseconds(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"median {statistics.median(ordered) * 1000:.1f} ms (min {ordered[0] * 1000:.1f}, p90 {p90 * 1000:.1f})"


def print_overhead(trivial_rows: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """The mechanism's cost alone, then per-configuration times and their medians."""
    print(f"\n(b1) the sandbox alone: a train() that returns at once, {len(trivial_rows)} calls")
    print(f"  in-process  {_milliseconds([row['in_process'] for row in trivial_rows])}")
    print(f"  sandbox     {_milliseconds([row['sandbox'] for row in trivial_rows])}")
    extra = statistics.median(row["sandbox"] - row["in_process"] for row in trivial_rows) * 1000
    verdict = "meets" if extra < OVERHEAD_GOAL_MS else "misses"
    print(f"  added by the sandbox: {extra:.1f} ms per call (median): {verdict} the {OVERHEAD_GOAL_MS:g} ms goal")

    print(f"\n(b2) the run's train.py, {len(rows)} sampled configurations, wall seconds per trial")
    print(f"{'#':>3}  {'algorithm':<10}{'in-process':>12}{'sandbox':>10}{'extra':>9}")
    for index, row in enumerate(rows, start=1):
        extra = row["sandbox"] - row["in_process"]
        print(f"{index:>3}  {row['label']:<10}{row['in_process']:>12.3f}{row['sandbox']:>10.3f}{extra:>+9.3f}")
    inside = statistics.median(row["in_process"] for row in rows)
    boxed = statistics.median(row["sandbox"] for row in rows)
    extra = statistics.median(row["sandbox"] - row["in_process"] for row in rows)
    print(f"{'':>3}  {'median':<10}{inside:>12.3f}{boxed:>10.3f}{extra:>+9.3f}")
    print(
        f"sandbox overhead: {extra * 1000:.0f} ms per trial (median of differences); "
        f"median sandbox/in-process ratio {boxed / inside:.2f}x"
    )


def smac_share(run_dirs: list[Path]) -> None:
    """SMAC's own seconds per trial (ask, tell, surrogate), from its optimization.json: the rest of the loop."""
    from automl.optimize.smac_run import OPTIMIZATION_JSON
    from automl.rundir import RunPaths

    per_trial = []
    for run_dir in run_dirs:
        for stats_path in run_dir.glob(f"smac/*/*/{OPTIMIZATION_JSON}"):
            stats = json.loads(stats_path.read_text())
            n_trials = len(json.loads(RunPaths(run_dir).trials_json.read_text()))
            own = stats["used_walltime"] - stats["used_target_function_walltime"]
            per_trial.append(own / max(n_trials, 1))
    if per_trial:
        print(
            f"SMAC's own time outside the target function: {statistics.median(per_trial) * 1000:.0f} ms per trial "
            f"(median over the {len(per_trial)} startup runs; it grows as the surrogate gets more data)"
        )


def main() -> None:
    """Run (a) a few times in fresh processes, then (b) on the last run's directory."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes for (a) (default 3)")
    parser.add_argument("--trials", type=int, default=10, help="configurations for (b2) (default 10)")
    parser.add_argument("--trivial", type=int, default=30, help="calls of a do-nothing train() for (b1) (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling configurations (default 0)")
    parser.add_argument("--startup-child", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.startup_child is not None:
        startup_child(args.startup_child, args.out, args.trials)
        return

    with tempfile.TemporaryDirectory(prefix="automl-bench-") as scratch:
        root = Path(scratch)
        # Only the first trial matters here; a few more give SMAC's own per-trial time a sample.
        reports = [measure_startup(root / f"startup{i}", trials=5) for i in range(args.repeats)]
        print_startup(reports)
        # The sandbox's fork server runs OpenMP with passive waiting; do the same here (before sklearn loads).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        trivial_rows, rows = measure_overhead(Path(reports[-1]["run_dir"]), args.trials, args.trivial, args.seed,
                                              root / "overhead")  # fmt: skip
        print_overhead(trivial_rows, rows)
        smac_share([Path(report["run_dir"]) for report in reports])


if __name__ == "__main__":
    main()
