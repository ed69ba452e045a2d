"""What every stage may read and no stage changes: the request, the run directory, the clock, the console."""

from __future__ import annotations

from dataclasses import dataclass

from automl.clock import Clock
from automl.config import RunConfig, ScenarioSettings
from automl.evaluate.metric import Metric
from automl.report.progress import Progress
from automl.rundir import RunPaths
from automl.sandbox import Limits


@dataclass(frozen=True)
class RunContext:
    """The run's fixed surroundings, made once the run directory exists.

    ``clock`` is the one shared object that changes during a run, and only through its own methods.
    """

    config: RunConfig
    paths: RunPaths
    clock: Clock
    progress: Progress
    n_jobs: int  # threads per sandbox job, chosen from the data's size
    resume: bool  # continuing the interrupted run in ``paths`` rather than starting one
    metric: Metric  # what better means: SMAC's loss, the ensemble's objective, the summary's headline
    device: str = "cpu"  # where tensor trials train ("cpu" or "cuda"), settled by the prepare stage

    def limits(self, settings: ScenarioSettings, walltime: float | None = None) -> Limits:
        """One sandbox job's limits under ``settings``; ``walltime`` (when given and non-zero) replaces the trial's."""
        return Limits(
            walltime_s=walltime or settings.trial_walltime_limit,
            memory_mb=settings.trial_memory_limit_mb,
            n_jobs=self.n_jobs,
            device=self.device,
        )
