"""automl bench --suite FOLDER: a user's tables and suite.yaml, loaded, checked, run and reported by name."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl import cli
from automl.bench import bench_report, run_bench
from automl.bench import frameworks as registry
from automl.bench.harness import run_job
from automl.bench.store import ResultStore
from automl.bench.suites import load_suite, suite_name
from automl.errors import ConfigError, DataError
from tests.test_bench import guess_first_label

SUITE_YAML = """\
datasets:
  - name: churn
    file: churn.csv
    target: Exited
    task: classification
  - name: prices
    file: data/prices.parquet
    target: price
"""


def _suite_folder(root: Path, text: str = SUITE_YAML) -> Path:
    """A suite folder: a binary CSV (string labels), a regression Parquet file in a subfolder, and ``text``."""
    rng = np.random.default_rng(0)
    folder = root / "my_suite"
    (folder / "data").mkdir(parents=True)
    x = rng.normal(size=(120, 3))
    churn = pd.DataFrame({"age": x[:, 0], "balance": x[:, 1], "plan": rng.choice(["a", "b"], size=120)})
    churn["Exited"] = np.where(x[:, 0] + rng.normal(scale=0.5, size=120) > 0, "yes", "no")
    churn.to_csv(folder / "churn.csv", index=False)
    prices = pd.DataFrame({"rooms": x[:, 2], "size": x[:, 0]})
    prices["price"] = 100.0 + 10 * x[:, 2] + rng.normal(size=120)
    prices.to_parquet(folder / "data" / "prices.parquet", index=False)
    (folder / "suite.yaml").write_text(text)
    return folder


def test_a_folder_suite_loads_with_its_tasks_and_name(tmp_path: Path) -> None:
    folder = _suite_folder(tmp_path)
    suite = load_suite(str(folder))
    assert suite.name == "my_suite" and suite.source == str(folder.resolve())
    assert [(d.name, d.task, d.target) for d in suite.datasets] == [
        ("churn", "classification", "Exited"),
        ("prices", "regression", "price"),  # inferred from the numeric target
    ]
    frame, target = suite.datasets[0].load()
    assert target == "Exited" and frame.shape == (120, 4)
    assert suite_name(str(folder)) == "my_suite" and suite_name("my_suite") == "my_suite"
    (folder / "suite.yaml").write_text("name: churn_bench\n" + SUITE_YAML)
    assert load_suite(str(folder)).name == "churn_bench"


def test_a_folder_suite_runs_selects_and_reports_under_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.FRAMEWORKS, "first", guess_first_label)
    monkeypatch.setitem(registry.FRAMEWORKS, "other", guess_first_label)
    folder = _suite_folder(tmp_path)
    db = tmp_path / "bench.db"
    rows = run_bench(str(folder), 1.0, 1, ["first", "other"], db, cores=1, datasets=["prices"])
    assert {(row["suite"], row["dataset"]) for row in rows} == {("my_suite", "prices")}
    assert {row["status"] for row in rows} == {"ok"} and rows[0]["main_metric"] == "rmse"
    run_bench(str(folder), 1.0, 1, ["first", "other"], db, cores=1)  # adds churn, reuses prices
    assert len(ResultStore(db).rows(suite="my_suite")) == 4
    run_bench("smoke", 1.0, 1, ["first"], db, cores=1, datasets=["iris"])  # another suite in the same database
    text, _ = bench_report(db, tmp_path / "report", suite=str(folder))  # by its folder (or the name, as any suite)
    assert "Suite `my_suite`" in text and "| churn | roc_auc ↑ |" in text and "| iris |" not in text
    with pytest.raises(ConfigError, match="--datasets nope: choose from churn, prices"):
        run_bench(str(folder), 1.0, 1, ["first"], db, cores=1, datasets=["nope"])
    # What a lane's process is handed: the folder, loaded again there.
    row = run_job(str(folder.resolve()), "churn", 0, "first", 1.0, 1, str(tmp_path), "lane")
    assert row["status"] == "ok" and row["main_metric"] == "roc_auc"


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ("no folder", ConfigError, "unknown benchmark suite '.*nowhere': choose one of smoke, offline, images, or"),
        ("a file", ConfigError, "is a file: pass a folder holding suite.yaml"),
        ("no yaml", ConfigError, "has no suite.yaml: add one holding 'datasets:'"),
        ("datasets: [", ConfigError, r"cannot be read \(.*Error\): fix its syntax"),
        ("datasets: churn.csv", ConfigError, "must hold 'datasets:', a list of entries with name, file and target"),
        ("{SUITE}owner: me\n", ConfigError, "the file has unknown key\\(s\\) owner: use only name, datasets"),
        ("datasets:\n  - {name: a, file: churn.csv, target: Exited, tsk: regression}", ConfigError,
         "dataset 1 has unknown key\\(s\\) tsk: use only name, file, target, task"),
        ("datasets:\n  - {name: a, file: churn.csv}", ConfigError, "dataset 1 lacks target: give name, file and"),
        ("datasets:\n  - {name: a, file: churm.csv, target: Exited}", DataError,
         "dataset 'a''s file '.*churm.csv' does not exist: fix 'file' \\(it is relative to"),
        ("datasets:\n  - {name: a, file: churn.csv, target: exited}", DataError,
         "dataset 'a''s target 'exited' is not a column of 'churn.csv': fix 'target' \\(its columns: age, balance"),
        ("datasets:\n  - {name: a, file: churn.csv, target: Exited, task: binary}", ConfigError,
         "dataset 'a''s task must be classification or regression \\(or left out\\), got 'binary'"),
        ("name: smoke\n{SUITE}", ConfigError, "names the suite 'smoke', a built-in suite's name: set another 'name:'"),
        ("{SUITE}  - {name: churn, file: churn.csv, target: age}\n", ConfigError,
         "lists dataset name\\(s\\) churn more than once: rename them"),
    ],
)  # fmt: skip
def test_a_bad_suite_is_a_one_line_error(tmp_path: Path, change: str, error: type, message: str) -> None:
    folder = _suite_folder(tmp_path)
    spec = str(folder)
    if change == "no folder":
        spec = str(tmp_path / "nowhere")
    elif change == "a file":
        spec = str(folder / "churn.csv")
    elif change == "no yaml":
        (folder / "suite.yaml").unlink()
    else:
        (folder / "suite.yaml").write_text(change.replace("{SUITE}", SUITE_YAML))
    with pytest.raises(error, match=message) as raised:
        load_suite(spec)
    assert "\n" not in str(raised.value)


def test_the_bench_command_names_a_bad_suite_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # The console entry point in this process (a new process would pay seconds of imports).
    folder = _suite_folder(tmp_path, SUITE_YAML.replace("target: Exited", "target: Exit"))
    monkeypatch.setattr(sys, "argv", ["automl", "bench", "--suite", str(folder), "--frameworks", "default",
                                      "--db", str(tmp_path / "b.db")])  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "target 'Exit' is not a column of 'churn.csv'" in lines[0], stderr
