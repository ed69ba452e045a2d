"""The benchmark protocol: same split, same budget, same cores for every framework; every result stored.

For each dataset and seed the table is split once (25 % test, stratified for classification,
seeded), and every framework fits on the same training rows and predicts the same test rows. The
harness alone holds the test labels and scores every framework with the same function. A framework
that raises, or returns predictions that cannot be scored, is scored as the constant predictor and
counted as failed, as in the AutoML Benchmark: a failure then costs what knowing nothing costs.
Frameworks run in this process, one after another, so they never compete for the cores; one that
runs far past its budget is kept but flagged. With lanes (:mod:`automl.bench.lanes`) several runs
go side by side, each in its own process on its own CPUs.

A model-written run (``llm:MODEL``) keeps its model calls with its row. A bench given ``replay`` (another
bench's database) answers each such run from the calls stored there for the same (suite, dataset,
framework, seed, budget), with no server and no key; with a trial cap (``trials``) it gives the same rows.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from automl.bench import frameworks as registry
from automl.bench.frameworks import FrameworkUnavailable, ModelAccess, Outcome, Task
from automl.bench.metrics import MAIN_METRIC, Predictions, check_predictions, constant_predictions, problem_kind, score
from automl.bench.store import ResultStore
from automl.bench.suites import TENSOR, Dataset, load_suite, select_datasets
from automl.errors import ConfigError
from automl.llm.records import write_record
from automl.result import ModelUsage
from automl.versions import library_versions

TEST_SHARE = 0.25
# A framework taking longer than this (budget × factor + slack) is recorded but flagged.
OVER_BUDGET_FACTOR = 2.0
OVER_BUDGET_SLACK = 30.0
# Error texts are kept this long (the end of a traceback says what failed).
ERROR_CHARS = 2000
VERSIONED = ("automl", "smac", "scikit-learn", "flaml", "lightgbm", "xgboost", "numpy", "pandas")

Progress = Callable[[str], None]


def versions() -> dict[str, str]:
    """Library versions recorded with every row, so a result can be traced to what produced it."""
    return library_versions(VERSIONED)


def split(dataset: Dataset, seed: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
    """The held-out split of ``dataset`` for ``seed``: identical for every framework and every call.

    A tensor dataset's split is of its arrays (X ``(N, C, H, W)``), its labels kept in their own dtype so they
    can be written to ``.npz`` without pickle.
    """
    X: Any
    if dataset.modality == TENSOR:
        X, y = dataset.arrays()
    else:
        frame, target = dataset.load()
        frame = frame[frame[target].notna()].reset_index(drop=True)
        X = frame.drop(columns=[target])
        y = frame[target].to_numpy(dtype=object if dataset.task == "classification" else np.float64)
    stratify = y if dataset.task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SHARE, random_state=seed, stratify=stratify
    )
    if dataset.modality == TENSOR:
        return X_train, X_test, y_train, y_test
    return X_train.reset_index(drop=True), X_test.reset_index(drop=True), y_train, y_test


def _key(suite: str, dataset: str, framework: str, seed: int, budget: float) -> dict[str, Any]:
    return {"suite": suite, "dataset": dataset, "framework": framework, "seed": seed, "budget": float(budget)}


def run_one(framework: str, task: Task, y_test: np.ndarray) -> dict[str, Any]:
    """Fit, predict and score one framework; never raises for the framework's own failures."""
    n_test = len(task.X_test)
    status, error, info = "ok", "", {}
    fit_seconds: float | None = None
    llm: ModelUsage | None = None
    calls: dict[str, dict[str, Any]] | None = None
    waited = 0.0
    started = time.perf_counter()
    try:
        outcome: Outcome = registry.framework(framework)(task)
        info, llm, calls, waited = outcome.info, outcome.llm, outcome.model_calls, outcome.waited_s
        fit_seconds = outcome.fit_seconds - waited
        check_predictions(task.task, outcome.predictions, _classes(task), n_test)
        predictions: Predictions | None = outcome.predictions
    except FrameworkUnavailable as unavailable:
        status, error, predictions = "unavailable", str(unavailable), None
    except Exception as failure:  # a framework's bug or limit is a result to record, not a crash
        status, predictions = "failed", None
        error = "".join(traceback.format_exception(failure))[-ERROR_CHARS:]
    seconds = time.perf_counter() - started - waited
    row = _result(task, y_test, status, error, info, fit_seconds, seconds, predictions, llm)
    return {**row, "model_calls": calls} if calls else row


def failed_row(task: Task, y_test: np.ndarray, error: str, seconds: float) -> dict[str, Any]:
    """The row of a run that ended without a result (its process died): failed, the constant predictor scored."""
    return _result(task, y_test, "failed", error[-ERROR_CHARS:], {}, None, seconds, None, None)


