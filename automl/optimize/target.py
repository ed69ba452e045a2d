"""The SMAC target: a picklable, module-level object that runs train.py from the run directory.

SMAC (and dask, which pickles the target) only sees :meth:`TrialTarget.train`. Each call loads the
generated file afresh inside the sandbox, gives the trial its own ``model_dir`` and turns the
sandbox's outcome into what SMAC understands: a cost with metrics, or an exception whose type
SMAC maps to TIMEOUT, MEMORYOUT or CRASHED.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ConfigSpace import Configuration
from pynisher import MemoryLimitException, WallTimeoutException

from automl.verify.sandbox import Limits, run_train

# Even the last trial of a run gets this long, so it is not cut before it could finish at all.
MIN_TRIAL_SECONDS = 5.0


class TrialCrashed(RuntimeError):
    """train() raised, broke the contract, or its process died; the message says how."""


def trial_name(config: dict[str, Any], seed: int, budget: float | None) -> str:
    """A stable directory name carrying the configuration (hashed), the seed and the budget."""
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = f"c{digest}-s{seed}"
    return f"{name}-b{budget:g}" if budget is not None else name


@dataclass(frozen=True)
class RunFiles:
    """The files a trial needs, all inside the run directory."""

    train_path: Path
    space_path: Path
    data_path: Path
    trials_dir: Path


@dataclass(frozen=True)
class TrialTarget:
    """Runs one SMAC trial of the generated train() in the sandbox."""

    files: RunFiles
    limits: Limits
    deadline: float | None = None  # time.time() past which no trial may run (the run's walltime)

    def _limits(self) -> Limits:
        """The trial's limits, its wall clock cut so it ends by the run's deadline."""
        if self.deadline is None:
            return self.limits
        left = max(self.deadline - time.time(), MIN_TRIAL_SECONDS)
        return replace(self.limits, walltime_s=min(self.limits.walltime_s, left))

    def train(self, config: Configuration, seed: int = 0, budget: float | None = None) -> tuple[float, dict]:
        values = dict(config)
        model_dir = self.files.trials_dir / trial_name(values, seed, budget)
        outcome = run_train(
            self.files.train_path,
            self.files.space_path,
            self.files.data_path,
            values,
            seed,
            budget,
            model_dir,
            self._limits(),
        )
        if outcome.status == "timeout":
            raise WallTimeoutException(outcome.error)
        if outcome.status == "memoryout":
            raise MemoryLimitException(outcome.error)
        if not outcome.ok:
            raise TrialCrashed(outcome.error or outcome.log_tail[-500:])
        metrics = {key: value for key, value in outcome.result.items() if key != "loss"}
        info = {
            "metrics": metrics,
            "model_dir": model_dir.name,
            "wall_time": outcome.wall_time,
            "peak_memory_mb": outcome.peak_memory_mb,
        }
        return float(outcome.result["loss"]), info
