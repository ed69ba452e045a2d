"""Check a generated train() before SMAC spends its budget on it (``verify.json``).

In order, each check needing the ones before it: the static gate; the default configuration on the
real data (which also tells how long a trial takes); the saved model loads and predicts in the
sandbox, and every kind of column changes its predictions; then smoke tests on a small subsample,
bounded in time: the same seed twice gives the same loss, copies of the data with a column removed
and (for classification) with a class missing from the fit rows or another number of classes
(hard-coded shapes and class counts fail there), the minimum and maximum budget, every categorical
value and the space's edges, and the same result keys every call.
Every failure carries a message fit to send back to the writer for repair.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from ConfigSpace import Configuration, ConfigurationSpace

from automl.data.dataset import take_rows
from automl.errors import WalltimeSpent
from automl.rundir import MODEL_FILE
from automl.sandbox import CodeWarning, Limits, TrialOutcome, run_predict, run_train, stop_running_jobs
from automl.verify.class_variants import class_variants
from automl.verify.conditional_reads import inactive_read_hint, unoffered_choice_reads
from automl.verify.data_names import hard_coded_columns
from automl.verify.feature_use import measure_feature_use
from automl.verify.smoke import branch_configurations, edge_configurations
from automl.verify.static import check_source, load_allowed_imports

# Rows of the subsample the smoke tests train on (fit and validation rows each).
SMOKE_ROWS = 200
SMOKE_VALID_ROWS = 100
# Smoke trials run side by side, one per core (each is single-threaded on its subsample).
SMOKE_PARALLEL = max(1, min(4, os.cpu_count() or 1))
# Distinct Python warnings of train() sent back per verification (a noisy library must not flood the prompt),
# each as a warning check of this name.
MAX_CODE_WARNINGS = 5
WARNING_CHECK = "python_warning"
# A smoke trial to run: check name, configuration, data, budget, and what the data's change means.
SmokeTrial = tuple[str, Configuration, Path, float | None, str]


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, how long it took and what it found.

    A ``warning`` passed but found something worth fixing (a deprecated call, a column the model
    never uses): it does not reject the draft, but goes back to the writer with the errors when
    another check did, and is shown to the user when none did.
    """

    name: str
    ok: bool
    seconds: float
    message: str = ""
    warning: bool = False

    @property
    def summary(self) -> str:
        """The message's gist on one line: its last line before any captured output."""
        lines = [line.strip() for line in self.message.split("\nlast output:")[0].splitlines() if line.strip()]
        return f"{self.name}: {lines[-1] if lines else 'failed'}"


