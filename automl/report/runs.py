"""The runs under a folder side by side (``automl runs``): what each tried, how well it did, whether it finished.

Every field is read defensively: a folder may hold runs that were interrupted, are still running
or stopped at an error, and one broken run must not hide the others.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from automl._io import read_json_or_none
from automl.result import read_summary
from automl.rundir import RunPaths

# The one test metric a run is summarized by: what a reader of that task compares runs on.
MAIN_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}
# The loss SMAC minimizes per task (as result.json's ``loss`` says), for runs that never wrote one.
LOSS_NAMES = {"classification": "log_loss", "regression": "rmse"}


def main_test_metric(task: str | None, metrics: dict[str, Any]) -> tuple[str, float] | None:
    """``(name, value)`` of a run's headline test metric: ROC AUC for two classes, accuracy for more,
    RMSE for regression; None when the run has no test score."""
    if task == "regression":
        name = MAIN_METRIC["regression"]
    else:
        name = MAIN_METRIC["binary"] if "roc_auc" in metrics else MAIN_METRIC["multiclass"]
    value = metrics.get(name)
    return (name, float(value)) if isinstance(value, int | float) else None


def _started(run: dict[str, Any], root: Path) -> float:
    """When the run started (epoch seconds): run.json's time, else the folder's modification time."""
    try:
        return datetime.strptime(str(run.get("started")), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return root.stat().st_mtime


def _best_trial_loss(paths: RunPaths) -> float | None:
    """The lowest successful trial cost in trials.json (for runs that never wrote result.json)."""
    trials = read_json_or_none(paths.trials_json)
    if not isinstance(trials, list):
        return None
    costs = [t.get("cost") for t in trials if isinstance(t, dict) and t.get("status") == "success"]
    finite = [float(cost) for cost in costs if isinstance(cost, int | float) and math.isfinite(cost)]
    return min(finite) if finite else None


def describe_run(root: Path) -> dict[str, Any] | None:
    """One run directory's row, or None when ``root`` is not a run directory (no readable run.json)."""
    paths = RunPaths(root)
    run = read_json_or_none(paths.run_json)
    if not isinstance(run, dict):
        return None
    arguments = run.get("arguments") if isinstance(run.get("arguments"), dict) else {}
    result = read_summary(paths.result_json)
    plan = read_json_or_none(paths.plan_json)
    trials = read_json_or_none(paths.trials_json)
    if result is not None:
        status = "interrupted" if result.interrupted else "finished"
        n_trials = result.n_trials
        best = result.validation_loss
        seconds = result.timings.get("total")
    else:
        status = "failed" if isinstance(run.get("error"), str) else "incomplete"
        n_trials = len(trials) if isinstance(trials, list) else None
        best = _best_trial_loss(paths)
        seconds = None
    dataset = read_json_or_none(paths.dataset_json)
    task = dataset.get("task") if isinstance(dataset, dict) else None
    writer = result.writer if result else run.get("writer")
    if writer == "llm" and run.get("model"):
        writer = f"llm:{run['model']}"
    facade = result.facade if result else (plan.get("facade") if isinstance(plan, dict) else None)
    return {
        "name": root.name,
        "path": str(root),
        "started": _started(run, root),
        "dataset": arguments.get("data"),
        "facade": facade,
        "writer": writer,
        "trials": n_trials,
        "loss": result.loss if result else LOSS_NAMES.get(str(task)),
        "best_loss": best if isinstance(best, int | float) else None,
        "test_metric": main_test_metric(result.dataset.task, result.test_metrics) if result else None,
        "seconds": seconds if isinstance(seconds, int | float) else None,
        "status": status,
        "error": run.get("error") if status == "failed" else None,  # why it stopped, on one line
    }


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run directory directly under ``root`` (those with a run.json), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [describe_run(child) for child in sorted(root.iterdir()) if child.is_dir()]
    return sorted((run for run in runs if run is not None), key=lambda run: (run["started"], run["name"]))


def _text(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


STATUS_STYLE = {"finished": "green", "interrupted": "yellow", "incomplete": "red", "failed": "red"}


def runs_table(runs: list[dict[str, Any]]) -> Table:
    """One row per run from :func:`list_runs`; the test metric cell names its metric, since tasks differ."""
    table = Table(title="automl runs", title_justify="left")
    for column, justify in (
        ("run", "left"),
        ("dataset", "left"),
        ("facade", "left"),
        ("writer", "left"),
        ("trials", "right"),
        ("best validation loss", "right"),
        ("test metric", "right"),
        ("time (s)", "right"),
        ("status", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for run in runs:
        loss = _text(run["best_loss"])
        if run["best_loss"] is not None and run.get("loss"):
            loss = f"{loss} ({run['loss']})"
        metric = run["test_metric"]
        cells = (
            run["name"],
            _text(run["dataset"]),
            _text(run["facade"]),
            _text(run["writer"]),
            _text(run["trials"]),
            loss,
            f"{metric[0]} {metric[1]:.4f}" if metric else "-",
            _text(run["seconds"], 1),
        )
        # Text, not markup: a folder or dataset name with brackets must print as it is.
        status = f"{run['status']}: {run['error']}" if run.get("error") else run["status"]
        table.add_row(*(Text(cell) for cell in cells), Text(status, style=STATUS_STYLE.get(run["status"], "")))
    return table
