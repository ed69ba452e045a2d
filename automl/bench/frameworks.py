"""The contestants: each turns (training rows, test features, budget, seed, cores) into test predictions.

Every framework sees the same raw table (string categoricals and missing values included) and may
only adapt it to what its API needs; the harness, not the framework, holds the test labels. On a tensor
suite (``images``) automl gets the arrays, and the table frameworks their values flattened into columns.

- ``automl``: this project's runner with the offline writer and SMAC's default facade choice, told the
  benchmark's main metric (``--metric``), as FLAML is.
- ``random``: the same runner with ``facade="random"``, i.e. random search over the same space: what
  SMAC's model adds.
- ``automl_2rounds``: the same runner in two rounds (``--rounds 2``): halfway, the offline writer's
  revision narrows the space to the families that did best, and round 2 continues from round 1's trials.
- ``llm:MODEL``: the same runner with a language model writing the plan, space and train.py (``--llm
  MODEL``, any litellm model string, reached through the bench's ``--api-base``). Its model calls are
  kept with the row, so a bench replays them offline (``automl bench --replay DB``).
- ``default``: scikit-learn's HistGradientBoosting with its defaults: a strong, search-free bar.
- ``flaml``: FLAML's AutoML, a fast, widely used AutoML library (optional extra ``bench``).
- ``autogluon`` / ``autogluon_best``: AutoGluon's TabularPredictor with its ``medium_quality`` (its
  default) or ``best_quality`` presets (optional extra ``bench``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.bench.metrics import BINARY, MAIN_METRIC, MULTICLASS, REGRESSION, Predictions
from automl.config import OFFLINE
from automl.data import label_key
from automl.errors import ConfigError
from automl.llm.records import RECORD_NAME
from automl.result import ModelUsage

# Without the bench's --trials, automl's run is bounded by its walltime; this trial cap is never the limit
# (SMAC's initial design is capped separately, see automl.optimize.smac_run.INITIAL_DESIGN_MAX).
AUTOML_TRIALS = 10_000
# ``llm:MODEL`` names a model-written automl run (the model: a litellm model string).
MODEL_PREFIX = "llm:"
# The runner needs a test file with a target column; a few placeholder rows are enough, because the
# benchmark predicts the real test rows itself and never hands automl their labels.
PLACEHOLDER_TEST_ROWS = 20
TORCH_MISSING = "automl's networks for tensor data need PyTorch: pip install -e '.[torch]'"
FLAML_MISSING = "flaml is not installed: pip install -e '.[bench]'"
# FLAML's names for the main metrics are automl's (``--metric``) too.
FLAML_METRIC = MAIN_METRIC
AUTOGLUON_MISSING = (
    "autogluon is not installed: pip install -e '.[autogluon]' (in a venv of its own: it pins pandas below 2.4)"
)
# AutoGluon's names for the main metrics; its problem types are named as ours (binary, multiclass, regression).
AUTOGLUON_METRIC = {BINARY: "roc_auc", MULTICLASS: "log_loss", REGRESSION: "root_mean_squared_error"}
# autogluon.tabular 1.6's XGBoost model reads scikit-learn's removed ``_estimator_type`` and fails
# under scikit-learn 1.9 on every fit; leaving it out saves the budget it would waste.
AUTOGLUON_EXCLUDED = ("XGB",)
# AutoGluon's neural networks need packages the bench extra does not bring; without them each fit
# fails on an ImportError and logs it, so they are left out up front (the result is the same).
AUTOGLUON_NEEDS = {"NN_TORCH": "torch", "FASTAI": "fastai"}
# best_quality's dynamic stacking first fits on a holdout in a ray subprocess; without ray it falls
# back to fitting in the same predictor, and when that sub-fit trains nothing in its share of a short
# budget, the real fit then fails ("Learner is already fit"; measured on iris at 10 s). Without ray
# the bench therefore turns dynamic stacking off (stacking and bagging stay as the presets set them).
AUTOGLUON_DYSTACK_NEEDS = "ray"

logger = logging.getLogger(__name__)


class FrameworkUnavailable(Exception):
    """The framework cannot run here at all (a missing optional package); the message says how to fix it."""


@dataclass(frozen=True)
class ModelAccess:
    """How the ``llm:`` frameworks reach their model: an OpenAI-compatible server (None: the provider's own
    endpoint, the key from its usual environment variable) and how long one answer may take."""

    api_base: str | None = None
    timeout: float = 180.0


@dataclass(frozen=True)
class Task:
    """Everything a framework is given for one (dataset, seed): the same for every framework."""

    X_train: pd.DataFrame | np.ndarray  # a table, or a tensor dataset's samples (N, C, H, W)
    y_train: np.ndarray
    X_test: pd.DataFrame | np.ndarray
    task: str  # classification or regression
    budget_seconds: float
    seed: int
    cores: int
    # Scratch space shared by the benchmark's runs (it outlives this one, so automl's sandbox can keep
    # it bound); a framework writes only to names starting with ``tag``, which the harness removes.
    work_dir: Path
    tag: str
    # The bench's --trials: automl's runs stop after this many trials (None: the budget alone bounds them).
    # A trial-capped run is repeatable, so a replayed bench gives the same rows.
    trials: int | None = None
    model_access: ModelAccess = ModelAccess()
    # A run directory whose ``llm/`` holds the model calls to answer from instead of asking the model
    # (a replayed bench); only frameworks that use a model read it.
    replay: Path | None = None

    @property
    def classes(self) -> np.ndarray:
        """The class labels in the order of the probability columns every framework must return."""
        return np.unique(self.y_train)

    @property
    def kind(self) -> str:
        if self.task == REGRESSION:
            return REGRESSION
        return BINARY if len(self.classes) == 2 else MULTICLASS


@dataclass(frozen=True)
class Outcome:
    """A framework's predictions, how long fitting took, and anything worth keeping about the fit.

    ``llm`` is the language model's calls, tokens and cost when the run used one (automl's ``result.json``);
    ``model_calls`` are those calls' records by file name (``llm/NNN-stage.json``), kept so the run replays;
    ``waited_s`` is the part of ``fit_seconds`` spent waiting on the model. The run keeps that wait off its clock,
    and the harness keeps it off the row's seconds: a slow server is not charged to the search.
    """

    predictions: Predictions
    fit_seconds: float
    info: dict[str, Any]
    llm: ModelUsage | None = None
    model_calls: dict[str, dict[str, Any]] | None = None
    waited_s: float = 0.0


def align_proba(proba: np.ndarray, own_classes: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Reorder a framework's probability columns (in its own class order) into the benchmark's order.

    A class the framework never saw gets probability 0; a class it knows that the benchmark does not
    is an error (it must have learned from something other than y_train).
    """
    position = {label_key(label): i for i, label in enumerate(classes)}
    aligned = np.zeros((proba.shape[0], len(classes)), dtype=np.float64)
    for column, label in enumerate(own_classes):
        key = label_key(label)
        if key not in position:
            raise ValueError(f"the framework predicts class {key!r}, which the training labels do not have")
        aligned[:, position[key]] = proba[:, column]
    return aligned


