"""The orchestrator: one call turns a dataset into a tuned, saved, honestly scored model.

Stages run in DESIGN.md's order (describe, plan and write, verify, optimize, evaluate, report),
each writing its artifact into the run directory before the next starts. The whole run keeps to the
scenario's wall-clock limit: the optimizer gets what is left after verification, minus a reserve
for the final refit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import joblib
import pandas as pd

from automl._io import write_json, write_text
from automl.config import RunConfig
from automl.data import PreparedData, prepare_dataset
from automl.data.dataset import prepare_table
from automl.errors import RunError, VerifyError
from automl.evaluate import score_predictions
from automl.optimize.smac_run import OptimizationResult, TrialRecord, build_scenario, run_smac
from automl.optimize.target import RunFiles, TrialTarget
from automl.predictor import FittedModel, ModelCard
from automl.report.progress import Progress, SilentProgress
from automl.rundir import RunPaths, create_run_dir, create_run_dir_parent
from automl.verify import sandbox
from automl.verify.sandbox import Limits, run_train
from automl.verify.verifier import VerifyInputs, verify_train
from automl.writers import Artifacts, OfflineWriter

logger = logging.getLogger(__name__)

# How many of the best configurations are refit and averaged into the final model.
ENSEMBLE_SIZE = 5
# How many trials keep their saved model; the others keep only their log.
KEEP_TRIAL_MODELS = 3
# The refit gets this many times the default configuration's verify time per ensemble member, within bounds.
REFIT_RESERVE_FACTOR = 2.0
REFIT_RESERVE_SHARE = 0.25
REFIT_MIN_SHARE = 0.1
# Seconds the smoke tests may take: this share of the run's walltime, within these bounds.
SMOKE_SHARE = 0.03
SMOKE_MIN_SECONDS = 1.5
SMOKE_MAX_SECONDS = 60.0
# Training tables with at least this many cells get every core per trial.
THREADED_CELLS = 500_000
LIBRARIES = ("automl", "smac", "ConfigSpace", "scikit-learn", "numpy", "pandas", "joblib")


@dataclass(frozen=True)
class RunResult:
    """A finished run: where it is and what ``result.json`` says."""

    paths: RunPaths
    result: dict[str, Any]


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _loss_name(task: str) -> str:
    return "log_loss" if task == "classification" else "rmse"


class Runner:
    """Runs the stages for one :class:`RunConfig`, timing each."""

    def __init__(self, config: RunConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress or SilentProgress()
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()
        self._deadline = self._started + config.scenario.walltime_limit
        self._n_jobs = 1
        self.isolation = ""

    def _choose_threads(self, data: PreparedData) -> None:
        """Threads per trial: one for small data, where thread start-up costs more than it saves."""
        cells = data.X_train.shape[0] * max(data.X_train.shape[1], 1)
        self._n_jobs = (os.cpu_count() or 1) if cells >= THREADED_CELLS else 1

    @contextlib.contextmanager
    def _stage(self, name: str, message: str = "") -> Iterator[None]:
        """Announce a stage and record how long it took under ``timings[name]``."""
        if message:
            self.progress.stage(message)
        since = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - since, 3)

    def run(self, table: pd.DataFrame | None = None) -> RunResult:
        """Run every stage; ``table`` replaces ``config.data`` for in-memory data (the Python API)."""
        # The fork server imports its libraries while the data loads; it may write beneath the runs' folder.
        sandbox.warm_up(create_run_dir_parent(self.config.out))
        config = self.config
        with self._stage("prepare", f"loading {config.data}"):
            if table is None:
                data = prepare_dataset(config.data, config.target, config.task, config.test_data, config.seed)
            else:
                target = config.target or "target"
                data = prepare_table(table, target, config.task, seed=config.seed, source=config.data)
            self._choose_threads(data)
            paths = create_run_dir(config.out, config.data)
            write_json(
                paths.run_json,
                {
                    "arguments": config.to_dict(),
                    "dataset_fingerprint": data.fingerprint,
                    "writer": config.writer,
                    "model": None,
                    "versions": _versions(),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
            )
            write_json(paths.dataset_json, data.description)
            paths.search_data.parent.mkdir(exist_ok=True)
            joblib.dump(data.search_dataset(), paths.search_data)
            joblib.dump(data.refit_dataset(), paths.refit_data)
        with self._stage("write", f"writing plan, space and train.py ({config.writer} writer)"):
            artifacts = self._write(paths, data)
        with self._stage("verify", "verifying train.py in the sandbox"):
            default_seconds = self._verify(paths, data, artifacts)
        with self._stage("optimize"):
            optimization = self._optimize(paths, artifacts, default_seconds)
        with self._stage("refit", "refitting the best configurations on all non-test rows"):
            refit = self._refit(paths, data, optimization)
        with self._stage("evaluate", "scoring on the held-out test set"):
            test_metrics = self._evaluate(paths, data)
        _prune_trials(paths, optimization.trials)
        self.timings["total"] = round(time.perf_counter() - self._started, 3)
        result = self._result(paths, data, artifacts, optimization, refit, test_metrics)
        write_json(paths.result_json, result)
        return RunResult(paths, result)

    def _write(self, paths: RunPaths, data: PreparedData) -> Artifacts:
        """Ask the writer for the artifacts and store them."""
        artifacts = OfflineWriter().write(data.description, self.config)
        write_json(paths.plan_json, artifacts.plan.to_dict())
        artifacts.space.to_json(paths.space_json)
        write_json(paths.scenario_json, artifacts.scenario.to_dict())
        write_text(paths.train_py, artifacts.train_source)
        return artifacts

    def _limits(self, walltime: float | None = None) -> Limits:
        settings = self.config.scenario
        return Limits(
            walltime_s=walltime or settings.trial_walltime_limit,
            memory_mb=settings.trial_memory_limit_mb,
            n_jobs=self._n_jobs,
        )

    def _verify(self, paths: RunPaths, data: PreparedData, artifacts: Artifacts) -> float:
        """Run the verifier; a rejected train.py stops the run with its findings."""
        settings = artifacts.scenario
        n_classes = len(data.labels.classes) if data.labels else None
        smoke_seconds = min(max(SMOKE_SHARE * settings.walltime_limit, SMOKE_MIN_SECONDS), SMOKE_MAX_SECONDS)
        inputs = VerifyInputs(paths.train_py, paths.space_json, paths.search_data, data.search_dataset(), n_classes,
                              paths.verify_dir, artifacts.plan.min_budget, artifacts.plan.max_budget, smoke_seconds,
                              settings.extra_imports)  # fmt: skip
        isolation = self.isolation = sandbox.isolation_mode()
        self.progress.stage(f"sandbox: {isolation}")
        report = verify_train(inputs, artifacts.space, self.config.seed, self._limits(), isolation)
        write_json(paths.verify_json, report.to_dict())
        if not report.accepted:
            raise VerifyError(
                f"train.py from the {artifacts.writer} writer was rejected ({report.summary}): see {paths.verify_json}"
            )
        return report.seconds("default_configuration")

    def _optimize(self, paths: RunPaths, artifacts: Artifacts, default_seconds: float) -> OptimizationResult:
        """SMAC gets the time left before the deadline, minus a reserve for the refit."""
        settings = artifacts.scenario
        wanted = max(REFIT_RESERVE_FACTOR * ENSEMBLE_SIZE * default_seconds, REFIT_MIN_SHARE * settings.walltime_limit)
        reserve = min(max(wanted, 1.0), REFIT_RESERVE_SHARE * settings.walltime_limit)
        walltime = max(self._deadline - time.perf_counter() - reserve, 1.0)
        assert settings.crash_cost is not None
        scenario = build_scenario(
            artifacts.space, artifacts.plan, settings, paths.smac_dir, self.config.seed, walltime, settings.crash_cost
        )
        files = RunFiles(paths.train_py, paths.space_json, paths.search_data, paths.trials_dir)
        target = TrialTarget(files, self._limits(), deadline=time.time() + walltime)
        self.progress.stage(
            f"optimizing with SMAC ({artifacts.plan.facade}): up to {settings.n_trials} trials in {walltime:.0f} s"
        )
        self.progress.start_trials(settings.n_trials)
        try:
            optimization = run_smac(scenario, artifacts.plan, target, self.progress.trial_done)
        finally:
            self.progress.stop_trials()
        write_json(paths.root / "trials.json", [trial.__dict__ for trial in optimization.trials])
        if not any(trial.status == "success" for trial in optimization.trials):
            raise RunError(
                f"every one of {len(optimization.trials)} trials failed: see the logs in "
                f"{paths.trials_dir} and raise --walltime or the scenario's trial limits"
            )
        return optimization

    def _refit(self, paths: RunPaths, data: PreparedData, optimization: OptimizationResult) -> dict[str, Any]:
        """Refit the best few configurations on every non-test row, while time allows, as the ensemble.

        The incumbent is always refit; the others only before the run's deadline. If no refit
        succeeds, the incumbent's trial model (fitted without the validation rows) stands in.
        """
        members: list[dict[str, Any]] = []
        failures: list[str] = []
        seconds = 0.0
        for rank, trial in enumerate(_best_distinct(optimization.trials, ENSEMBLE_SIZE)):
            remaining = self._deadline - time.perf_counter()
            if rank > 0 and remaining < seconds / rank:  # the next member would likely end past the deadline
                break
            walltime = max(remaining, self.config.scenario.trial_walltime_limit) if rank == 0 else remaining
            member_dir = paths.members_dir / f"{rank:02d}"
            outcome = run_train(paths.train_py, paths.space_json, paths.refit_data, trial.config, self.config.seed,
                                None, member_dir, self._limits(walltime))  # fmt: skip
            seconds += outcome.wall_time
            if outcome.ok and (member_dir / "model.joblib").is_file():
                members.append({"dir": member_dir.name, "config": trial.config, "validation_loss": trial.cost})
            else:
                failures.append(f"{trial.model_dir}: {outcome.status}")
        status, message = "success", ""
        if not members:
            best = min(optimization.incumbent_trials, key=lambda t: t.cost)
            trial_model = paths.trials_dir / best.model_dir / "model.joblib"
            if not trial_model.is_file():
                raise RunError(f"every refit failed ({'; '.join(failures)}) and the incumbent's trial saved no "
                               f"model: see the trial.log files in {paths.members_dir}")  # fmt: skip
            (paths.members_dir / "00").mkdir(parents=True, exist_ok=True)
            shutil.copy2(trial_model, paths.members_dir / "00" / "model.joblib")
            members = [{"dir": "00", "config": best.config, "validation_loss": best.cost}]
            status = "fallback"
            message = f"refit failed; using the model of trial {best.model_dir}, fitted without the validation rows"
            logger.warning(message)
        elif failures:
            message = f"left out of the ensemble after a failed refit: {'; '.join(failures)}"
        card = ModelCard(data.task, data.target, data.schema, data.labels, optimization.incumbent, tuple(members))
        FittedModel.save_card(paths, card)
        return {"status": status, "message": message, "seconds": round(seconds, 3), "ensemble_size": len(members)}

    def _evaluate(self, paths: RunPaths, data: PreparedData) -> dict[str, float]:
        """Predict the test rows with the final ensemble (in the sandbox) and score them here."""
        model = FittedModel.load(paths.root)
        predictions = model.predict_features(data.X_test, self._limits())
        n_classes = len(data.labels.classes) if data.labels else None
        return score_predictions(data.task, data.y_test, predictions.values, predictions.proba, n_classes)

    def _result(
        self,
        paths: RunPaths,
        data: PreparedData,
        artifacts: Artifacts,
        optimization: OptimizationResult,
        refit: dict[str, Any],
        test_metrics: dict[str, float],
    ) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for trial in optimization.trials:
            statuses[trial.status] = statuses.get(trial.status, 0) + 1
        best = min(optimization.incumbent_trials, key=lambda t: t.cost, default=None)
        splits = data.description["splits"]
        return {
            "run_dir": str(paths.root),
            "dataset": {
                "source": self.config.data,
                "target": data.target,
                "task": data.task,
                "rows": {key: splits[key] for key in ("train", "validation", "test")},
                "test_source": splits["test_source"],
                "fingerprint": data.fingerprint,
            },
            "writer": artifacts.writer,
            "facade": artifacts.plan.facade,
            "n_trials": len(optimization.trials),
            "trial_statuses": statuses,
            "incumbent": optimization.incumbent,
            "loss": _loss_name(data.task),
            "validation_loss": optimization.incumbent_cost,
            "validation_metrics": best.metrics if best else {},
            "test_metrics": test_metrics,
            "refit": refit,
            "sandbox": self.isolation,
            "timings": self.timings,
        }


def _best_distinct(trials: tuple[TrialRecord, ...], count: int) -> list[TrialRecord]:
    """The ``count`` best successful trials with different configurations, best first."""
    chosen: list[TrialRecord] = []
    for trial in sorted((t for t in trials if t.status == "success"), key=lambda t: t.cost):
        if all(trial.config != other.config for other in chosen):
            chosen.append(trial)
        if len(chosen) == count:
            break
    return chosen


def _prune_trials(paths: RunPaths, trials: tuple[TrialRecord, ...]) -> None:
    """Keep the saved models of the best few trials; the rest keep their logs only."""
    ranked = sorted((t for t in trials if t.status == "success" and t.model_dir), key=lambda t: t.cost)
    keep = {trial.model_dir for trial in ranked[:KEEP_TRIAL_MODELS]}
    if not paths.trials_dir.is_dir():
        return
    for trial_dir in paths.trials_dir.iterdir():
        if trial_dir.name in keep or not trial_dir.is_dir():
            continue
        for item in trial_dir.iterdir():
            if item.name != "trial.log":
                shutil.rmtree(item) if item.is_dir() else item.unlink()


def run(config: RunConfig, progress: Progress | None = None, table: pd.DataFrame | None = None) -> RunResult:
    """Run the whole pipeline for ``config`` (see :class:`Runner`)."""
    return Runner(config, progress).run(table)
