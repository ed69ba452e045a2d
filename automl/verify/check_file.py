"""``automl verify``: run the verifier on a train.py and space file outside of a run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import joblib

from automl import sandbox
from automl.data import prepare_dataset
from automl.errors import ConfigError
from automl.sandbox import Limits
from automl.verify.verifier import VerifyInputs, VerifyReport, verify_train
from automl.writers.space import load_space


def check_file(train_file: Path, space_file: Path, data: str, target: str | None, task: str, seed: int,
               min_budget: float | None, max_budget: float | None, smoke_seconds: float,
               trial_walltime: float) -> VerifyReport:  # fmt: skip
    """Verify ``train_file`` on ``data``'s optimization split, in a scratch directory."""
    if not train_file.is_file():
        raise ConfigError(f"train file '{train_file}' does not exist: check the path")
    if min_budget is not None and max_budget is not None and min_budget > max_budget:
        raise ConfigError(f"--min-budget {min_budget:g} is above --max-budget {max_budget:g}: swap them")
    space = load_space(space_file)
    prepared = prepare_dataset(data, target, task, seed=seed)
    with tempfile.TemporaryDirectory(prefix="automl-verify-") as scratch:
        work = Path(scratch)
        sandbox.warm_up(work)
        data_path = work / "search.joblib"
        joblib.dump(prepared.search_dataset(), data_path)
        space_path = work / "config_space.json"
        space.to_json(space_path)
        n_classes = len(prepared.labels.classes) if prepared.labels else None
        inputs = VerifyInputs(train_file.resolve(), space_path, data_path, prepared.search_dataset(), n_classes,
                              work / "checks", min_budget, max_budget, smoke_seconds)  # fmt: skip
        return verify_train(inputs, space, seed, Limits(walltime_s=trial_walltime), sandbox.isolation_mode())