def _classes(task: Task) -> np.ndarray:
    return task.classes if task.task == "classification" else np.asarray([])


def _result(
    task: Task,
    y_test: np.ndarray,
    status: str,
    error: str,
    info: dict[str, Any],
    fit_seconds: float | None,
    seconds: float,
    predictions: Predictions | None,
    llm: ModelUsage | None,
) -> dict[str, Any]:
    """The stored row of one run: timings, status, the model's usage (None without a model), and the scores
    (the constant predictor's for a failure)."""
    classes = _classes(task)
    kind = problem_kind(task.task, len(classes))
    n_test = len(task.X_test)
    row: dict[str, Any] = {
        "task": task.task,
        "main_metric": MAIN_METRIC[kind],
        "status": status,
        "seconds": round(fit_seconds if fit_seconds is not None else seconds, 3),
        "predict_seconds": round(seconds - fit_seconds, 3) if fit_seconds is not None else None,
        "over_budget": int(seconds > OVER_BUDGET_FACTOR * task.budget_seconds + OVER_BUDGET_SLACK),
        "cores": task.cores,
        "trials": task.trials,
        "n_train": len(task.X_train),
        "n_test": n_test,
        "error": error,
        "info": info,
        "llm_calls": llm.calls if llm else None,
        "llm_tokens": llm.tokens if llm else None,
        "llm_cost_usd": llm.cost_usd if llm else None,
    }
    if status == "unavailable":
        return row
    if predictions is None:
        predictions = constant_predictions(task.task, task.y_train, classes, n_test)
    metrics = score(task.task, y_test, predictions, classes)
    row.update({name: metrics.get(name) for name in ("roc_auc", "log_loss", "rmse", "accuracy", "r2")})
    row.update({"metrics": metrics, "main_value": metrics[MAIN_METRIC[kind]]})
    return row


def describe(row: dict[str, Any]) -> str:
    if row["status"] == "unavailable":
        return f"unavailable ({row['error']})"
    text = f"{row['status']} {row['main_metric']}={row['main_value']:.4f} in {row['seconds']:.0f} s"
    if row["status"] == "failed":
        text += f" (constant predictor imputed: {row['error'].strip().splitlines()[-1]})"
    return text + (" [over budget]" if row["over_budget"] else "")


def run_bench(
    suite: str,
    budget: float,
    seeds: int,
    frameworks: list[str],
    db: Path,
    cores: int,
    work_dir: Path | None = None,
    progress: Progress | None = None,
    lanes: int = 1,
    datasets: list[str] | None = None,
    trials: int | None = None,
    model_access: ModelAccess | None = None,
    replay: Path | None = None,
) -> list[dict[str, Any]]:
    """Run every (dataset, seed, framework) of ``suite`` not yet in ``db``; return all their rows.

    ``suite`` is a built-in suite's name or a folder holding ``suite.yaml`` (see :func:`load_suite`); rows
    are stored under the suite's name.

    Seeds are 0..seeds-1. Rows already final in the database are not rerun (their returned dict has
    ``reused=True``), so an interrupted benchmark continues and a new framework or seed adds only
    its own runs. ``work_dir`` keeps the frameworks' scratch files (automl's run directories);
    without it they go to a temporary folder that is removed after each run. With ``lanes`` above 1,
    that many runs go side by side, each in its own process on its own ``cores`` CPUs
    (see :mod:`automl.bench.lanes`); the rows are the same, returned in the same order. ``datasets``
    keeps only the suite's datasets it names (e.g. the largest ones for a longer budget).

    ``trials`` caps each automl run's trials (its budget still bounds it): a capped run is repeatable, so a
    bench replayed from its model calls gives the same rows. ``model_access`` tells the ``llm:`` frameworks
    where their model is; ``replay`` is a bench database whose stored model calls answer them instead.
    """
    loaded = load_suite(suite)
    chosen = select_datasets(loaded.datasets, datasets)
    names = registry.check_frameworks(frameworks)
    if not (isinstance(seeds, int) and seeds >= 1):
        raise ConfigError(f"--seeds must be a whole number of at least 1, got {seeds!r}")
    if not budget > 0:
        raise ConfigError(f"--budget must be a number of seconds greater than 0, got {budget!r}")
    if not (isinstance(cores, int) and cores >= 1):
        raise ConfigError(f"--cores must be a whole number of at least 1, got {cores!r}")
    if not (isinstance(lanes, int) and lanes >= 1):
        raise ConfigError(f"--lanes must be a whole number of at least 1, got {lanes!r}")
    if trials is not None and not (isinstance(trials, int) and trials >= 1):
        raise ConfigError(f"--trials must be a whole number of at least 1, got {trials!r}")
    if lanes > 1:
        from automl.bench.lanes import lane_cpus

        cpus = lane_cpus(lanes, cores)  # before anything is written: a wrong count is a one-line error
    calls_source = replay_source(replay, db)
    store = ResultStore(db)
    check_trials(store, loaded.name, budget, trials)
    say = progress or (lambda message: None)
    if work_dir is None:
        scratch = process_scratch()
    else:
        scratch = work_dir.resolve()
        scratch.mkdir(parents=True, exist_ok=True)
    plan = Plan(loaded.name, loaded.source, chosen, seeds, names, budget, cores, scratch, keep=work_dir is not None,
                trials=trials, model_access=model_access or ModelAccess(),
                replay=calls_source)  # fmt: skip
    plan.check_replay(store)
    if lanes > 1:
        from automl.bench.lanes import run_in_lanes

        return run_in_lanes(plan, store, db.name, say, cpus)
    with cpu_fence(cores):
        return plan.run(store, db.name, say)


