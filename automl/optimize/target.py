"""The SMAC target: a picklable, module-level object that runs train.py from the run directory.

SMAC (and dask, which pickles the target) only sees :meth:`TrialTarget.train`. Each call loads the
generated file afresh inside the sandbox, gives the trial its own ``model_dir`` and turns the
sandbox's outcome into what SMAC understands: a cost with metrics, or an exception whose type
SMAC maps to TIMEOUT, MEMORYOUT or CRASHED.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ConfigSpace import Configuration
from pynisher import MemoryLimitException, WallTimeoutException

import automl.optimize.pickling  # noqa: F401  (dask workers unpickle configurations equal to the originals)
from automl.optimize.validation import InvalidPredictions, Validation
from automl.rundir import MODEL_FILE
from automl.sandbox import Limits, run_train

# Even the last trial of a run gets this long, so it is not cut before it could finish at all.
MIN_TRIAL_SECONDS = 2.0
# What a trial at a higher budget finds in its model_dir: the same configuration's model at the highest
# lower budget, which train() may continue training (docs/train-contract.md).
WARM_START_MODEL = "warm_start.joblib"
WARM_START_INFO = "warm_start.json"


class TrialCrashed(RuntimeError):
    """train() raised, broke the contract, or its process died; the message says how."""


def trial_name(config: dict[str, Any], seed: int, budget: float | None, instance: str | None = None) -> str:
    """A stable directory name carrying the configuration (hashed), the seed, the fold and the budget."""
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = f"c{digest}-s{seed}" + (f"-{instance}" if instance else "")
    return f"{name}-b{budget:g}" if budget is not None else name


def _lower_budget_model(trial_dir: Path, budget: float) -> tuple[Path, float] | None:
    """The saved model of the same configuration and seed at the highest budget below ``budget``."""
    stem = trial_dir.name.rsplit("-b", 1)[0]
    found: list[tuple[float, Path]] = []
    for sibling in trial_dir.parent.glob(f"{stem}-b*"):
        try:
            lower = float(sibling.name.rsplit("-b", 1)[1])
        except ValueError:
            continue
        if lower < budget and (sibling / MODEL_FILE).is_file():
            found.append((lower, sibling / MODEL_FILE))
    if not found:
        return None
    lower, path = max(found)
    return path, lower


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
    warm_start: bool = False  # offer each budgeted trial the same configuration's lower-budget model
    validation: Validation | None = None  # judge trials on their saved model's validation predictions
    round_number: int = 1  # the round of search the trials belong to (a later round's trial folders say it)

    def _limits(self) -> Limits:
        """The trial's limits, its wall clock cut so it ends by the run's deadline."""
        if self.deadline is None:
            return self.limits
        left = max(self.deadline - time.time(), MIN_TRIAL_SECONDS)
        return replace(self.limits, walltime_s=min(self.limits.walltime_s, left))

    def data_path(self, instance: str | None) -> Path:
        """The dataset of a cross-validation fold (an instance), or the run's one split."""
        return self.files.data_path if instance is None else self.files.data_path.with_name(f"{instance}.joblib")

    def _offer_checkpoint(self, model_dir: Path, budget: float | None) -> None:
        """Copy the same configuration's lower-budget model into ``model_dir`` for train() to continue."""
        if not self.warm_start or budget is None:
            return
        checkpoint = _lower_budget_model(model_dir, budget)
        if checkpoint is None:
            return
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkpoint[0], model_dir / WARM_START_MODEL)  # a copy: the trial may write over it
        (model_dir / WARM_START_INFO).write_text(json.dumps({"budget": checkpoint[1]}))

    def train(
        self, config: Configuration, instance: str | None = None, seed: int = 0, budget: float | None = None
    ) -> tuple[float, dict]:
        values = dict(config)
        prefix = f"r{self.round_number}-" if self.round_number > 1 else ""
        model_dir = self.files.trials_dir / (prefix + trial_name(values, seed, budget, instance))
        self._offer_checkpoint(model_dir, budget)
        outcome = run_train(
            self.files.train_path,
            self.files.space_path,
            self.data_path(instance),
            values,
            seed,
            budget,
            model_dir,
            self._limits(),
            self.validation.wanted if self.validation else "",
        )
        if outcome.status == "timeout":
            raise WallTimeoutException(outcome.error)
        if outcome.status == "memoryout":
            raise MemoryLimitException(outcome.error)
        if not outcome.ok:
            raise TrialCrashed(outcome.error or outcome.log_tail[-500:])
        cost = float(outcome.result["loss"])
        metrics = {key: value for key, value in outcome.result.items() if key != "loss"}
        if self.validation is not None:
            try:
                judged = self.validation.judge(model_dir, instance)
            except InvalidPredictions as error:
                raise TrialCrashed(str(error)) from None
            if judged is not None:  # the runner's own score on the run's metric replaces train()'s word
                metrics["reported_loss"] = cost
                cost, metrics[self.validation.metric_name] = judged
        info = {
            "metrics": metrics,
            "model_dir": model_dir.name,
            "wall_time": outcome.wall_time,
            "peak_memory_mb": outcome.peak_memory_mb,
            "round": self.round_number,
        }
        return cost, info
