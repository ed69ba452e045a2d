"""The orchestrator: one call turns a dataset into a tuned, saved, honestly scored model.

The run is the stages of :mod:`automl.stages` in order, each given the frozen run context and the
outputs it needs, each leaving its artifacts in the run directory before the next starts. The
whole run keeps to the walltime on one :class:`~automl.clock.Clock`. See docs/architecture.md.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from automl import sandbox
from automl.clock import Clock
from automl.config import RunConfig
from automl.ensemble import EnsembleMethod, EnsembleSelection
from automl.report.progress import Progress, SilentProgress
from automl.result import RunSummary
from automl.rundir import RunPaths, create_run_dir_parent, failure_recorded
from automl.stages.context import RunContext
from automl.stages.evaluate import evaluate
from automl.stages.optimize import optimize, room_for_another_round
from automl.stages.prepare import prepare
from automl.stages.refit import refit
from automl.stages.report import report
from automl.stages.revise import revise
from automl.stages.state import RunState
from automl.stages.summary import summarize
from automl.stages.write import Written, plan_metric, write


@dataclass(frozen=True)
class RunResult:
    """A finished run: where it is and what ``result.json`` says."""

    paths: RunPaths
    summary: RunSummary


def run(
    config: RunConfig,
    progress: Progress | None = None,
    table: pd.DataFrame | tuple[np.ndarray, np.ndarray] | None = None,
    resume: bool = False,
    ensemble: EnsembleMethod | None = None,
    write_report: bool = True,
) -> RunResult:
    """Run every stage for ``config``.

    ``table`` replaces ``config.data`` for in-memory data (the Python API): a DataFrame with the target
    column, or ``(X, y)`` arrays of tensors (images ``(N, C, H, W)``); ``resume`` continues the
    interrupted run in ``config.out``; ``ensemble`` chooses the final model's members (default: greedy
    ensemble selection on the trials' validation predictions); ``write_report`` False leaves out
    report.html (``automl report`` writes it later), for a run folder no one will open.
    """
    clock = Clock(config.scenario.walltime_limit)
    progress = progress or SilentProgress()
    method = ensemble or EnsembleSelection()
    timed = StageTimer(progress)
    # The fork server imports its libraries while the data loads; it may write beneath the runs' folder.
    sandbox.warm_up(create_run_dir_parent(config.out))
    with timed("prepare", f"loading {config.data}"):
        prepared = prepare(config, progress, table, resume)
    context = RunContext(
        prepared.config, prepared.paths, clock, progress, prepared.n_jobs, resume, prepared.metric, prepared.device
    )
    with failure_recorded(context.paths):  # an error that stops the run is kept in run.json
        if resume:
            written = Written.recorded(context.paths)
        else:
            with timed("write"):
                written = write(context, prepared.data)
        # The metric is settled with the plan (the user's, else the planner's, else the task's default).
        context = replace(context, metric=plan_metric(written.artifacts.plan, context.config, prepared.data))
        clock.limit(written.artifacts.scenario.walltime_limit)
        with timed("optimize"):
            optimized = optimize(context, prepared.data, written, method.size)
            while room_for_another_round(context, written, optimized, method.size):
                written = revise(context, prepared.data, written, optimized)
                optimized = optimize(context, prepared.data, written, method.size, optimized)
        with timed("refit", "refitting the best configurations on all non-test rows, then bagging them"):
            final = refit(context, prepared.data, written, optimized, method)
        with timed("evaluate", "scoring on the held-out test set"):
            evaluated = evaluate(context, prepared.data, written)
        timed.seconds["total"] = round(clock.elapsed(), 3)
        state = RunState(prepared, written, optimized, final, evaluated, dict(timed.seconds))
        summary = summarize(context, state)
        summary.write(context.paths.result_json)
        if write_report:
            with timed("report", "writing report.html"):  # in the walltime's last seconds, kept for it by the clock
                report(context, prepared.data, evaluated)
            summary = replace(summary, timings=dict(timed.seconds))  # now with the report's time
            summary.write(context.paths.result_json)
        return RunResult(context.paths, summary)


class StageTimer:
    """Announces each stage on the console and records how long it took under ``seconds[name]``."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str, message: str = "") -> Iterator[None]:
        if message:
            self.progress.stage(message)
        since = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - since, 3)