def run_job(
    source: str,
    dataset: str,
    seed: int,
    framework: str,
    budget: float,
    cores: int,
    scratch: str,
    tag: str,
    trials: int | None = None,
    api_base: str | None = None,
    llm_timeout: float = ModelAccess.timeout,
    replay: str | None = None,
) -> dict[str, Any]:
    """One run from its plain description (what a lane's process is handed): split, fit, score."""
    chosen = {candidate.name: candidate for candidate in load_suite(source).datasets}[dataset]
    X_train, X_test, y_train, y_test = split(chosen, seed)
    task = Task(X_train, y_train, X_test, chosen.task, budget, seed, cores, Path(scratch), tag, trials,
                ModelAccess(api_base, llm_timeout), Path(replay) if replay else None)  # fmt: skip
    return run_one(framework, task, y_test)


def check_trials(store: ResultStore, suite: str, budget: float, trials: int | None) -> None:
    """Refuse to mix trial-capped and uncapped (or differently capped) rows of one suite and budget: ranks
    over such rows would compare runs that were given different limits."""
    held = {row["trials"] for row in store.rows(suite, budget)}
    if held and held != {trials}:
        stored = ", ".join(_trial_cap(cap) for cap in sorted(held, key=str))
        raise ConfigError(f"{store.path} holds {suite} at {budget:g} s with {stored}; this bench asks for "
                          f"{_trial_cap(trials)}: keep the same --trials or use another --db")  # fmt: skip


def _trial_cap(trials: int | None) -> str:
    return "no trial cap" if trials is None else f"--trials {trials}"


def replay_source(replay: Path | None, db: Path) -> ResultStore | None:
    """The database whose model calls answer a replayed bench (it must exist and differ from ``db``)."""
    if replay is None:
        return None
    if not Path(replay).is_file():
        raise ConfigError(f"--replay {replay}: no such benchmark database: give the --db of the bench to replay")
    if Path(db).exists() and Path(replay).resolve() == Path(db).resolve():
        raise ConfigError(f"--replay {replay} is also the --db: its rows are already there, so nothing would run; "
                          "write the replayed bench to another --db")  # fmt: skip
    return ResultStore(Path(replay))


@contextlib.contextmanager
def cpu_fence(cores: int) -> Iterator[None]:
    """Keep this process, and every thread and process it starts, on ``cores`` CPUs.

    ``n_jobs`` is a request each framework may read its own way (automl sizes its trials by the
    machine's core count); CPU affinity holds all of them, and their children, to the same cores.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    allowed = sorted(os.sched_getaffinity(0))
    if cores >= len(allowed):
        yield
        return
    os.sched_setaffinity(0, allowed[:cores])
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


_scratch: Path | None = None


def process_scratch() -> Path:
    """One temporary folder for every benchmark of this process, removed at exit.

    automl's sandbox keeps every folder it has bound for the life of its fork server; a folder
    removed while bound would make the next server start fail, so the folder lives as long as it.
    """
    global _scratch
    if _scratch is None or not _scratch.is_dir():
        _scratch = Path(tempfile.mkdtemp(prefix="automl-bench-"))
        atexit.register(shutil.rmtree, _scratch, True)
    return _scratch


@dataclass(frozen=True)
class Job:
    """One (dataset, seed, framework) of a plan, with its place in the plan's order (0-based)."""

    index: int
    dataset: Dataset
    seed: int
    framework: str