def _from_proba(proba: np.ndarray, classes: np.ndarray) -> Predictions:
    """Labels as the most probable class: one rule for every framework, so accuracy is comparable."""
    return Predictions(labels=classes[np.argmax(proba, axis=1)], proba=proba)


def _run_automl(task: Task, facade: str, workers: int = 1, rounds: int = 1, llm: str = OFFLINE) -> Outcome:
    """One automl run under the budget (and the bench's trial cap), then the test rows predicted by the run's
    final model. With ``llm`` a model writes the run (no fallback: a model that fails is a failed row), or
    the task's recorded calls answer for it."""
    from automl import sandbox
    from automl.config import RunConfig, ScenarioSettings
    from automl.predictor import FittedModel
    from automl.runner import run

    if isinstance(task.X_train, np.ndarray) and importlib.util.find_spec("torch") is None:
        raise FrameworkUnavailable(TORCH_MISSING)
    data_dir = task.work_dir / f"{task.tag}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    train_file, test_file, target = _write_data(task, data_dir)
    scenario = ScenarioSettings(n_trials=task.trials or AUTOML_TRIALS, walltime_limit=task.budget_seconds)
    replay = task.replay if llm != OFFLINE else None
    config = RunConfig(data=str(train_file), target=target, test_data=str(test_file), task=task.task,
                       seed=task.seed, out=task.work_dir / f"{task.tag}-run", facade=facade,
                       scenario=scenario, workers=workers, metric=MAIN_METRIC[task.kind],
                       rounds=rounds, llm=llm, api_base=task.model_access.api_base,
                       llm_timeout=task.model_access.timeout, replay=replay)  # fmt: skip
    # The sandbox's fork server starts once per process and then serves every run in it: started here, the
    # bench's first automl run is timed as the later ones are, not charged 2-6 s of the server's imports.
    sandbox.warm_up(task.work_dir)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # The runner scores the placeholder rows too; their one-class labels make scikit-learn warn.
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true", UserWarning)
        result = run(config)
    fit_seconds = time.perf_counter() - started
    model = FittedModel.load(result.paths.root)
    summary = result.summary
    info = {"n_trials": summary.n_trials, "facade": summary.facade, "incumbent": summary.incumbent.get("algorithm")}
    waited = 0.0
    if summary.llm is not None:
        info["model_wait_s"] = summary.llm.waited_s  # a replay's is the recorded one, the same in its row
        waited = summary.llm.waited_s if replay is None else 0.0  # a replay waits on nothing
    calls = recorded_calls(result.paths.llm_dir) if config.uses_model else None
    if task.task == REGRESSION:
        values = np.asarray(model.predict(task.X_test, source="benchmark test rows"), dtype=np.float64)
        return Outcome(Predictions(values=values), fit_seconds, info, summary.llm, calls, waited)
    assert model.classes is not None
    proba = align_proba(model.predict_proba(task.X_test, source="benchmark test rows"), model.classes, task.classes)
    return Outcome(_from_proba(proba, task.classes), fit_seconds, info, summary.llm, calls, waited)


