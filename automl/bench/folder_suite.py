"""A user's benchmark suite: a folder of CSV/Parquet tables and a ``suite.yaml`` naming each one's target.

```yaml
name: churn_suite          # optional: the folder's name otherwise
datasets:
  - name: churn
    file: churn.csv        # relative to the folder
    target: Exited
    task: classification   # optional: inferred from the target column as `automl run` does
```

Results are stored under the suite's name, so ``automl bench report --suite NAME`` reports them as it
reports a built-in suite. The whole file, and every table's target column, is checked when the suite
is loaded, before anything runs: a typo found after an hour of benchmarking costs that hour. Each
table is read once for that check and again when the harness splits it (tables are not kept in memory
between datasets).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from automl.bench.suites import SUITES, Dataset
from automl.data import load_table
from automl.data.target import TASKS, infer_task
from automl.errors import ConfigError, DataError

SUITE_FILE = "suite.yaml"
SUITE_KEYS = ("name", "datasets")
DATASET_KEYS = ("name", "file", "target", "task")
REQUIRED_KEYS = ("name", "file", "target")
# A missing target's error lists this many of the table's columns.
SHOWN_COLUMNS = 12
FORMAT_HINT = "'datasets:', a list of entries with name, file and target (task optional)"


def read_folder_suite(folder: Path) -> tuple[str, tuple[Dataset, ...]]:
    """The suite's name and datasets from ``folder/suite.yaml``; every problem is a one-line ConfigError/DataError."""
    if not folder.is_dir():
        raise ConfigError(f"benchmark suite '{folder}' is a file: pass a folder holding {SUITE_FILE}")
    path = folder / SUITE_FILE
    if not path.is_file():
        raise ConfigError(f"benchmark suite folder '{folder}' has no {SUITE_FILE}: add one holding {FORMAT_HINT}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"'{path}' cannot be read ({type(error).__name__}): fix its syntax") from None
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list) or not data["datasets"]:
        raise ConfigError(f"'{path}' must hold {FORMAT_HINT}")
    _known_keys(path, "the file", data, SUITE_KEYS)
    name = _text(path, "the suite's 'name'", data.get("name", folder.resolve().name))
    if name in SUITES:
        raise ConfigError(f"'{path}' names the suite {name!r}, a built-in suite's name: set another 'name:'")
    datasets = tuple(_dataset(folder, path, position, entry) for position, entry in enumerate(data["datasets"], 1))
    names = [dataset.name for dataset in datasets]
    repeated = sorted({dataset for dataset in names if names.count(dataset) > 1})
    if repeated:
        raise ConfigError(f"'{path}' lists dataset name(s) {', '.join(repeated)} more than once: rename them")
    return name, datasets


def _known_keys(path: Path, where: str, entry: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [str(key) for key in entry if key not in allowed]
    if unknown:
        raise ConfigError(f"'{path}': {where} has unknown key(s) {', '.join(unknown)}: use only {', '.join(allowed)}")


def _text(path: Path, what: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"'{path}': {what} must be a non-empty text, got {value!r}")
    return value.strip()


def _dataset(folder: Path, path: Path, position: int, entry: object) -> Dataset:
    """One entry of ``datasets:`` as a Dataset, its file read once to check the target and settle the task."""
    where = f"dataset {position}"
    if not isinstance(entry, dict):
        raise ConfigError(f"'{path}': {where} must be a mapping with name, file and target, got {entry!r}")
    _known_keys(path, where, entry, DATASET_KEYS)
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    if missing:
        raise ConfigError(f"'{path}': {where} lacks {', '.join(missing)}: give name, file and target (task optional)")
    name = _text(path, f"{where}'s name", entry["name"])
    where = f"dataset {name!r}"
    file = folder / _text(path, f"{where}'s file", entry["file"])
    target = _text(path, f"{where}'s target", entry["target"])
    if not file.is_file():
        raise DataError(f"'{path}': {where}'s file '{file}' does not exist: fix 'file' (it is relative to '{folder}')")
    frame = load_table(str(file))
    if target not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:SHOWN_COLUMNS])) + (", ..." if frame.shape[1] > SHOWN_COLUMNS else "")
        raise DataError(f"'{path}': {where}'s target {target!r} is not a column of '{file.name}': fix 'target' "
                        f"(its columns: {shown})")  # fmt: skip
    if "task" in entry:
        task = entry["task"]
        if task not in TASKS:
            raise ConfigError(f"'{path}': {where}'s task must be {' or '.join(TASKS)} (or left out), got {task!r}")
    else:
        task = infer_task(frame[target])
    description = f"{file.name}: {len(frame)} rows, {frame.shape[1] - 1} features"
    return Dataset(name, task, functools.partial(load_table, str(file)), description, target=target)
