"""The orchestrator: one call turns a dataset into a tuned, saved, honestly scored model.

Stages run in DESIGN.md's order (describe, plan and write, verify, optimize, evaluate, report),
each writing its artifact into the run directory before the next starts. The whole run keeps to the
scenario's wall-clock limit: the optimizer gets what is left after verification, minus a reserve
for the final refit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import pandas as pd
from ConfigSpace import ConfigurationSpace
from smac import Scenario

from automl import sandbox
from automl._io import read_json, write_json, write_text
from automl.config import OFFLINE, RunConfig, ScenarioSettings
from automl.data import PreparedData, prepare_dataset
from automl.data.dataset import prepare_table
from automl.errors import ConfigError, RunError, WriterError
from automl.evaluate import score_predictions
from automl.optimize.smac_run import OptimizationResult, TrialRecord, build_scenario, run_smac, saved_scenario
from automl.optimize.stopping import graceful_interrupts
from automl.optimize.target import RunFiles, TrialTarget
from automl.optimize.workers import dask_client
from automl.plan import Plan
from automl.predictor import FittedModel, ModelCard
from automl.repair import RepairLoop
from automl.report.progress import Progress, SilentProgress
from automl.rundir import RunPaths, create_run_dir, create_run_dir_parent
from automl.sandbox import Limits, ModelOutput, run_train
from automl.verify.space_check import check_space_code
from automl.verify.static import load_allowed_imports
from automl.verify.verifier import VerifyInputs, verify_train
from automl.versions import library_versions
from automl.writers import Artifacts, OfflineWriter, Writer
from automl.writers.base import DraftRejected, WriteContext
from automl.writers.scenario import settle_scenario
from automl.writers.space import load_space, save_space

if TYPE_CHECKING:
    from automl.llm.client import ModelClient

logger = logging.getLogger(__name__)

# How many of the best configurations are refit and averaged into the final model.
ENSEMBLE_SIZE = 5
# How many trials keep their saved model; the others keep only their log.
KEEP_TRIAL_MODELS = 3
# The refit gets this many times the default configuration's verify time per ensemble member, within bounds.
REFIT_RESERVE_FACTOR = 2.0
REFIT_RESERVE_SHARE = 0.25
REFIT_MIN_SHARE = 0.1
# Seconds kept back for closing a dask cluster after the search.
CLUSTER_CLOSE_SECONDS = 2.0
# The incumbent's refit may run this share of the walltime past the deadline at most (else its trial model serves).
REFIT_MIN_SECONDS_SHARE = 0.05
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


def _loss_name(task: str) -> str:
    return "log_loss" if task == "classification" else "rmse"


class Runner:
    """Runs the stages for one :class:`RunConfig`, timing each."""

    def __init__(self, config: RunConfig, progress: Progress | None = None, resume: bool = False) -> None:
        self.config = config
        self.resume = resume  # continue the interrupted run in config.out instead of starting one
        self.interrupted = False
        self.progress = progress or SilentProgress()
        self.timings: dict[str, float] = {}
        self._started = time.perf_counter()
        self._scenario = config.scenario
        self._clock_start = self._started  # the walltime counts from here (moved on --resume)
        self._model_wait: Callable[[], float] = lambda: 0.0
        self._n_jobs = 1
        self.isolation = ""
        self.fallback: dict[str, str] | None = None
        self.scenario_notes: list[str] = []
        self.repairs = 0

    @property
    def _deadline(self) -> float:
        """When the run must end: its walltime after the start, not counting time spent waiting on a model."""
        return self._clock_start + self._scenario.walltime_limit + self._model_wait()

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
            paths = self._resumed_dir(data) if self.resume else self._new_dir(data)
        if self.resume:
            artifacts, default_seconds = self._recorded_artifacts(paths)
        else:
            with self._stage("write"):
                artifacts, default_seconds = self._write(paths, data)
        with self._stage("optimize"):
            optimization = self._optimize(paths, data, artifacts, default_seconds)
        with self._stage("refit", "refitting the best configurations on all non-test rows"):
            refit = self._refit(paths, data, optimization)
        with self._stage("evaluate", "scoring on the held-out test set"):
            test_metrics, predictions = self._evaluate(paths, data)
        _prune_trials(paths, optimization.trials)
        self.timings["total"] = round(time.perf_counter() - self._started, 3)
        result = self._result(paths, data, artifacts, optimization, refit, test_metrics)
        write_json(paths.result_json, result)
        with self._stage("report", "writing report.html"):  # after the walltime: it only reads the run
            self._report(paths, data, predictions)
        write_json(paths.result_json, result)  # now with the report's time
        return RunResult(paths, result)

    def _new_dir(self, data: PreparedData) -> RunPaths:
        """A fresh run directory holding the request and the data train() will see."""
        config = self.config
        paths = create_run_dir(config.out, config.data)
        write_json(
            paths.run_json,
            {
                "arguments": config.to_dict(),
                "dataset_fingerprint": data.fingerprint,
                "writer": "llm" if config.uses_model else OFFLINE,
                "model": None if config.replay is not None or not config.uses_model else config.llm,
                "replay_of": str(config.replay) if config.replay is not None else None,
                "versions": library_versions(LIBRARIES),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
        )
        write_json(paths.dataset_json, data.description)
        paths.search_data.parent.mkdir(exist_ok=True)
        joblib.dump(data.search_dataset(), paths.search_data)
        joblib.dump(data.refit_dataset(), paths.refit_data)
        if config.cv:
            for fold, dataset in enumerate(data.fold_datasets(config.cv, config.seed)):
                joblib.dump(dataset, paths.fold_data(fold))
        return paths

    def _resumed_dir(self, data: PreparedData) -> RunPaths:
        """The interrupted run's directory, after checking the data is the same as when it started."""
        assert self.config.out is not None
        paths = RunPaths(Path(self.config.out).resolve())
        recorded = read_json(paths.run_json)
        if recorded.get("dataset_fingerprint") != data.fingerprint:
            raise ConfigError(f"--resume {paths.root}: the data in {self.config.data} changed since the run started "
                              "(its fingerprint differs): start a new run instead")  # fmt: skip
        recorded.setdefault("resumed", []).append(time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        write_json(paths.run_json, recorded)
        return paths

    def _recorded_artifacts(self, paths: RunPaths) -> tuple[Artifacts, float]:
        """The plan, space, scenario and verified train.py an interrupted run already settled."""
        report = read_json(paths.verify_json) if paths.verify_json.is_file() else {}
        if not report.get("accepted") or not paths.train_py.is_file():
            raise ConfigError(f"--resume {paths.root}: the run stopped before its train.py was verified, so there "
                              "is no search to continue: start a new run")  # fmt: skip
        plan = Plan.from_dict(read_json(paths.plan_json))
        scenario = ScenarioSettings(**read_json(paths.scenario_json))
        self._scenario = scenario
        self.isolation = report.get("isolation", "")
        default_seconds = next((c["seconds"] for c in report["checks"] if c["name"] == "default_configuration"), 0.0)
        writer = str(read_json(paths.run_json).get("writer") or OFFLINE)
        source = paths.train_py.read_text(encoding="utf-8")
        return Artifacts(writer, plan, load_space(paths.space_json), scenario, source), float(default_seconds)

    def _writer(self, paths: RunPaths) -> Writer:
        """The offline writer, or a model's: live through litellm, or replayed from a recorded run."""
        config = self.config
        if not config.uses_model:
            return OfflineWriter()
        from automl.llm.client import LiteLLMClient, ModelSettings
        from automl.llm.replay import ReplayClient
        from automl.writers.llm import LLMWriter

        if config.replay is not None:
            client: ModelClient = ReplayClient(RunPaths(Path(config.replay)).llm_dir, paths.llm_dir)
        else:
            settings = ModelSettings(config.llm, config.api_base, timeout_s=config.llm_timeout)
            client = LiteLLMClient(settings, paths.llm_dir)
        self._model_wait = lambda: client.waited_seconds
        return LLMWriter(client)

    def _write(self, paths: RunPaths, data: PreparedData) -> tuple[Artifacts, float]:
        """Settle every artifact with the chosen writer, or the offline one when that fails and --fallback says so.

        Returns the artifacts and how long train() took on the default configuration.
        """
        try:
            writer = self._writer(paths)
            self.progress.stage(f"writing plan, space and train.py ({writer.name} writer)")
            return self._settle(writer, paths, data)
        except WriterError as error:
            if self.config.fallback != OFFLINE or not self.config.uses_model:
                raise
            self.fallback = {"from": f"llm:{self.config.llm}", "reason": str(error)}
            logger.warning("falling back to the offline writer: %s", error)
            self.progress.stage(f"falling back to the offline writer ({error})")
            return self._settle(OfflineWriter(), paths, data)

    def _settle(self, writer: Writer, paths: RunPaths, data: PreparedData) -> tuple[Artifacts, float]:
        """Plan, space, scenario, train.py in order, each checked and repaired before the next is asked for."""
        config = self.config
        attempts = config.attempts if writer.repairs else 1
        loop = RepairLoop(writer.name, attempts, paths.attempts_dir, self.progress.stage)
        allowed = load_allowed_imports(config.scenario.extra_imports)
        context = WriteContext(data.description, config, allowed_imports=allowed)

        plan = loop.settle("plan", lambda feedback: writer.plan(context, feedback), lambda draft: draft)
        write_json(paths.plan_json, plan.to_dict())
        context = context.settled(plan=plan)

        if config.space is not None:
            space = load_space(config.space)
        else:
            space = loop.settle("space", lambda feedback: writer.space(context, feedback),
                                lambda draft: self._judge_space(paths, draft))  # fmt: skip
        save_space(space, paths.space_json)
        context = context.settled(space=space)

        proposal = loop.settle("scenario", lambda feedback: writer.scenario(context, feedback), lambda draft: draft)
        scenario, self.scenario_notes = settle_scenario(proposal, config.scenario, data.description)
        for note in self.scenario_notes:
            self.progress.stage(f"scenario: {note}")
        write_json(paths.scenario_json, scenario.to_dict())
        self._scenario = scenario
        context = context.settled(scenario=scenario)

        self.isolation = sandbox.isolation_mode()
        self.progress.stage(f"sandbox: {self.isolation}")
        plan_and_space = Artifacts(writer.name, plan, space, scenario, "")
        default_seconds = loop.settle(
            "train",
            lambda feedback: writer.train(context, feedback),
            lambda source: self._judge_train(paths, data, plan_and_space, source),
            hint=f" and {paths.verify_json}",
        )
        self.repairs = loop.rejected
        source = paths.train_py.read_text(encoding="utf-8")
        return Artifacts(writer.name, plan, space, scenario, source), default_seconds

    def _limits(self, walltime: float | None = None) -> Limits:
        """One sandbox job's limits under the run's scenario (the settled one, once there is one)."""
        settings = self._scenario
        return Limits(
            walltime_s=walltime or settings.trial_walltime_limit,
            memory_mb=settings.trial_memory_limit_mb,
            n_jobs=self._n_jobs,
        )

    def _judge_space(self, paths: RunPaths, draft: str | ConfigurationSpace) -> ConfigurationSpace:
        """A space made without code stands; generated code is checked and run in the sandbox."""
        if isinstance(draft, ConfigurationSpace):
            return draft
        self.progress.stage("building the config space in the sandbox")
        code_path = paths.drafts_dir / paths.space_py.name
        write_text(code_path, draft)
        shutil.rmtree(paths.drafts_dir / "space", ignore_errors=True)
        checked = check_space_code(code_path, paths.drafts_dir / "space",
                                   self.config.scenario.trial_memory_limit_mb, self.config.seed)  # fmt: skip
        if checked.space is None or checked.errors:
            raise DraftRejected(draft, list(checked.errors))
        os.replace(code_path, paths.space_py)
        return checked.space

    def _judge_train(self, paths: RunPaths, data: PreparedData, artifacts: Artifacts, source: str) -> float:
        """Verify a train.py draft in the sandbox; it becomes train.py only once accepted.

        Returns how long the default configuration took (it sizes the refit's reserve).
        """
        self.progress.stage("verifying train.py in the sandbox")
        settings = artifacts.scenario
        draft_path = paths.drafts_dir / paths.train_py.name
        write_text(draft_path, source)
        shutil.rmtree(paths.verify_dir, ignore_errors=True)
        n_classes = len(data.labels.classes) if data.labels else None
        smoke_seconds = min(max(SMOKE_SHARE * settings.walltime_limit, SMOKE_MIN_SECONDS), SMOKE_MAX_SECONDS)
        inputs = VerifyInputs(draft_path, paths.space_json, paths.search_data, data.search_dataset(), n_classes,
                              paths.verify_dir, artifacts.plan.min_budget, artifacts.plan.max_budget, smoke_seconds,
                              settings.extra_imports)  # fmt: skip
        report = verify_train(inputs, artifacts.space, self.config.seed, self._limits(), self.isolation)
        write_json(paths.verify_json, report.to_dict())
        if not report.accepted:
            raise DraftRejected(source, report.errors)
        os.replace(draft_path, paths.train_py)
        shutil.rmtree(paths.drafts_dir, ignore_errors=True)
        return report.seconds("default_configuration")

    def _optimize(
        self, paths: RunPaths, data: PreparedData, artifacts: Artifacts, default_seconds: float
    ) -> OptimizationResult:
        """SMAC gets the time left before the deadline, minus a reserve for the refit.

        The time is measured once the workers are up, so starting a cluster does not eat into the run's end.
        """
        settings, plan, config = artifacts.scenario, artifacts.plan, self.config
        wanted = max(REFIT_RESERVE_FACTOR * ENSEMBLE_SIZE * default_seconds, REFIT_MIN_SHARE * settings.walltime_limit)
        reserve = min(max(wanted, 1.0), REFIT_RESERVE_SHARE * settings.walltime_limit)
        where = f"{config.workers} dask workers" if config.workers > 1 else config.dask_scheduler or ""
        if where:
            self.progress.stage(f"starting {where}")
        self.progress.start_trials(settings.n_trials)
        try:
            with dask_client(config.workers, config.dask_scheduler, paths.root / ".dask", paths.trials_dir) as client, \
                    graceful_interrupts(self.progress.stage) as stop:  # fmt: skip
                closing = CLUSTER_CLOSE_SECONDS if client is not None else 0.0
                scenario, walltime = self._smac_scenario(paths, artifacts, reserve + closing)
                files = RunFiles(paths.train_py, paths.space_json, paths.search_data, paths.trials_dir)
                warm_start = plan.budget_kind is not None and plan.budget_kind != "data_fraction"
                target = TrialTarget(files, self._limits(), deadline=time.time() + walltime, warm_start=warm_start)
                self.progress.stage(f"optimizing with SMAC ({plan.facade}{', ' + where if where else ''}): "
                                    f"up to {settings.n_trials} trials in {walltime:.0f} s")  # fmt: skip
                optimization = run_smac(scenario, plan, target, self.progress.trial_done, dask_client=client,
                                        resume=self.resume, should_stop=stop)  # fmt: skip
                self.interrupted = stop.requested
        finally:
            self.progress.stop_trials()
        write_json(paths.root / "trials.json", [asdict(trial) for trial in optimization.trials])
        if not any(trial.status == "success" for trial in optimization.trials):
            raise RunError(
                f"every one of {len(optimization.trials)} trials failed: see the logs in "
                f"{paths.trials_dir} and raise --walltime or the scenario's trial limits"
            )
        return optimization

    def _smac_scenario(self, paths: RunPaths, artifacts: Artifacts, reserve: float) -> tuple[Scenario, float]:
        """SMAC's scenario and its walltime: what is left before the deadline, or (resuming) what SMAC had left."""
        settings, config = artifacts.scenario, self.config
        scenario = saved_scenario(paths.smac_dir, config.seed) if self.resume else None
        if scenario is not None:
            used = read_json(Path(scenario.output_directory) / "optimization.json").get("used_walltime", 0.0)
            walltime = max(scenario.walltime_limit - float(used), 1.0)
            # ... and the run's deadline moves to now + that time + the refit's reserve.
            self._clock_start = time.perf_counter() - (settings.walltime_limit - walltime - reserve)
            return scenario, walltime
        walltime = max(self._deadline - time.perf_counter() - reserve, 1.0)
        folds = [paths.fold_data(fold).stem for fold in range(config.cv)] if config.cv else None
        scenario = build_scenario(artifacts.space, artifacts.plan, settings, paths.smac_dir, config.seed, walltime,
                                  settings.crash_cost, folds)  # fmt: skip
        return scenario, walltime

    def _refit(self, paths: RunPaths, data: PreparedData, optimization: OptimizationResult) -> dict[str, Any]:
        """Refit the best few configurations on every non-test row, while time allows, as the ensemble.

        The incumbent is always refit; the others only before the run's deadline. If no refit
        succeeds, the incumbent's trial model (fitted without the validation rows) stands in.
        """
        members: list[dict[str, Any]] = []
        failures: list[str] = []
        seconds = 0.0
        for rank, trial in enumerate(ranked_configurations(optimization.trials)[:ENSEMBLE_SIZE]):
            remaining = self._deadline - time.perf_counter()
            if rank > 0 and remaining < seconds / rank:  # the next member would likely end past the deadline
                break
            # The incumbent always gets a short minimum: if even that fails, its trial model stands in.
            floor = max(REFIT_MIN_SECONDS_SHARE * self._scenario.walltime_limit, 1.0)
            walltime = max(remaining, floor) if rank == 0 else remaining
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
            saved = [t for t in optimization.incumbent_trials if t.status == "success" and t.model_dir]
            best = min(saved or optimization.incumbent_trials, key=lambda t: (-(t.budget or 0.0), t.cost))
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

    def _evaluate(self, paths: RunPaths, data: PreparedData) -> tuple[dict[str, float], ModelOutput]:
        """Predict the test rows with the final ensemble (in the sandbox) and score them here."""
        model = FittedModel.load(paths.root)
        predictions = model.predict_features(data.X_test, self._limits())
        n_classes = len(data.labels.classes) if data.labels else None
        metrics = score_predictions(data.task, data.y_test, predictions.values, predictions.proba, n_classes)
        return metrics, predictions

    def _report(self, paths: RunPaths, data: PreparedData, predictions: ModelOutput) -> None:
        """report.html and plots/; the run's results are already saved, so a failure here only warns."""
        from automl.report.html import TestEvaluation, write_report  # matplotlib loads only now

        try:
            write_report(paths.root, TestEvaluation.from_predictions(data, predictions))
        except Exception as error:  # a broken plot must not cost a finished run; the user can retry
            logger.warning("report.html was not written (%s: %s): run 'automl report %s' to retry",
                           type(error).__name__, error, paths.root)  # fmt: skip

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
        best = min(optimization.incumbent_trials, key=lambda t: (-(t.budget or 0.0), t.cost), default=None)
        budgets = sorted({trial.budget for trial in optimization.trials if trial.budget is not None})
        top_budget = max((t.budget or 0.0 for t in optimization.incumbent_trials), default=0.0)
        folds = {t.instance for t in optimization.incumbent_trials if t.instance and (t.budget or 0.0) == top_budget}
        plan = artifacts.plan
        budget = {"kind": plan.budget_kind, "min": plan.min_budget, "max": plan.max_budget, "seen": budgets}
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
            "fallback": self.fallback,
            "rejected_drafts": self.repairs,
            "scenario_notes": self.scenario_notes,
            "llm": _model_usage(paths.llm_dir),
            "facade": artifacts.plan.facade,
            "budget": budget if plan.budget_kind is not None else None,
            "cv_folds": self.config.cv,
            "incumbent_folds": len(folds) if self.config.cv else None,
            "workers": self.config.dask_scheduler or self.config.workers,
            "interrupted": self.interrupted,
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


def _model_usage(llm_dir: Path) -> dict[str, Any] | None:
    """Calls, tokens and cost of the model calls recorded in ``llm/`` (None when no model was asked)."""
    records = [read_json(path) for path in sorted(llm_dir.glob("*.json"))] if llm_dir.is_dir() else []
    if not records:
        return None
    costs = [record.get("cost_usd") for record in records]
    return {
        "model": records[0].get("model"),
        "calls": len(records),
        "tokens": sum((record.get("tokens") or {}).get("total") or 0 for record in records),
        "cost_usd": round(sum(costs), 6) if all(isinstance(cost, int | float) for cost in costs) else None,
        "waited_s": round(sum(record.get("waited_s") or 0.0 for record in records), 3),
        "replayed": any(record.get("replayed_from") for record in records),
    }


def ranked_configurations(trials: tuple[TrialRecord, ...]) -> list[TrialRecord]:
    """One entry per successful configuration, best first: judged at the highest budget it reached,
    by its mean cost over the folds it ran there (the entry's ``cost``).

    A configuration that reached a higher budget ranks above every one that did not, as successive
    halving promoted it; within a budget, lower mean cost ranks first.
    """
    groups: dict[str, list[TrialRecord]] = {}
    for trial in trials:
        if trial.status == "success":
            groups.setdefault(json.dumps(trial.config, sort_keys=True, default=str), []).append(trial)
    ranked = []
    for group in groups.values():
        top = max(trial.budget or 0.0 for trial in group)
        at_top = [trial for trial in group if (trial.budget or 0.0) == top]
        ranked.append(replace(at_top[0], cost=sum(trial.cost for trial in at_top) / len(at_top)))
    return sorted(ranked, key=lambda trial: (-(trial.budget or 0.0), trial.cost))


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


def run(
    config: RunConfig, progress: Progress | None = None, table: pd.DataFrame | None = None, resume: bool = False
) -> RunResult:
    """Run the whole pipeline for ``config`` (see :class:`Runner`); ``resume`` continues the run in ``config.out``."""
    return Runner(config, progress, resume).run(table)
