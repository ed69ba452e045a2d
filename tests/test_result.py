"""result.json is written and read through one type, and the readers tolerate runs that never finished."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl.result import BudgetSummary, DatasetSummary, Fallback, ModelUsage, RefitSummary, RunSummary, read_summary


def summary() -> RunSummary:
    return RunSummary(
        run_dir="/runs/x",
        dataset=DatasetSummary(
            "sklearn:iris",
            "target",
            "classification",
            {"train": 80, "validation": 40, "test": 30},
            "held out 20%",
            "abc",
        ),
        writer="offline",
        fallback=Fallback("llm:openai/x", "timed out"),
        rejected_drafts=2,
        scenario_notes=["n_trials lowered"],
        llm=ModelUsage("openai/x", 3, 1200, None, 4.5, False),
        facade="mf",
        budget=BudgetSummary("n_estimators", 10.0, 100.0, [10.0, 100.0]),
        cv_folds=None,
        incumbent_folds=None,
        workers=1,
        interrupted=False,
        n_trials=12,
        trial_statuses={"success": 11, "crashed": 1},
        incumbent={"algorithm": "rf"},
        loss="log_loss",
        validation_loss=0.12,
        validation_metrics={"log_loss": 0.12},
        test_metrics={"accuracy": 0.9},
        refit=RefitSummary("success", "", 1.5, 5),
        sandbox="bubblewrap",
        timings={"total": 20.0},
        stopped_by="time",
    )


def test_summary_round_trips_through_result_json(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    summary().write(path)
    written = json.loads(path.read_text())
    assert written["fallback"] == {"from": "llm:openai/x", "reason": "timed out"}  # the file's key, not from_
    assert list(written)[:3] == ["run_dir", "dataset", "writer"]
    assert RunSummary.read(path) == summary()


def test_unknown_keys_are_ignored_and_missing_required_ones_raise(tmp_path: Path) -> None:
    data = summary().to_dict() | {"from_a_later_version": 1}
    assert RunSummary.from_dict(data) == summary()
    del data["refit"]
    with pytest.raises(KeyError):
        RunSummary.from_dict(data)


def test_read_summary_is_none_for_missing_or_unreadable_files(tmp_path: Path) -> None:
    assert read_summary(tmp_path / "result.json") is None
    (tmp_path / "result.json").write_text('{"run_dir": "x"}')
    assert read_summary(tmp_path / "result.json") is None
    summary().write(tmp_path / "result.json")
    assert read_summary(tmp_path / "result.json") == summary()


def test_a_result_from_before_stopped_by_still_reads() -> None:
    data = summary().to_dict()
    del data["stopped_by"]
    assert RunSummary.from_dict(data).stopped_by == ""


def test_what_ended_the_search() -> None:
    from automl.stages.optimize import stopped_by

    assert stopped_by(interrupted=False, finished=40, cap=40) == "trials"
    assert stopped_by(interrupted=False, finished=31, cap=40) == "time"
    assert stopped_by(interrupted=False, finished=900, cap=None) == "time"  # no cap: only the walltime ends it
    assert stopped_by(interrupted=True, finished=40, cap=40) == "interrupted"