def _write_data(task: Task, data_dir: Path) -> tuple[Path, Path, str | None]:
    """The task's training rows and a few placeholder test rows as files the runner reads, and the target's
    column (None for tensors, written as ``.npz`` arrays ``X`` and ``y``)."""
    placeholder = task.y_train[0] if task.task != REGRESSION else float(np.mean(task.y_train))
    if isinstance(task.X_train, np.ndarray):
        train_file, test_file = data_dir / "train.npz", data_dir / "test.npz"
        np.savez(train_file, X=task.X_train, y=task.y_train)
        test_rows = task.X_test[:PLACEHOLDER_TEST_ROWS]
        np.savez(test_file, X=test_rows, y=np.full(len(test_rows), placeholder, dtype=task.y_train.dtype))
        return train_file, test_file, None
    target = "target"
    while target in task.X_train.columns:  # a feature may already be called so
        target = f"_{target}"
    train_file, test_file = data_dir / "train.parquet", data_dir / "test.parquet"
    task.X_train.assign(**{target: task.y_train}).to_parquet(train_file, index=False)
    task.X_test.head(PLACEHOLDER_TEST_ROWS).assign(**{target: placeholder}).to_parquet(test_file, index=False)
    return train_file, test_file, target


def tables(task: Task) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and test features as the table frameworks take them: a tensor's values flattened, one
    column per value (``v0``, ``v1``, ...: a pixel per column for images), a table as it is."""
    if not isinstance(task.X_train, np.ndarray):
        return task.X_train, task.X_test

    def flat(X: np.ndarray) -> pd.DataFrame:
        values = X.reshape(len(X), -1)
        return pd.DataFrame(values, columns=[f"v{i}" for i in range(values.shape[1])])

    return flat(task.X_train), flat(task.X_test)


def recorded_calls(llm_dir: Path) -> dict[str, dict[str, Any]]:
    """A run's model-call records (already redacted of secrets when written), by file name."""
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(llm_dir.glob("*.json"))
            if RECORD_NAME.match(path.name)}  # fmt: skip


def run_automl(task: Task) -> Outcome:
    """automl with the offline writer; the runner chooses the facade (hpo below 20 000 rows)."""
    return _run_automl(task, "auto")