@dataclass(frozen=True)
class Plan:
    """One benchmark invocation: what to run and where frameworks may write."""

    suite: str  # the name rows are stored under
    source: str  # what load_suite reads the suite from (a lane's process loads it again)
    datasets: tuple[Dataset, ...]
    seeds: int
    frameworks: list[str]
    budget: float
    cores: int
    scratch: Path
    keep: bool
    trials: int | None = None
    model_access: ModelAccess = field(default_factory=ModelAccess)
    replay: ResultStore | None = None

    def jobs(self) -> list[Job]:
        """Every combination, datasets outermost, then seeds, then frameworks."""
        combos = [(dataset, seed, name) for dataset in self.datasets for seed in range(self.seeds)
                  for name in self.frameworks]  # fmt: skip
        return [Job(index, *combo) for index, combo in enumerate(combos)]

    def where(self, job: Job, total: int) -> str:
        return f"[{job.index + 1}/{total}] {self.suite}/{job.dataset.name} seed {job.seed} {job.framework}"

    def tag(self, job: Job, stamp: str) -> str:
        """The prefix of every scratch name the run writes (the harness removes them afterwards); a model's name
        (``llm:openai/gpt-4o``) is made a plain file name, so the run's files stay flat in the scratch folder."""
        return f"{job.dataset.name}-s{job.seed}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', job.framework)}-{stamp}"

    def task(self, job: Job, data: tuple[Any, Any, np.ndarray, np.ndarray], tag: str, replay: Path | None) -> Task:
        """What the job's framework is given: the split, the limits, and (replaying) its recorded model calls."""
        X_train, X_test, y_train, _ = data
        return Task(X_train, y_train, X_test, job.dataset.task, self.budget, job.seed, self.cores, self.scratch, tag,
                    self.trials, self.model_access, replay)  # fmt: skip

    def replay_dir(self, job: Job, tag: str) -> Path | None:
        """For a replayed model-written job: a run directory holding its stored calls in ``llm/`` (the shape
        ``automl run --replay`` reads), written into the job's scratch names so it is removed with them."""
        if self.replay is None or not registry.uses_model(job.framework):
            return None
        root = self.scratch / f"{tag}-replay"
        for name, record in self.recorded(job).items():
            write_record(root / "llm" / name, record)
        return root

    def recorded(self, job: Job) -> dict[str, dict[str, Any]]:
        assert self.replay is not None
        return self.replay.calls(self.suite, job.dataset.name, job.framework, job.seed, self.budget)

    def check_replay(self, store: ResultStore) -> None:
        """Before anything runs: every model-written job still to run has its calls in the replayed database."""
        if self.replay is None:
            return
        for job in self.jobs():
            if registry.uses_model(job.framework) and not self.is_done(store, job) and not self.recorded(job):
                raise ConfigError(
                    f"--replay {self.replay.path} has no model calls for {job.framework} on {self.suite}/"
                    f"{job.dataset.name} seed {job.seed} at {self.budget:g} s: replay a bench run with the same "
                    "--suite, --budget, --seeds and --frameworks, or drop that framework"
                )

    def is_done(self, store: ResultStore, job: Job) -> bool:
        return store.is_done(self.suite, job.dataset.name, job.framework, job.seed, self.budget)

    def reuse(self, store: ResultStore, job: Job) -> dict[str, Any]:
        row = store.get(self.suite, job.dataset.name, job.framework, job.seed, self.budget) or {}
        return {**row, "reused": True}

    def finish(self, store: ResultStore, job: Job, row: dict[str, Any], library_versions: dict) -> dict[str, Any]:
        """Key, versions and time stamp added, the row stored (committed at once) and read back."""
        row.update(_key(self.suite, job.dataset.name, job.framework, job.seed, self.budget))
        row.update({"versions": library_versions, "timestamp": datetime.now(UTC).isoformat(timespec="seconds")})
        store.put(row)
        stored = store.get(self.suite, job.dataset.name, job.framework, job.seed, self.budget)
        return {**(stored or row), "reused": False}

    def run(self, store: ResultStore, db_name: str, say: Progress) -> list[dict[str, Any]]:
        """Every combination in order, in this process, skipping final rows; each new row stored at once."""
        jobs, rows = self.jobs(), []
        library_versions = versions()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        data: dict[tuple[str, int], tuple[Any, Any, np.ndarray, np.ndarray]] = {}
        for job in jobs:
            where = self.where(job, len(jobs))
            if self.is_done(store, job):
                rows.append(self.reuse(store, job))
                say(f"{where}: already in {db_name}, skipped")
                continue
            if (job.dataset.name, job.seed) not in data:  # one split per dataset and seed, the last one kept
                data = {(job.dataset.name, job.seed): split(job.dataset, job.seed)}
            held = data[(job.dataset.name, job.seed)]
            say(f"{where}: running ({self.budget:g} s budget, {self.cores} cores)")
            tag = self.tag(job, stamp)
            try:
                row = run_one(job.framework, self.task(job, held, tag, self.replay_dir(job, tag)), y_test=held[3])
            finally:
                if not self.keep:
                    remove_tagged(self.scratch, tag)
            rows.append(self.finish(store, job, row, library_versions))
            say(f"{where}: {describe(row)}")
        return rows


def remove_tagged(scratch: Path, tag: str) -> None:
    """Remove what one framework run wrote (its names start with its tag); the shared folder stays."""
    for path in scratch.glob(f"{tag}*"):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
