"""What the report reads from a run directory: its JSON files and the finished trials of its run history.

A run may have stopped anywhere (interrupted, crashed, still running), so every file is optional:
what is missing becomes None or an empty list, and the page says so instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl._io import read_json_or_none
from automl.report.plots import TrialPoint
from automl.result import RunSummary, read_summary
from automl.rundir import RunPaths

# SMAC's StatusType values in runhistory.json; 0 (running) never reaches a finished history.
SMAC_STATUS = {1: "success", 2: "crashed", 3: "timeout", 4: "memoryout"}

History = tuple[list[TrialPoint], list[dict[str, Any]], list[str]]  # trials, their configurations, their errors


@dataclass
class RunRecord:
    """The run directory's files, each None when the run stopped before writing it."""

    paths: RunPaths
    run: dict[str, Any] | None
    dataset: dict[str, Any] | None
    plan: dict[str, Any] | None
    scenario: dict[str, Any] | None
    verify: dict[str, Any] | None
    result: RunSummary | None
    card: dict[str, Any] | None
    trials: list[TrialPoint] = field(default_factory=list)
    configs: list[dict[str, Any]] = field(default_factory=list)  # parallel to trials
    errors: list[str] = field(default_factory=list)  # parallel to trials
    timed_from: str = ""  # where trial times came from

    @property
    def task(self) -> str | None:
        if self.result is not None:
            return self.result.dataset.task
        for source in (self.dataset, self.card):
            if isinstance(source, dict) and source.get("task"):
                return str(source["task"])
        return None

    @property
    def loss(self) -> str:
        if self.result is not None:
            return self.result.loss
        return "rmse" if self.task == "regression" else "log_loss"

    @property
    def seed(self) -> int:
        return int(((self.run or {}).get("arguments") or {}).get("seed") or 0)


def _group(config: dict[str, Any], has_algorithm: bool) -> str:
    return str(config.get("algorithm", "")) if has_algorithm else ""


def _history_from_smac(path: Path) -> History | None:
    """Finished trials from SMAC's runhistory.json, in the order they finished, with their times."""
    history = read_json_or_none(path)
    if not isinstance(history, dict) or not isinstance(history.get("data"), list):
        return None
    configs = history.get("configs") or {}
    entries = [entry for entry in history["data"] if entry.get("status") in SMAC_STATUS]
    entries.sort(key=lambda entry: entry.get("endtime") or 0.0)
    if not entries:
        return [], [], []
    start = min(float(entry.get("starttime") or 0.0) for entry in entries)
    has_algorithm = any("algorithm" in (configs.get(str(e["config_id"])) or {}) for e in entries)
    points, chosen, errors = [], [], []
    for index, entry in enumerate(entries, start=1):
        config = dict(configs.get(str(entry["config_id"])) or {})
        status = SMAC_STATUS[entry["status"]]
        info = entry.get("additional_info") or {}
        points.append(
            TrialPoint(
                index,
                float(entry.get("endtime") or start) - start,
                float(entry["cost"]),
                status == "success",
                status,
                _group(config, has_algorithm),
                entry.get("budget"),
                int(entry["config_id"]),
            )
        )
        chosen.append(config)
        errors.append(str(info.get("error") or ""))
    return points, chosen, errors


def _history_from_trials(path: Path) -> History:
    """Finished trials from trials.json when SMAC's history is gone: their order, but no times."""
    trials = read_json_or_none(path)
    if not isinstance(trials, list):
        return [], [], []
    trials = [trial for trial in trials if isinstance(trial, dict) and isinstance(trial.get("cost"), int | float)]
    has_algorithm = any("algorithm" in (trial.get("config") or {}) for trial in trials)
    points = [
        TrialPoint(
            index,
            None,
            float(trial["cost"]),
            trial.get("status") == "success",
            str(trial.get("status")),
            _group(trial.get("config") or {}, has_algorithm),
            trial.get("budget"),
            int(trial.get("config_id") or 0),
        )
        for index, trial in enumerate(trials, start=1)
    ]
    return points, [dict(trial.get("config") or {}) for trial in trials], [str(t.get("error") or "") for t in trials]


def load_run(run_dir: Path) -> RunRecord:
    """Everything the report shows, read from ``run_dir``; missing files become None."""
    paths = RunPaths(Path(run_dir).resolve())
    record = RunRecord(
        paths=paths,
        run=read_json_or_none(paths.run_json),
        dataset=read_json_or_none(paths.dataset_json),
        plan=read_json_or_none(paths.plan_json),
        scenario=read_json_or_none(paths.scenario_json),
        verify=read_json_or_none(paths.verify_json),
        result=read_summary(paths.result_json),
        card=read_json_or_none(paths.model_json),
    )
    smac_history = paths.smac_dir / "smac" / str(record.seed) / "runhistory.json"
    if not smac_history.is_file():
        smac_history = next(iter(sorted(paths.smac_dir.glob("smac/*/runhistory.json"))), smac_history)
    history = _history_from_smac(smac_history)
    if history is not None:
        record.timed_from = "SMAC's run history"
    else:
        history = _history_from_trials(paths.trials_json)
    record.trials, record.configs, record.errors = history
    return record
