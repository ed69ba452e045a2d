"""Stage 1, prepare: load and split the data, and open the run directory (a new one, or the one to resume)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from automl._io import read_json, write_json
from automl.config import OFFLINE, RunConfig, folds_allowed
from automl.data import PreparedData, prepare_dataset
from automl.data.column_types import typing_notes
from automl.data.dataset import prepare_arrays, prepare_table
from automl.errors import ConfigError
from automl.evaluate.metric import Metric, resolve_metric
from automl.plan.plan import AUTO
from automl.report.progress import Progress
from automl.rundir import RunPaths, create_run_dir
from automl.versions import library_versions

# Fewer held-out test rows than this make the test scores too noisy to trust without a word.
SMALL_TEST_ROWS = 50
# Training tables with at least this many cells get every core per trial.
THREADED_CELLS = 500_000
LIBRARIES = ("automl", "smac", "ConfigSpace", "scikit-learn", "numpy", "pandas", "joblib")


# Up to this many non-test rows, a run without --cv tunes on this many cross-validation folds: one
# validation split of 150 rows ranks configurations mostly by noise, and trials on small data are quick.
SMALL_DATA_ROWS = 2_000
SMALL_DATA_FOLDS = 5


@dataclass(frozen=True)
class Prepared:
    """The effective request (with the validation scheme chosen), the split data, where the run lives,
    how many threads each sandbox job gets, and the run's metric."""

    config: RunConfig
    data: PreparedData
    paths: RunPaths
    n_jobs: int
    metric: Metric
    device: str = "cpu"


def prepare(
    config: RunConfig,
    progress: Progress,
    table: pd.DataFrame | tuple[np.ndarray, np.ndarray] | None = None,
    resume: bool = False,
) -> Prepared:
    """Load ``config.data`` (or ``table``, for in-memory data from the Python API: a DataFrame, or tensors as
    ``(X, y)``) and open its run directory.

    How the columns were typed is said on the console, a line per kind of decision (and in dataset.json).
    """
    kinds = dict(config.column_kinds)
    if table is None:
        data = prepare_dataset(config.data, config.target, config.task, config.test_data, config.seed, kinds=kinds)
    elif isinstance(table, tuple):
        data = prepare_arrays(*table, config.task, seed=config.seed, source=config.data)
    else:
        data = prepare_table(table, config.target or "target", config.task, seed=config.seed, source=config.data,
                             kinds=kinds)  # fmt: skip
    file_format = data.description.get("file_format")
    if file_format and file_format != {"separator": ",", "encoding": "utf-8"}:
        progress.stage(f"read {config.data} with separator {file_format['separator']!r}, encoding "
                       f"{file_format['encoding']}")  # fmt: skip
    metric = resolve_metric(config.metric, data.task, len(data.labels.classes) if data.labels else None)
    device = "cpu"
    if data.modality == "tensor":
        device = tensor_device(config.device)
        progress.stage(f"tensor data: samples of shape {tuple(data.schema.shape)}, trials train on the {device}")
        if config.cv is None:  # a network's trial is costly, and its epochs budget is what tames it, not folds
            config = replace(config, cv=1)
    if config.cv is None:
        y = np.concatenate([data.y_train, data.y_valid])
        rarest = int(np.bincount(y.astype(np.int64)).min()) if data.labels else None
        config = replace(config, cv=validation_folds(config, len(y), rarest))
        n_rows = len(y)
        if config.folds:
            progress.stage(f"tuning on {config.folds} cross-validation folds of the {n_rows} non-test rows (small "
                           "data; --cv 1 for one validation split)")  # fmt: skip
    for note in typing_notes(data.schema.types) + close_calls(config, data):
        progress.stage(note)
    paths = _resumed_dir(config, data) if resume else _new_dir(config, data, device)
    return Prepared(config, data, paths, _threads(data), metric, device)


