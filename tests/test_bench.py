"""automl bench: suites, protocol, resumable store, imputation of failures, ranking math and the report."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl.bench import bench_report, run_bench
from automl.bench import frameworks as registry
from automl.bench.frameworks import Outcome, Task, align_proba
from automl.bench.harness import cpu_fence, process_scratch, run_one, split
from automl.bench.lanes import lane_cpus, pinned
from automl.bench.metrics import Predictions
from automl.bench.ranking import rank, rank_values
from automl.bench.store import ResultStore
from automl.bench.suites import OFFLINE, SMOKE, SUITES
from automl.errors import ConfigError

SMOKE_BUDGET = 15.0
# automl stops after this many trials (it finishes well inside the budget): the fixture is half as long.
SMOKE_TRIALS = 8
REAL_DATASETS = ("breast_cancer_300", "regression_300")
# random is automl with another facade (test_search_modes.py runs it); the bench command runs in test_bench_llm.py.
REAL_FRAMEWORKS = ["default", "automl"]


@pytest.fixture(scope="module")
def smoke_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """One real benchmark of two smoke datasets (two frameworks, one seed, 15 s or 8 trials each), shared by the
    tests.

    Iris is left out: on one core its verification alone takes 6 s, and a budget that leaves it a search
    (20 s) would double the fixture; its main metric is checked on the fast stand-in frameworks."""
    db = tmp_path_factory.mktemp("bench") / "bench.db"
    rows = run_bench("smoke", SMOKE_BUDGET, 1, REAL_FRAMEWORKS, db, cores=1, datasets=REAL_DATASETS,
                     trials=SMOKE_TRIALS)  # fmt: skip
    return db, rows


def guess_first_label(task: Task) -> Outcome:
    """A fast stand-in framework: the first training label (or value) for every test row."""
    n = len(task.X_test)
    if task.task == "regression":
        return Outcome(Predictions(values=np.full(n, float(task.y_train[0]))), 0.01, {})
    proba = np.zeros((n, len(task.classes)))
    proba[:, list(task.classes).index(task.y_train[0])] = 1.0
    return Outcome(Predictions(labels=np.repeat(task.y_train[0], n), proba=proba), 0.01, {})


def _broken(task: Task) -> Outcome:
    raise RuntimeError("this framework always fails")


def _wrong_shape(task: Task) -> Outcome:
    return Outcome(Predictions(labels=np.asarray(["x"]), proba=np.ones((1, 1)), values=np.ones(1)), 0.01, {})


@pytest.mark.e2e
def test_real_bench_stores_one_row_per_combination(smoke_db: tuple[Path, list[dict[str, Any]]]) -> None:
    db, rows = smoke_db
    stored = ResultStore(db).rows()
    assert len(stored) == len(rows) == len(REAL_DATASETS) * len(REAL_FRAMEWORKS)
    assert {(row["dataset"], row["framework"]) for row in stored} == {
        (dataset, name) for dataset in REAL_DATASETS for name in REAL_FRAMEWORKS
    }
    for row in stored:
        assert row["status"] == "ok", row["error"]
        assert row["main_value"] is not None and math.isfinite(row["main_value"])
        assert row["seconds"] < 2 * SMOKE_BUDGET + 30 and not row["over_budget"]
        assert row["versions"]["scikit-learn"] and row["timestamp"] and row["trials"] == SMOKE_TRIALS
    by_key = {(row["dataset"], row["framework"]): row for row in stored}
    assert by_key[("breast_cancer_300", "automl")]["main_metric"] == "roc_auc"
    assert by_key[("breast_cancer_300", "automl")]["main_value"] > 0.9
    assert by_key[("breast_cancer_300", "automl")]["info"]["n_trials"] == SMOKE_TRIALS
    assert by_key[("regression_300", "automl")]["main_metric"] == "rmse"


@pytest.mark.e2e
def test_second_call_skips_existing_rows(smoke_db: tuple[Path, list[dict[str, Any]]]) -> None:
    db, _ = smoke_db
    before = ResultStore(db).rows()
    messages: list[str] = []
    again = run_bench("smoke", SMOKE_BUDGET, 1, REAL_FRAMEWORKS, db, cores=1, datasets=REAL_DATASETS,
                      trials=SMOKE_TRIALS, progress=messages.append)  # fmt: skip
    assert all(row["reused"] for row in again) and len(again) == len(before)
    assert ResultStore(db).rows() == before
    assert all("skipped" in message for message in messages)


@pytest.mark.e2e
def test_report_writes_table_and_plots(smoke_db: tuple[Path, list[dict[str, Any]]], tmp_path: Path) -> None:
    db, _ = smoke_db
    text, plots = bench_report(db, tmp_path / "report")
    assert "| framework | mean rank |" in text and f"Suite `smoke`, budget {SMOKE_BUDGET:g} s" in text
    for name in REAL_FRAMEWORKS:
        assert f"| {name} |" in text
    assert (tmp_path / "report" / "ranks.md").read_text().strip() == text.strip()
    assert [path.name for path in plots] == ["scores.png", "ranks.png"]
    assert all(path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG" for path in plots)


def test_new_frameworks_and_seeds_are_added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.FRAMEWORKS, "guess", guess_first_label)
    monkeypatch.setitem(registry.FRAMEWORKS, "other", guess_first_label)
    db = tmp_path / "bench.db"
    first = run_bench("smoke", 1.0, 1, ["guess"], db, cores=1)
    assert [row["reused"] for row in first] == [False] * len(SMOKE)
    second = run_bench("smoke", 1.0, 2, ["guess", "other"], db, cores=1)
    assert sum(not row["reused"] for row in second) == len(SMOKE) * 4 - len(SMOKE)
    assert len(ResultStore(db).rows()) == len(SMOKE) * 4
    run_bench("smoke", 2.0, 1, ["guess"], db, cores=1)  # another budget is another row
    assert len(ResultStore(db).rows(budget=2.0)) == len(SMOKE)


def test_datasets_keeps_only_the_named_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.FRAMEWORKS, "guess", guess_first_label)
    db = tmp_path / "bench.db"
    rows = run_bench("smoke", 1.0, 1, ["guess"], db, cores=1, datasets=["regression_300", "iris"])
    assert [row["dataset"] for row in rows] == ["iris", "regression_300"]  # the suite's order
    with pytest.raises(ConfigError, match="--datasets irls: choose from breast_cancer_300, iris, regression_300"):
        run_bench("smoke", 1.0, 1, ["guess"], db, cores=1, datasets=["irls"])


@pytest.mark.parametrize("failing", [_broken, _wrong_shape])
def test_failing_framework_gets_the_constant_predictor(
    failing: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.FRAMEWORKS, "failing", failing)
    monkeypatch.setitem(registry.FRAMEWORKS, "guess", guess_first_label)
    db = tmp_path / "bench.db"
    rows = {row["dataset"]: row for row in run_bench("smoke", 1.0, 1, ["failing", "guess"], db, 1)
            if row["framework"] == "failing"}  # fmt: skip
    assert {row["status"] for row in rows.values()} == {"failed"}
    assert "always fails" in rows["iris"]["error"] or "expected" in rows["iris"]["error"]
    assert rows["breast_cancer_300"]["roc_auc"] == pytest.approx(0.5)  # a constant score ranks nothing
    _, _, iris_train, iris_test = split(SMOKE[0], 0)
    prior = {label: np.mean(iris_train == label) for label in set(iris_train)}  # the training class shares
    assert rows["iris"]["log_loss"] == pytest.approx(-np.mean([np.log(prior[label]) for label in iris_test]))
    _, _, y_train, y_test = split(SMOKE[2], 0)
    assert rows["regression_300"]["rmse"] == pytest.approx(float(np.sqrt(np.mean((y_test - y_train.mean()) ** 2))))
    summary = {entry.framework: entry for entry in rank(ResultStore(db).rows()).table}
    assert summary["failing"].failures == len(SMOKE) and summary["guess"].failures == 0
    assert run_bench("smoke", 1.0, 1, ["failing"], db, 1)[0]["reused"]  # a failure is a final result


def test_flaml_missing_is_reported_not_crashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "flaml", None)  # makes `import flaml` raise ImportError
    monkeypatch.setitem(registry.FRAMEWORKS, "guess", guess_first_label)
    db = tmp_path / "bench.db"
    messages: list[str] = []
    rows = run_bench("smoke", 1.0, 1, ["flaml", "guess"], db, 1, progress=messages.append)
    flaml_rows = [row for row in rows if row["framework"] == "flaml"]
    assert [row["status"] for row in flaml_rows] == ["unavailable"] * len(SMOKE)
    assert "pip install -e '.[bench]'" in flaml_rows[0]["error"] and flaml_rows[0]["main_value"] is None
    assert any("unavailable (flaml is not installed" in message for message in messages)
    text, _ = bench_report(db, tmp_path / "report")
    assert "Not ranked (unavailable here): flaml." in text and "| flaml |" not in text
    # An unavailable row is retried on the next run (here: it stays unavailable, but is not skipped).
    again = run_bench("smoke", 1.0, 1, ["flaml"], db, 1)
    assert not any(row["reused"] for row in again)


def test_automl_on_images_without_torch_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # torch is installed here: the harness is told it is not, as a table-only install would tell it.
    monkeypatch.setattr(registry.importlib.util, "find_spec", lambda name: None if name == "torch" else object())
    rows = run_bench("images", 1.0, 1, ["automl"], tmp_path / "bench.db", 1, datasets=["shapes_16"])
    assert rows[0]["status"] == "unavailable" and "pip install -e '.[torch]'" in rows[0]["error"]


def test_unknown_names_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown benchmark suite 'nope': choose one of smoke, offline"):
        run_bench("nope", 5, 1, ["default"], tmp_path / "b.db", 1)
    with pytest.raises(ConfigError, match=r"unknown benchmark framework\(s\) \['h2o'\]: choose from automl, random"):
        run_bench("smoke", 5, 1, ["default", "h2o"], tmp_path / "b.db", 1)
    with pytest.raises(ConfigError, match="--seeds"):
        run_bench("smoke", 5, 0, ["default"], tmp_path / "b.db", 1)
    with pytest.raises(ConfigError, match="does not exist"):
        bench_report(tmp_path / "missing.db", tmp_path)


def _row(dataset: str, framework: str, metric: str, value: float | None, status: str = "ok", seed: int = 0) -> dict:
    task = "regression" if metric == "rmse" else "classification"
    reading = {"r2" if task == "regression" else "accuracy": value}  # the metric people read, here the same value
    return {"dataset": dataset, "seed": seed, "framework": framework, "main_metric": metric, "main_value": value,
            "status": status, "seconds": 1.0, "over_budget": 0, "task": task, **reading}  # fmt: skip


def test_rank_values_direction_and_ties() -> None:
    assert rank_values({"a": 0.9, "b": 0.8, "c": 0.7}, higher_better=True) == {"a": 1, "b": 2, "c": 3}
    assert rank_values({"a": 0.9, "b": 0.8, "c": 0.7}, higher_better=False) == {"a": 3, "b": 2, "c": 1}
    assert rank_values({"a": 1.0, "b": 1.0, "c": 0.5, "d": 0.5}, higher_better=True) == {
        "a": 1.5, "b": 1.5, "c": 3.5, "d": 3.5
    }  # fmt: skip
    assert rank_values({"a": 2.0, "b": 2.0, "c": 2.0}, higher_better=False) == {"a": 2, "b": 2, "c": 2}


def test_rank_table_on_hand_made_results() -> None:
    rows = [
        # binary: AUC, higher is better; x and y tie for first
        _row("bin", "x", "roc_auc", 0.95), _row("bin", "y", "roc_auc", 0.95), _row("bin", "z", "roc_auc", 0.90),
        # multiclass: log loss, lower is better
        _row("multi", "x", "log_loss", 0.30), _row("multi", "y", "log_loss", 0.20),
        _row("multi", "z", "log_loss", 1.10, status="failed"),
        # regression: RMSE, lower is better
        _row("reg", "x", "rmse", 3.0), _row("reg", "y", "rmse", 4.0), _row("reg", "z", "rmse", 5.0),
        # a second seed where z has no result yet: left out of the ranking
        _row("reg", "x", "rmse", 3.0, seed=1), _row("reg", "y", "rmse", 4.0, seed=1),
        # never ranked: unavailable everywhere
        _row("bin", "w", "roc_auc", None, status="unavailable"),
    ]  # fmt: skip
    ranking = rank(rows)
    summary = {entry.framework: entry for entry in ranking.table}
    assert summary["x"].mean_rank == pytest.approx((1.5 + 2 + 1) / 3)
    assert summary["y"].mean_rank == pytest.approx((1.5 + 1 + 2) / 3)
    assert summary["z"].mean_rank == pytest.approx(3.0)
    assert summary["x"].wins == pytest.approx(1.5) and summary["y"].wins == pytest.approx(1.5)
    assert summary["z"].wins == 0 and summary["z"].failures == 1
    assert all(entry.problems == 3 for entry in ranking.table)
    assert ranking.unavailable == ("w",) and ranking.incomplete == (("reg", 1),)
    assert [entry.framework for entry in ranking.table][-1] == "z"


def test_report_on_stored_rows_and_choice_of_combination(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "bench.db")
    base = {"suite": "smoke", "cores": 2, "versions": {"automl": "0.1.0"}, "metrics": {}, "info": {}, "error": ""}
    for budget, stamp in ((5.0, "2026-01-01T00:00:00+00:00"), (60.0, "2026-01-02T00:00:00+00:00")):
        for framework, value in (("automl", 0.99), ("flaml", 0.98)):
            store.put({**base, **_row("iris", framework, "roc_auc", value), "budget": budget, "timestamp": stamp})
    text, plots = bench_report(tmp_path / "bench.db", tmp_path / "out")
    assert "budget 60 s" in text and "smoke at 5 s" in text  # the latest run, the other one named
    assert "| iris | roc_auc ↑ | **0.9900** | 0.9800 |" in text
    assert "| iris | accuracy ↑ | **0.9900** | 0.9800 |" in text
    assert len(plots) == 2 and all(path.is_file() for path in plots)
    text, _ = bench_report(tmp_path / "bench.db", tmp_path / "out", suite="smoke", budget=5)
    assert "budget 5 s" in text
    with pytest.raises(ConfigError, match="holds smoke at 5 s, smoke at 60 s"):
        bench_report(tmp_path / "bench.db", tmp_path / "out", budget=30)
    with pytest.raises(ConfigError, match="no results for suite nope at budget any: it holds smoke at 5 s"):
        bench_report(tmp_path / "bench.db", tmp_path / "out", suite="nope")  # a stored name, or a folder's


def test_generated_data_and_splits_are_deterministic() -> None:
    for dataset in (*SMOKE, *OFFLINE):
        assert dataset.task in {"classification", "regression"}
    names = [dataset.name for dataset in OFFLINE]
    assert len(names) == len(set(names)) and set(SUITES) == {"smoke", "offline", "images"}
    large = {dataset.name: dataset for dataset in OFFLINE}["large_mixed_binary"]
    first, again = large.load()[0], large.load()[0]
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 20_000 and first.isna().any().any()
    assert not pd.api.types.is_numeric_dtype(first["shop"])  # string categoricals
    imbalanced = {dataset.name: dataset for dataset in OFFLINE}["imbalanced"].load()[0]
    assert imbalanced["target"].value_counts(normalize=True)["rare"] < 0.07
    _, X_test, y_train, y_test = split(SMOKE[0], 3)
    _, X_test2, _, _ = split(SMOKE[0], 3)
    pd.testing.assert_frame_equal(X_test, X_test2)
    assert len(X_test) == round(0.25 * 150) and set(y_test) == set(y_train)  # stratified


def test_the_image_suite_splits_arrays_and_flattens_them_for_the_table_frameworks(tmp_path: Path) -> None:
    shapes = {dataset.name: dataset for dataset in SUITES["images"]}["shapes_16"]
    X_train, X_test, y_train, y_test = split(shapes, 1)
    again = split(shapes, 1)
    assert np.array_equal(X_test, again[1]) and np.array_equal(y_train, again[2])  # the same images every call
    assert X_train.shape == (450, 1, 16, 16) and X_train.dtype == np.float32 and 0 <= X_train.min() < X_train.max() <= 1
    assert y_train.dtype.kind == "U"  # labels that .npz holds without pickle
    assert dict(zip(*np.unique(y_test, return_counts=True), strict=True)) == {"circle": 50, "square": 50,
                                                                              "triangle": 50}  # fmt: skip
    digits = split({dataset.name: dataset for dataset in SUITES["images"]}["digits_images"], 0)
    assert digits[0].shape[1:] == (1, 8, 8) and len(set(digits[3])) == 10
    task = Task(X_train, y_train, X_test, "classification", 10.0, 0, 1, tmp_path, "t")
    train_table, test_table = registry.tables(task)
    assert train_table.shape == (450, 256) and list(test_table.columns[:2]) == ["v0", "v1"]
    assert train_table.iloc[3, 17] == X_train[3, 0, 1, 1]  # row-major: pixel (1, 1) of a 16-wide image
    table = SMOKE[0]
    tabular = Task(*split(table, 0)[:3], "classification", 10.0, 0, 1, tmp_path, "t")
    assert registry.tables(tabular)[0] is tabular.X_train  # a table goes through as it is


def test_align_proba_maps_labels_that_went_through_a_file() -> None:
    classes = np.asarray(["0", "1", "2"], dtype=object)
    proba = np.asarray([[0.2, 0.5, 0.3]])
    aligned = align_proba(proba, np.asarray([2, 0, 1]), classes)  # the framework read the labels back as ints
    assert aligned.tolist() == [[0.5, 0.3, 0.2]]
    with pytest.raises(ValueError, match="class '7'"):
        align_proba(proba, np.asarray([0, 1, 7]), classes)


def test_cpu_fence_holds_the_process_to_the_cores_and_restores_them() -> None:
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    before = os.sched_getaffinity(0)
    with cpu_fence(1):
        assert len(os.sched_getaffinity(0)) == 1
    assert os.sched_getaffinity(0) == before


def test_autogluon_missing_is_reported_not_crashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI installs only '.[dev]': this is the path it sees. None in sys.modules makes the import raise.
    monkeypatch.setitem(sys.modules, "autogluon", None)
    monkeypatch.setitem(sys.modules, "autogluon.tabular", None)
    db = tmp_path / "bench.db"
    messages: list[str] = []
    rows = run_bench("smoke", 1.0, 1, ["autogluon", "autogluon_best"], db, 1, progress=messages.append)
    assert [row["status"] for row in rows] == ["unavailable"] * len(SMOKE) * 2
    assert all(row["error"] == registry.AUTOGLUON_MISSING for row in rows)
    assert "pip install -e '.[autogluon]'" in registry.AUTOGLUON_MISSING
    assert any("unavailable (autogluon is not installed" in message for message in messages)


@pytest.mark.parametrize("dataset", ["breast_cancer_300", "integer_regression"])
def test_autogluon_fits_a_tiny_table_within_its_budget(dataset: str, tmp_path: Path) -> None:
    pytest.importorskip("autogluon.tabular")
    if dataset == "integer_regression":  # whole-number targets: AutoGluon would guess multiclass
        rng = np.random.default_rng(0)
        X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y"], size=200)})
        y = np.round(5 * X["a"] + (X["b"] == "x") * 3 + 20).to_numpy(dtype=np.float64)
        X_train, X_test, y_train, y_test, task_name = (
            X[:150],
            X[150:].reset_index(drop=True),
            y[:150],
            y[150:],
            "regression",
        )
    else:
        X_train, X_test, y_train, y_test = split({d.name: d for d in SMOKE}[dataset], 0)
        task_name = "classification"
    task = Task(X_train, y_train, X_test, task_name, 3.0, 0, 1, tmp_path, "ag")
    row = run_one("autogluon", task, y_test)
    assert row["status"] == "ok", row["error"]
    assert row["seconds"] < 3.0 + 10 and row["info"]["presets"] == "medium_quality"
    if task_name == "regression":
        assert row["main_metric"] == "rmse" and row["r2"] > 0.8
    else:
        assert row["main_metric"] == "roc_auc" and row["main_value"] > 0.9
    assert any(tmp_path.glob("ag-autogluon*"))  # it wrote only under its tag


def test_lanes_must_fit_the_cores(tmp_path: Path) -> None:
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    available = len(os.sched_getaffinity(0))
    with pytest.raises(ConfigError, match=rf"--lanes {available + 1} with --cores 1 needs {available + 1} cores, "
                                          rf"but {available} are available"):  # fmt: skip
        run_bench("smoke", 1, 1, ["default"], tmp_path / "b.db", 1, lanes=available + 1)
    with pytest.raises(ConfigError, match="--lanes must be a whole number"):
        run_bench("smoke", 1, 1, ["default"], tmp_path / "b.db", 1, lanes=0)
    assert not (tmp_path / "b.db").exists()
    assert lane_cpus(1, 1) == [(min(os.sched_getaffinity(0)),)]


def test_a_lane_process_starts_on_its_own_cpus() -> None:
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    import subprocess

    before = os.sched_getaffinity(0)
    last = max(before)
    with pinned((last,)):
        child = subprocess.run([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
                               capture_output=True, text=True, timeout=60)  # fmt: skip
    assert child.stdout.strip() == f"[{last}]" and os.sched_getaffinity(0) == before


@pytest.mark.e2e
def test_lanes_give_the_rows_of_one_lane_and_store_them_once(tmp_path: Path) -> None:
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("two lanes need two CPUs")
    one, two = tmp_path / "one.db", tmp_path / "two.db"
    run_bench("smoke", 1.0, 1, ["default"], one, cores=1)
    messages: list[str] = []
    rows = run_bench("smoke", 1.0, 1, ["default"], two, cores=1, lanes=2, progress=messages.append)
    assert [row["dataset"] for row in rows] == [dataset.name for dataset in SMOKE]  # the plan's order
    assert any("in lane 2 (CPU" in message for message in messages)

    def scores(db: Path) -> dict[tuple, tuple]:
        return {(r["dataset"], r["framework"], r["seed"]): (r["status"], r["main_value"], r["cores"], r["n_test"])
                for r in ResultStore(db).rows()}  # fmt: skip

    assert scores(two) == scores(one) and len(ResultStore(two).rows()) == len(SMOKE)
    assert {row["status"] for row in rows} == {"ok"} and not any(row["reused"] for row in rows)
    again = run_bench("smoke", 1.0, 1, ["default"], two, cores=1, lanes=2)  # resumes: nothing left to run
    assert all(row["reused"] for row in again) and len(ResultStore(two).rows()) == len(SMOKE)


def test_a_lane_whose_process_dies_is_a_failed_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("two lanes need two CPUs")
    dying = tmp_path / "dying.sh"
    dying.write_text("#!/bin/sh\necho 'the process went away'\nexit 3\n")
    dying.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(dying))  # what a lane starts its run with
    rows = {row["dataset"]: row for row in run_bench("smoke", 1.0, 1, ["default"], tmp_path / "b.db", 1, lanes=2)}
    assert {row["status"] for row in rows.values()} == {"failed"}
    assert "the process went away" in rows["iris"]["error"] and "exit code 3" in rows["iris"]["error"]
    assert rows["breast_cancer_300"]["roc_auc"] == pytest.approx(0.5)  # the constant predictor, as for a raise
    assert not list(process_scratch().glob("*-lane*"))  # its log and any partial row were removed