@dataclass(frozen=True)
class VerifyReport:
    """All checks run on one train.py; accepted when every one passed."""

    checks: tuple[CheckResult, ...]
    isolation: str = ""

    @property
    def accepted(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def errors(self) -> list[str]:
        """Every failed check's full message, for a writer to repair from."""
        return [f"{check.name}: {check.message}" for check in self.checks if not check.ok]

    @property
    def warnings(self) -> list[str]:
        """Every warning's message: worth fixing in the next draft, if there is one."""
        return [f"{check.name}: {check.message}" for check in self.checks if check.warning]

    @property
    def summary(self) -> str:
        """The failed checks on one line, for the user."""
        return "; ".join(check.summary for check in self.checks if not check.ok)

    def seconds(self, name: str) -> float:
        """How long the named check took (0 when it did not run)."""
        return next((check.seconds for check in self.checks if check.name == name), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "isolation": self.isolation,
                "checks": [asdict(check) for check in self.checks]}  # fmt: skip


@dataclass(frozen=True)
class VerifyInputs:
    """The code and its space on disk, the optimization data, and what the smoke tests may use."""

    train_path: Path
    space_path: Path
    data_path: Path
    dataset: dict[str, Any]
    n_classes: int | None
    work_dir: Path
    min_budget: float | None = None
    max_budget: float | None = None
    smoke_seconds: float = 60.0
    extra_imports: Collection[str] = field(default_factory=tuple)
    # When (time.perf_counter()) the default configuration's call must end: the run's walltime. None: its trial
    # limit alone (``automl verify``).
    deadline: float | None = None


class OutOfTime(Exception):
    """A check's sandbox job was stopped by the time the verification had left, not by its own trial limit:
    what it would have shown is unknown, and it is no fault of the draft."""


def _describe_failure(outcome: TrialOutcome) -> str:
    """A failed sandbox job as one message: status, error and the end of what it printed."""
    message = f"{outcome.status}: {outcome.error}".strip()
    if outcome.log_tail.strip():
        message += "\nlast output:\n" + outcome.log_tail.strip()[-1500:]
    return message


def _describe_warning(warning: CodeWarning, filename: str) -> str:
    """A Python warning train() raised, as a finding for the writer: where, what, and that it is to be fixed."""
    where = f"line {warning.line} of {filename}" if warning.line else "train()"
    return f"{where} raised {warning.category}: {warning.message} (fix it in the next draft)"


def _take(part: Any, rows: np.ndarray) -> Any:
    return take_rows(part if isinstance(part, pd.DataFrame) else np.asarray(part), rows)


def _subsample(dataset: dict[str, Any], seed: int) -> dict[str, Any]:
    """A small copy of the optimization data, keeping every class present in both parts."""
    rng = np.random.default_rng(seed)

    def pick(y: np.ndarray, size: int) -> np.ndarray:
        if len(y) <= size:
            return np.arange(len(y))
        chosen = rng.choice(len(y), size=size, replace=False)
        if np.issubdtype(np.asarray(y).dtype, np.integer):  # make sure each class keeps a few rows
            extra = [np.flatnonzero(y == label)[:3] for label in np.unique(y)]
            chosen = np.union1d(chosen, np.concatenate(extra))
        return np.sort(chosen)

    train_rows = pick(np.asarray(dataset["y"]), SMOKE_ROWS)
    valid_rows = pick(np.asarray(dataset["y_test"]), SMOKE_VALID_ROWS)
    facts = {key: value for key, value in dataset.items() if key not in ("X", "y", "X_test", "y_test")}
    return {"X": _take(dataset["X"], train_rows), "y": _take(dataset["y"], train_rows),
            "X_test": _take(dataset["X_test"], valid_rows), "y_test": _take(dataset["y_test"], valid_rows),
            **facts}  # fmt: skip


class _Checks:
    """Runs the checks of one verification, collecting results and the keys every call returned."""

    def __init__(self, inputs: VerifyInputs, space: ConfigurationSpace, seed: int, limits: Limits) -> None:
        self.inputs, self.space, self.seed, self.limits = inputs, space, seed, limits
        self.until: float | None = None  # when (perf_counter) the trials run now must end, beyond their limit
        self.results: list[CheckResult] = []
        self.keys: dict[str, set[str]] = {}
        self.count = 0
        self._lock = threading.Lock()
        self._hints: set[str] = set()
        self._warned: set[CodeWarning] = set()
        self._unsaid: set[CodeWarning] = set()  # distinct warnings past MAX_CODE_WARNINGS

    def add(self, name: str, ok: bool, seconds: float, message: str = "") -> bool:
        self.results.append(CheckResult(name, ok, seconds, message))
        return ok

    def warn(self, name: str, message: str, seconds: float = 0.0) -> None:
        """Record a finding that does not reject the draft (see :class:`CheckResult`)."""
        self.results.append(CheckResult(name, True, seconds, message, warning=True))

    def trial(self, name: str, config: Configuration | dict, data_path: Path, budget: float | None = None,
              variant: str = "") -> TrialOutcome:  # fmt: skip
        """Run ``config`` in the sandbox as check ``name``; record it and the result's keys (thread-safe).

        ``variant`` says how ``data_path`` was changed from the data (and what to fix when train() fails
        there); it leads a failure's message, and the keys are not compared: another class count may
        add or drop a metric (roc_auc is only defined for two classes).
        """
        with self._lock:
            self.count += 1
            model_dir = self.inputs.work_dir / f"{self.count:02d}"
        values = dict(config)
        limits = self._bounded()
        outcome = run_train(self.inputs.train_path, self.inputs.space_path, data_path, values, self.seed, budget,
                            model_dir, limits)  # fmt: skip
        if outcome.status == "timeout" and limits.walltime_s < self.limits.walltime_s:
            raise OutOfTime(name)
        where = f"configuration {values}" + (f", budget {budget:g}" if budget is not None else "")
        failure = (
            ""
            if outcome.ok
            else f"{variant} {where}: {_describe_failure(outcome)}".lstrip() + self._hint(outcome.error)
        )
        for warning in outcome.warnings:  # before the trial's own result, which a caller may amend as results[-1]
            if self._first(self._warned, warning, MAX_CODE_WARNINGS):
                self.warn(WARNING_CHECK, _describe_warning(warning, self.inputs.train_path.name))
            else:
                with self._lock:
                    if warning not in self._warned:
                        self._unsaid.add(warning)
        self.add(name, outcome.ok, outcome.wall_time, failure)
        if outcome.ok and not variant:
            self.keys[name] = set(outcome.result)
        return outcome

    def _bounded(self) -> Limits:
        """The trial limits, with the wall clock cut to the time left before ``until`` when that is sooner; none
        left is :class:`OutOfTime` at once."""
        if self.until is None:
            return self.limits
        left = self.until - time.perf_counter()
        if left <= 0:
            raise OutOfTime("no time left")
        return replace(self.limits, walltime_s=min(self.limits.walltime_s, left))

    def _hint(self, error: str) -> str:
        """What a failure on an inactive hyperparameter means for this train.py, said once per verification:
        several smoke trials often fail on the same read."""
        hint = inactive_read_hint(error, self.inputs.train_path.read_text(encoding="utf-8"), self.space,
                                  self.inputs.train_path.name)  # fmt: skip
        return f"\n{hint}" if hint and self._first(self._hints, hint) else ""

    def report(self, isolation: str) -> VerifyReport:
        """Every check so far, and a note when warnings past the cap were left out: a model that fixes the
        ones it was shown should know that more may follow."""
        if self._unsaid:
            self.warn(WARNING_CHECK, f"{len(self._unsaid)} more distinct Python warnings were raised and are not "
                                     f"shown here (at most {MAX_CODE_WARNINGS}); fix the ones above and the next "
                                     "verification names the rest")  # fmt: skip
        return VerifyReport(tuple(self.results), isolation)

    def _first(self, said: set, item: object, limit: int | None = None) -> bool:
        """Whether ``item`` is new to ``said`` and there is room for it (then it is added); thread-safe, as smoke
        trials run side by side."""
        with self._lock:
            if item in said or (limit is not None and len(said) >= limit):
                return False
            said.add(item)
            return True


def verify_train(inputs: VerifyInputs, space: ConfigurationSpace, seed: int, limits: Limits,
                 isolation: str = "") -> VerifyReport:  # fmt: skip
    """Run the checks in order; stop at the first that later checks depend on."""
    checks = _Checks(inputs, space, seed, limits)
    started = time.perf_counter()
    source = inputs.train_path.read_text(encoding="utf-8")
    findings = check_source(source, "train.py", hyperparameters=list(space.keys()),
                            allowed_imports=load_allowed_imports(inputs.extra_imports),
                            unreachable=unoffered_choice_reads(source, space))  # fmt: skip
    table = isinstance(inputs.dataset["X"], pd.DataFrame)  # tensors have no columns to name or to shuffle
    if table:
        findings += hard_coded_columns(source, inputs.dataset["X"].columns)
    if not checks.add("static", not findings, time.perf_counter() - started, "\n".join(map(str, findings))):
        return checks.report(isolation)

    default = space.get_default_configuration()
    checks.until = inputs.deadline
    try:
        if not checks.trial("default_configuration", default, inputs.data_path, inputs.max_budget).ok:
            return checks.report(isolation)
    except OutOfTime:
        raise WalltimeSpent("running train.py's default configuration in verification") from None
    model_dir = inputs.work_dir / f"{checks.count:02d}"
    if not _saved_model_predicts(checks, model_dir):
        return checks.report(isolation)
    if table:
        _feature_use(checks, model_dir / MODEL_FILE)
    try:
        _smoke(checks, default)
    except OutOfTime:  # a smoke trial before the side-by-side ones: the rest cannot start either
        _time_spent(checks, "the smoke tests stopped before the configurations of the space")
    return checks.report(isolation)


def _saved_model_predicts(checks: _Checks, model_dir: Path) -> bool:
    """The model the default run saved loads in the sandbox and predicts the validation rows."""
    inputs = checks.inputs
    model_path = model_dir / MODEL_FILE
    if not model_path.is_file():
        return checks.add("saved_model", False, 0.0,
                          f"train() did not save its model to model_dir/{MODEL_FILE} (use joblib.dump)")  # fmt: skip
    features = inputs.dataset["X_test"]
    outcome, predictions = run_predict(model_path, features, checks.limits, want_proba=inputs.n_classes is not None,
                                       n_classes=inputs.n_classes)  # fmt: skip
    message = "" if outcome.ok else _describe_failure(outcome)
    if predictions is not None and inputs.n_classes is not None:
        expected = (len(features), inputs.n_classes)
        if predictions.proba is None:
            message = "the saved classifier has no predict_proba(): save an estimator that has one"
        elif predictions.proba.shape != expected:
            message = (f"predict_proba() of the saved model returned shape {predictions.proba.shape}, expected "
                       f"{expected} (one column per class 0..K-1)")  # fmt: skip
    return checks.add("saved_model", not message, outcome.wall_time, message)


def _feature_use(checks: _Checks, model_path: Path) -> None:
    """Every kind of column reaches the saved model (see :mod:`automl.verify.feature_use`)."""
    inputs = checks.inputs
    use = measure_feature_use(model_path, inputs.dataset["X_test"], checks.limits, inputs.n_classes is not None,
                              checks.seed)  # fmt: skip
    seconds = use.outcome.wall_time if use.outcome is not None else 0.0
    if use.outcome is not None and not use.outcome.ok:  # the model predicted these rows before: not the draft's fault
        checks.warn("feature_use", f"could not be checked: {_describe_failure(use.outcome)}", seconds)
        return
    rejections = use.rejections()
    checks.add("feature_use", not rejections, seconds, "\n".join(rejections))
    for warning in use.warnings():
        checks.warn("feature_use", warning)


def _time_spent(checks: _Checks, what: str) -> None:
    """Note that the smoke tests' time ran out (not a failure: what was not run is unknown, not wrong)."""
    checks.add("smoke:time_budget", True, 0.0, f"{what}: the smoke tests' {checks.inputs.smoke_seconds:g} s were spent")


def _side_by_side(run: Callable[[SmokeTrial], bool], plans: list[SmokeTrial]) -> list[bool]:
    """``run`` on each plan, one per core (the sandbox's children run side by side).

    Interrupted (Ctrl-C), the plans not started are dropped and the running ones killed, so the run stops
    at once instead of waiting for every started smoke trial to end.
    """
    pool = ThreadPoolExecutor(max_workers=SMOKE_PARALLEL)
    try:
        ran = list(pool.map(run, plans))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_running_jobs()
        raise
    pool.shutdown()
    return ran


def _smoke(checks: _Checks, default: Configuration) -> None:
    """The subsample checks, in order of how much they tell, until the time budget is spent."""
    inputs = checks.inputs
    # A trial already started stops there too, and none runs past the run's deadline.
    checks.until = min(time.perf_counter() + inputs.smoke_seconds, inputs.deadline or math.inf)
    # On a subsample every sound configuration is quick; one that is not should not stall the run.
    checks.limits = replace(checks.limits, walltime_s=min(checks.limits.walltime_s, max(10.0, inputs.smoke_seconds)))
    small = inputs.work_dir / "smoke.joblib"
    small_data = _subsample(inputs.dataset, checks.seed)
    joblib.dump(small_data, small)

    first = checks.trial("smoke:default", default, small, inputs.max_budget)
    if not first.ok:
        return
    again = checks.trial("smoke:same_seed_again", default, small, inputs.max_budget)
    if again.ok and not math.isclose(first.result["loss"], again.result["loss"], rel_tol=1e-9, abs_tol=1e-12):
        checks.add("deterministic", False, 0.0,
                   f"the same configuration and seed gave loss {first.result['loss']} then {again.result['loss']}: "
                   "pass the seed to every random_state and to any sampling")  # fmt: skip

    columns = list(small_data["X"].columns) if isinstance(small_data["X"], pd.DataFrame) else []
    if len(columns) > 1:
        dropped = inputs.work_dir / "smoke_dropped_column.joblib"
        joblib.dump({**small_data, "X": small_data["X"].drop(columns=columns[-1]),
                     "X_test": small_data["X_test"].drop(columns=columns[-1])}, dropped)  # fmt: skip
        checks.trial("smoke:column_removed", default, dropped, inputs.max_budget,
                     variant=f"train() failed on data with one column fewer (column '{columns[-1]}' removed): "
                             "infer every shape from the data, never hard-code it.")  # fmt: skip
    # The class-structure copies first, then the budgets and the branches of the space, all within the time budget.
    plans: list[SmokeTrial] = []
    for variant in class_variants(small_data, inputs.n_classes, checks.seed) if inputs.n_classes is not None else ():
        changed = inputs.work_dir / f"smoke_{variant.label}.joblib"
        joblib.dump(variant.dataset, changed)
        plans.append((f"smoke:{variant.label}", default, changed, inputs.max_budget, variant.hint))
    if inputs.min_budget is not None and inputs.min_budget != inputs.max_budget:
        plans.append(("smoke:min_budget", default, small, inputs.min_budget, ""))
    branches = [*branch_configurations(checks.space), *edge_configurations(checks.space)]
    plans += [(f"smoke:{label}", config, small, inputs.max_budget, "") for label, config in branches]

    def run_unless_late(plan: SmokeTrial) -> bool:
        name, config, data_path, budget, variant = plan
        try:
            checks.trial(name, config, data_path, budget, variant=variant)
        except OutOfTime:
            return False
        return True

    skipped = sum(not ran for ran in _side_by_side(run_unless_late, plans))
    if skipped:
        _time_spent(checks, f"{skipped} of {len(plans)} configurations skipped")

    key_sets = {frozenset(keys) for keys in checks.keys.values()}
    if len(key_sets) > 1:
        listed = "; ".join(f"{name}: {sorted(keys)}" for name, keys in checks.keys.items())
        checks.add("same_keys", False, 0.0, f"train() returned different keys on different calls ({listed}): "
                   "return the same metrics every call")  # fmt: skip