def tensor_device(requested: str) -> str:
    """Where tensor trials train: ``cuda`` when asked for or (``auto``) when PyTorch sees a GPU, else ``cpu``.

    A tensor run needs PyTorch: without it, a one-line error naming the extra that installs it.
    """
    try:
        import torch
    except ImportError:
        raise ConfigError("tensor data (images, .npz arrays) needs PyTorch: pip install 'automl[torch]'") from None
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise ConfigError("--device cuda: PyTorch sees no CUDA GPU on this machine; use --device auto or cpu")
    return "cuda" if requested == "cuda" or (requested == "auto" and available) else "cpu"


def validation_folds(config: RunConfig, n_rows: int, rarest: int | None = None) -> int:
    """How a run without ``--cv`` validates: :data:`SMALL_DATA_FOLDS` folds up to :data:`SMALL_DATA_ROWS`
    non-test rows (when the facade takes folds: hpo, random, or auto), else 1, the one validation split.

    Stratified folds need every class in each, so a class of ``rarest`` rows lowers the count (below two, to
    the one split) instead of failing the run.
    """
    allowed = config.facade == AUTO or folds_allowed(config.facade)
    folds = min(SMALL_DATA_FOLDS, rarest) if rarest is not None else SMALL_DATA_FOLDS
    return folds if n_rows <= SMALL_DATA_ROWS and allowed and folds >= 2 else 1


def close_calls(config: RunConfig, data: PreparedData) -> list[str]:
    """Warnings where a guess was close or a score will be noisy, each with the flag that changes it."""
    notes = []
    y = np.concatenate([data.y_train, data.y_valid])
    if config.task == "auto" and data.task == "regression" and np.all(np.mod(y, 1) == 0):
        notes.append(f"warning: target '{data.target}' has {len(np.unique(y))} distinct whole numbers, read as a "
                     "regression: pass --task classification if they are classes")  # fmt: skip
    n_test = data.description["splits"]["test"]
    if n_test < SMALL_TEST_ROWS:
        advice = "" if config.folds else ", pass --cv 5 to tune on folds"
        notes.append(f"warning: only {n_test} test rows: the test scores will be noisy; add rows{advice}")
    return notes


def _threads(data: PreparedData) -> int:
    """Threads per trial: one for small data, where thread start-up costs more than it saves."""
    cells = data.X_train.shape[0] * max(int(np.prod(data.X_train.shape[1:])), 1)
    return (os.cpu_count() or 1) if cells >= THREADED_CELLS else 1


def _new_dir(config: RunConfig, data: PreparedData, device: str) -> RunPaths:
    """A fresh run directory holding the request and the data train() will see."""
    paths = create_run_dir(config.out, config.data)
    write_json(
        paths.run_json,
        {
            "arguments": config.to_dict(),
            "dataset_fingerprint": data.fingerprint,
            "writer": "llm" if config.uses_model else OFFLINE,
            "model": None if config.replay is not None or not config.uses_model else config.llm,
            "replay_of": str(config.replay) if config.replay is not None else None,
            "versions": library_versions(LIBRARIES + (("torch",) if data.modality == "tensor" else ())),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **({"device": device} if data.modality == "tensor" else {}),
        },
    )
    write_json(paths.dataset_json, data.description)
    paths.search_data.parent.mkdir(exist_ok=True)
    joblib.dump(data.search_dataset(), paths.search_data)
    joblib.dump(data.refit_dataset(), paths.refit_data)
    if config.folds:
        for fold, dataset in enumerate(data.fold_datasets(config.folds, config.seed)):
            joblib.dump(dataset, paths.fold_data(fold))
    return paths


def _resumed_dir(config: RunConfig, data: PreparedData) -> RunPaths:
    """The interrupted run's directory, after checking the data is the same as when it started."""
    assert config.out is not None
    paths = RunPaths(Path(config.out).resolve())
    recorded = read_json(paths.run_json)
    if recorded.get("dataset_fingerprint") != data.fingerprint:
        raise ConfigError(f"--resume {paths.root}: the data in {config.data} changed since the run started "
                          "(its fingerprint differs): start a new run instead")  # fmt: skip
    recorded.setdefault("resumed", []).append(time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    recorded.pop("error", None)  # the error that stopped it before is no longer its state
    write_json(paths.run_json, recorded)
    return paths
