"""Check a generated train() before SMAC spends its budget on it (``verify.json``).

This first version runs the static gate, then the default configuration in the sandbox, then loads
the model it saved and predicts the validation rows, also in the sandbox. Every failed check carries
a message fit to send back to the writer for repair.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from ConfigSpace import ConfigurationSpace

from automl.verify.sandbox import Limits, TrialOutcome, run_predict, run_train
from automl.verify.static import check_source

MODEL_FILE = "model.joblib"


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, how long it took and what it found."""

    name: str
    ok: bool
    seconds: float
    message: str = ""

    @property
    def summary(self) -> str:
        """The message's gist on one line: its last line before any captured output."""
        lines = [line.strip() for line in self.message.split("\nlast output:")[0].splitlines() if line.strip()]
        return f"{self.name}: {lines[-1] if lines else 'failed'}"


@dataclass(frozen=True)
class VerifyReport:
    """All checks run on one train.py; accepted when every one passed."""

    checks: tuple[CheckResult, ...]

    @property
    def accepted(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def errors(self) -> list[str]:
        """Every failed check's full message, for a writer to repair from."""
        return [f"{check.name}: {check.message}" for check in self.checks if not check.ok]

    @property
    def summary(self) -> str:
        """The failed checks on one line, for the user."""
        return "; ".join(check.summary for check in self.checks if not check.ok)

    def seconds(self, name: str) -> float:
        """How long the named check took (0 when it did not run)."""
        return next((check.seconds for check in self.checks if check.name == name), 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "checks": [asdict(check) for check in self.checks]}


@dataclass(frozen=True)
class VerifyInputs:
    """Where the code, its space and its data are, and what the validation rows look like."""

    train_path: Path
    space_path: Path
    data_path: Path
    features: pd.DataFrame
    n_classes: int | None
    work_dir: Path


def _describe_failure(outcome: TrialOutcome) -> str:
    """A failed sandbox job as one message: status, error and the end of what it printed."""
    message = f"{outcome.status}: {outcome.error}".strip()
    if outcome.log_tail.strip():
        message += "\nlast output:\n" + outcome.log_tail.strip()[-1500:]
    return message


def verify_train(inputs: VerifyInputs, space: ConfigurationSpace, seed: int, limits: Limits) -> VerifyReport:
    """Run the checks in order, stopping at the first failure (later checks need earlier ones)."""
    checks: list[CheckResult] = []

    started = time.perf_counter()
    findings = check_source(inputs.train_path.read_text(encoding="utf-8"))
    checks.append(CheckResult("static", not findings, time.perf_counter() - started, "\n".join(map(str, findings))))
    if findings:
        return VerifyReport(tuple(checks))

    model_dir = inputs.work_dir / "default"
    default = dict(space.get_default_configuration())
    outcome = run_train(inputs.train_path, inputs.space_path, inputs.data_path, default, seed, None, model_dir, limits)
    checks.append(
        CheckResult(
            "default_configuration",
            outcome.ok,
            outcome.wall_time,
            "" if outcome.ok else f"configuration {default}: {_describe_failure(outcome)}",
        )
    )
    if not outcome.ok:
        return VerifyReport(tuple(checks))

    model_path = model_dir / MODEL_FILE
    if not model_path.is_file():
        checks.append(
            CheckResult(
                "saved_model", False, 0.0, f"train() did not save its model to model_dir/{MODEL_FILE} (joblib.dump)"
            )
        )
        return VerifyReport(tuple(checks))
    outcome, predictions = run_predict(model_path, inputs.features, limits, want_proba=inputs.n_classes is not None)
    message = "" if outcome.ok else _describe_failure(outcome)
    if predictions is not None and inputs.n_classes is not None:
        expected = (len(inputs.features), inputs.n_classes)
        if predictions.proba is None:
            message = "the saved classifier has no predict_proba(): save an estimator that has one"
        elif predictions.proba.shape != expected:
            message = (
                f"predict_proba() of the saved model returned shape {predictions.proba.shape}, expected "
                f"{expected} (one column per class 0..K-1)"
            )
    checks.append(CheckResult("saved_model", not message, outcome.wall_time, message))
    return VerifyReport(tuple(checks))