def run_random(task: Task) -> Outcome:
    """automl with random search instead of SMAC's model: the same space, writer and budget."""
    return _run_automl(task, "random")


def _as_categories(X_train: pd.DataFrame, X_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """String columns as pandas categories learned from the training rows (unseen test values become missing)."""
    X_train, X_test = X_train.copy(), X_test.copy()
    for column in X_train.columns:
        if not (pd.api.types.is_numeric_dtype(X_train[column]) or pd.api.types.is_bool_dtype(X_train[column])):
            dtype = pd.CategoricalDtype(sorted(X_train[column].dropna().unique(), key=str))
            X_train[column] = X_train[column].astype(dtype)
            X_test[column] = X_test[column].where(X_test[column].isin(dtype.categories)).astype(dtype)
    return X_train, X_test


def run_default(task: Task) -> Outcome:
    """HistGradientBoosting with scikit-learn's defaults, categoricals natively, on ``cores`` threads."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    X_train, X_test = _as_categories(*tables(task))
    started = time.perf_counter()
    with threadpool_limits(limits=task.cores):
        if task.task == REGRESSION:
            model: Any = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=task.seed)
            model.fit(X_train, task.y_train)
            fit_seconds = time.perf_counter() - started
            return Outcome(Predictions(values=model.predict(X_test).astype(np.float64)), fit_seconds, {})
        model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=task.seed)
        model.fit(X_train, task.y_train)
        fit_seconds = time.perf_counter() - started
        proba = align_proba(model.predict_proba(X_test), model.classes_, task.classes)
    return Outcome(_from_proba(proba, task.classes), fit_seconds, {})


def _flaml_automl() -> Any:
    """FLAML's AutoML class, or FrameworkUnavailable naming the install command."""
    try:
        from flaml import AutoML
    except ImportError:
        raise FrameworkUnavailable(FLAML_MISSING) from None
    return AutoML


def run_flaml(task: Task) -> Outcome:
    """FLAML's AutoML under the same budget and cores, told the benchmark's main metric."""
    automl_class = _flaml_automl()
    X_train, X_test = _as_categories(*tables(task))
    model = automl_class()
    started = time.perf_counter()
    with _quiet("flaml"):
        model.fit(X_train, task.y_train, task="regression" if task.task == REGRESSION else "classification",
                  time_budget=task.budget_seconds, n_jobs=task.cores, seed=task.seed,
                  metric=FLAML_METRIC[task.kind], verbose=0)  # fmt: skip
    fit_seconds = time.perf_counter() - started
    info = {"incumbent": model.best_estimator}
    if task.task == REGRESSION:
        return Outcome(Predictions(values=np.asarray(model.predict(X_test), dtype=np.float64)), fit_seconds, info)
    proba = align_proba(np.asarray(model.predict_proba(X_test)), np.asarray(model.classes_), task.classes)
    return Outcome(_from_proba(proba, task.classes), fit_seconds, info)


def _tabular_predictor() -> Any:
    """AutoGluon's TabularPredictor class, or FrameworkUnavailable naming the install command."""
    try:
        from autogluon.tabular import TabularPredictor
    except ImportError:
        raise FrameworkUnavailable(AUTOGLUON_MISSING) from None
    return TabularPredictor


def run_autogluon(task: Task, presets: str = "medium_quality") -> Outcome:
    """AutoGluon's TabularPredictor under the budget (its ``time_limit``) on ``cores`` CPUs, told the main metric.

    The problem type is given, not inferred (AutoGluon reads an integer regression target as
    multiclass). The seed drives AutoGluon's holdout and fold splits (its models keep their own
    seeds). ``time_limit`` is soft: AutoGluon stops starting models when it runs out, so the fit
    can end a little past the budget (1-2 s at 10 s on the smoke suite); the harness records it.
    """
    predictor_class = _tabular_predictor()
    X_train, X_test = tables(task)
    label = "target"
    while label in X_train.columns:  # a feature may already be called so
        label = f"_{label}"
    train = X_train.assign(**{label: task.y_train})
    predictor = predictor_class(label=label, problem_type=task.kind, eval_metric=AUTOGLUON_METRIC[task.kind],
                                path=str(task.work_dir / f"{task.tag}-autogluon"), verbosity=0,
                                learner_kwargs={"random_state": task.seed})  # fmt: skip
    missing = [model for model, package in AUTOGLUON_NEEDS.items() if importlib.util.find_spec(package) is None]
    extra: dict[str, Any] = {}
    if importlib.util.find_spec(AUTOGLUON_DYSTACK_NEEDS) is None:
        extra["dynamic_stacking"] = False
    started = time.perf_counter()
    with _quiet_autogluon():
        predictor.fit(train, time_limit=task.budget_seconds, presets=presets, num_cpus=task.cores, num_gpus=0,
                      excluded_model_types=[*AUTOGLUON_EXCLUDED, *missing], **extra)  # fmt: skip
        fit_seconds = time.perf_counter() - started
        info = {"incumbent": predictor.model_best, "presets": presets, "n_models": len(predictor.model_names())}
        if task.task == REGRESSION:
            values = np.asarray(predictor.predict(X_test), dtype=np.float64)
            return Outcome(Predictions(values=values), fit_seconds, info)
        proba = predictor.predict_proba(X_test, as_multiclass=True)
    aligned = align_proba(proba.to_numpy(dtype=np.float64), np.asarray(proba.columns), task.classes)
    return Outcome(_from_proba(aligned, task.classes), fit_seconds, info)


@contextlib.contextmanager
def _quiet_autogluon() -> Iterator[None]:
    """AutoGluon at ``verbosity=0`` still logs, as an error, for every model, that torch is missing
    (it asks torch for GPUs even with ``num_gpus=0``); the bench passes no GPU, so that check is muted.
    """
    resource_logger = logging.getLogger("autogluon.common.utils.resource_utils")
    level = resource_logger.level
    resource_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        resource_logger.setLevel(level)


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library's INFO chatter for the call (libraries should not print; some do).

    FLAML's extra-trees learner also calls scikit-learn's ``delayed`` outside its ``Parallel``; the
    warning that follows, once per fit, is FLAML's to fix and drowns the benchmark's progress.
    """
    library_logger = logging.getLogger(logger_name)
    level = library_logger.level
    library_logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "`sklearn.utils.parallel.delayed` should be used", UserWarning)
            yield
    finally:
        library_logger.setLevel(level)


FRAMEWORKS: dict[str, Callable[[Task], Outcome]] = {
    "automl": run_automl,
    "random": run_random,
    "automl_2rounds": functools.partial(_run_automl, facade="auto", rounds=2),
    "default": run_default,
    "flaml": run_flaml,
    "autogluon": run_autogluon,
    "autogluon_best": functools.partial(run_autogluon, presets="best_quality"),
}


def uses_model(name: str) -> bool:
    """Whether the framework ``name`` is a model-written automl run (``llm:MODEL``)."""
    return name.startswith(MODEL_PREFIX)


def framework(name: str) -> Callable[[Task], Outcome]:
    """The function that runs the framework ``name``: from the registry, or a model-written automl run."""
    if uses_model(name):
        return functools.partial(_run_automl, facade="auto", llm=name.removeprefix(MODEL_PREFIX))
    return FRAMEWORKS[name]


def check_frameworks(names: list[str]) -> list[str]:
    """The requested names, checked against the registry and ``llm:MODEL`` (an unknown one is a ConfigError)."""
    unknown = [name for name in names if name not in FRAMEWORKS and not uses_model(name)]
    if unknown or not names:
        raise ConfigError(f"unknown benchmark framework(s) {unknown or names}: choose from {', '.join(FRAMEWORKS)}, "
                          f"or {MODEL_PREFIX}MODEL for a model-written run")  # fmt: skip
    empty = [name for name in names if uses_model(name) and not name.removeprefix(MODEL_PREFIX).strip()]
    if empty:
        raise ConfigError(f"{empty[0]!r} names no model: write {MODEL_PREFIX}MODEL with a litellm model string, "
                          f"as in {MODEL_PREFIX}openai/gpt-4o-mini")  # fmt: skip
    return list(dict.fromkeys(names))
