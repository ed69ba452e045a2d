"""Lanes: several benchmark runs side by side, each in its own process on its own CPUs.

``automl bench --lanes N --cores C`` splits the CPUs this process may use into N disjoint sets of
C and keeps one (dataset, seed, framework) run going on each. Every run is a fresh Python process
(``python -m automl.bench.lanes``) started already pinned to its lane's CPUs, with OpenMP and BLAS
told to use C threads, so neither the pinning nor the thread limits depend on when a library
loaded; one framework's state (an OpenMP runtime, a crash, leaked memory) never reaches the next.
This process only schedules: it starts runs, reads their rows and is the one writer of the
database, so resuming works as without lanes. A run whose process dies without a row is stored as
failed, with the constant predictor's score, as a framework that raises is. A lane's process looks
frameworks up in :data:`automl.bench.frameworks.FRAMEWORKS` as imported, so one added to the registry
at run time (as the tests do) runs only without lanes.

Lanes trade the isolation of one run at a time for throughput: runs on different CPUs still share
the memory bandwidth and caches, so a lane's run is a little slower than alone on the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from automl.bench.harness import Job, Plan, Progress, describe, failed_row, remove_tagged, split, versions
from automl.bench.store import ResultStore
from automl.errors import ConfigError

# Thread-pool sizes a lane's process is started with (its CPU affinity already holds it to them).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
POLL_SECONDS = 0.2
# A lane's process that is stopped (Ctrl-C, an error here) gets this long to end before it is killed.
STOP_SECONDS = 10.0
# How much of a dead run's output goes into its row's error.
LOG_TAIL_CHARS = 1500


def lane_cpus(lanes: int, cores: int) -> list[tuple[int, ...]]:
    """``lanes`` disjoint sets of ``cores`` CPUs out of those this process may use, or a ConfigError."""
    if not hasattr(os, "sched_getaffinity"):
        raise ConfigError("--lanes above 1 needs CPU affinity, which this platform lacks: use --lanes 1")
    allowed = sorted(os.sched_getaffinity(0))
    if lanes * cores > len(allowed):
        raise ConfigError(
            f"--lanes {lanes} with --cores {cores} needs {lanes * cores} cores, but {len(allowed)} are available: "
            f"use at most --lanes {max(1, len(allowed) // cores)} at --cores {cores}"
        )
    return [tuple(allowed[lane * cores : (lane + 1) * cores]) for lane in range(lanes)]


@dataclass
class _Running:
    """One run going on in a lane."""

    job: Job
    process: subprocess.Popen[bytes]
    log: IO[bytes]
    result: Path
    tag: str
    started: float


def run_in_lanes(
    plan: Plan, store: ResultStore, db_name: str, say: Progress, cpus: list[tuple[int, ...]]
) -> list[dict[str, Any]]:
    """Every combination of ``plan`` not yet in ``store``, run ``len(cpus)`` at a time; rows in plan order."""
    jobs = plan.jobs()
    rows: list[dict[str, Any] | None] = [None] * len(jobs)
    waiting: deque[Job] = deque()
    for job in jobs:
        if plan.is_done(store, job):
            rows[job.index] = plan.reuse(store, job)
            say(f"{plan.where(job, len(jobs))}: already in {db_name}, skipped")
        else:
            waiting.append(job)
    library_versions = versions()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    running: dict[int, _Running] = {}  # lane -> its run
    try:
        while waiting or running:
            for lane in range(len(cpus)):
                if lane not in running and waiting:
                    job = waiting.popleft()
                    running[lane] = _start(plan, job, cpus[lane], plan.tag(job, stamp))
                    say(f"{plan.where(job, len(jobs))}: running in lane {lane + 1} (CPU "
                        f"{','.join(map(str, cpus[lane]))}; {plan.budget:g} s budget, {plan.cores} cores)")  # fmt: skip
            time.sleep(POLL_SECONDS)
            for lane, run in list(running.items()):
                if run.process.poll() is None:
                    continue
                del running[lane]
                row = _collect(plan, run)
                rows[run.job.index] = plan.finish(store, run.job, row, library_versions)
                say(f"{plan.where(run.job, len(jobs))}: {describe(row)}")
    finally:
        for run in running.values():
            _stop(run)
            if not plan.keep:
                remove_tagged(plan.scratch, run.tag)
    return [row for row in rows if row is not None]


def _start(plan: Plan, job: Job, cpus: tuple[int, ...], tag: str) -> _Running:
    """The run's process, started on ``cpus`` (inherited from this thread's affinity while it starts)."""
    replay = plan.replay_dir(job, tag)
    description = {"source": plan.source, "dataset": job.dataset.name, "seed": job.seed, "framework": job.framework,
                   "budget": plan.budget, "cores": plan.cores, "scratch": str(plan.scratch), "tag": tag,
                   "trials": plan.trials, "api_base": plan.model_access.api_base,
                   "llm_timeout": plan.model_access.timeout, "replay": str(replay) if replay else None}  # fmt: skip
    result = plan.scratch / f"{tag}-lane-row.json"
    log = (plan.scratch / f"{tag}-lane.log").open("wb")
    environment = {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(plan.cores))}
    command = [sys.executable, "-m", "automl.bench.lanes", json.dumps(description), str(result)]
    with pinned(cpus):
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   env=environment)  # fmt: skip
    return _Running(job, process, log, result, tag, time.perf_counter())


def _collect(plan: Plan, run: _Running) -> dict[str, Any]:
    """The row the run's process wrote or, if it wrote none, a failed row naming how it ended."""
    seconds = time.perf_counter() - run.started
    run.log.close()
    try:
        if run.process.returncode == 0 and run.result.is_file():
            return json.loads(run.result.read_text())
        output = (plan.scratch / f"{run.tag}-lane.log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
        error = f"{output}\nthe run's process ended with exit code {run.process.returncode} and no result"
        data = split(run.job.dataset, run.job.seed)
        return failed_row(plan.task(run.job, data, run.tag, replay=None), data[3], error, seconds)
    finally:
        if not plan.keep:
            remove_tagged(plan.scratch, run.tag)


def _stop(run: _Running) -> None:
    run.process.terminate()
    try:
        run.process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.wait()
    run.log.close()


@contextlib.contextmanager
def pinned(cpus: tuple[int, ...]) -> Iterator[None]:
    """This thread on ``cpus`` for the block (a process started in it keeps them), then as before."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _plain(value: Any) -> Any:
    """JSON for the numpy scalars and arrays a framework's info may hold."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def main(arguments: list[str]) -> None:
    """A lane's process: run the one job described by ``arguments[0]``, write its row to ``arguments[1]``."""
    from automl.bench.harness import run_job

    description, result = json.loads(arguments[0]), Path(arguments[1])
    row = run_job(**description)
    partial = result.with_name(result.name + ".partial")
    partial.write_text(json.dumps(row, default=_plain))
    partial.replace(result)  # whole or absent: a process killed mid-write leaves no row


if __name__ == "__main__":
    main(sys.argv[1:])
