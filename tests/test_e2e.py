"""End-to-end runs of the CLI and the Python API on small budgets, asserting on artifacts and scores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris

from automl import AutoML, cli
from tests.conftest import mixed_table

pytestmark = pytest.mark.e2e

# Runs the CLI in a fresh interpreter and reports whether litellm got imported on the way.
CLI = (
    "import sys\n"
    "from automl.cli import main\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    print('LITELLM_IMPORTED' if 'litellm' in sys.modules else '', file=sys.stderr)\n"
)


def automl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=240)


def test_default_run_is_quick_accurate_and_complete(tmp_path: Path) -> None:
    done = automl("run", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "LITELLM_IMPORTED" not in done.stderr  # the offline path never imports litellm
    run = tmp_path / "run"
    for name in (
        "run.json",
        "dataset.json",
        "plan.json",
        "config_space.json",
        "scenario.json",
        "train.py",
        "verify.json",
        "result.json",
        "trials.json",
        "model/members/00/model.joblib",
        "model/metadata.json",
    ):
        assert (run / name).is_file(), name
    assert (run / "smac").is_dir() and any((run / "trials").iterdir())
    result = json.loads((run / "result.json").read_text())
    assert result["test_metrics"]["accuracy"] >= 0.95
    assert set(result["test_metrics"]) == {"accuracy", "balanced_accuracy", "f1", "f1_macro", "log_loss", "roc_auc"}
    assert result["metric"] == result["loss"] == "log_loss"
    assert result["facade"] == "hpo" and result["n_trials"] >= 10
    assert result["timings"]["total"] < 60
    assert result["cv_folds"] == 5  # small data: tuned on folds (455 non-test rows)
    assert "455 rows to tune on 5 folds" in " ".join(done.stdout.replace("│", " ").split())  # the table's words
    incumbent = [t for t in json.loads((run / "trials.json").read_text()) if t["config"] == result["incumbent"]]
    assert result["validation_loss"] == pytest.approx(sum(t["cost"] for t in incumbent) / len(incumbent))
    scenario = json.loads((run / "scenario.json").read_text())
    assert 0 < scenario["crash_cost"] < float("inf")
    assert scenario["n_trials"] == 40 and result["stopped_by"] in ("trials", "time")  # no --walltime: the preset's cap
    assert json.loads((run / "verify.json").read_text())["accepted"] is True
    assert "seccomp" in result["sandbox"]
    card = json.loads((run / "model" / "metadata.json").read_text())
    assert len(card["members"]) == result["refit"]["ensemble_size"] >= 1
    assert result["refit"]["method"] == "ensemble_selection" and sum(
        m["weight"] for m in card["members"]
    ) == pytest.approx(1.0)
    # Every successful trial left its validation predictions, and its cost is the runner's log loss of them.
    trials = [t for t in json.loads((run / "trials.json").read_text()) if t["status"] == "success"]
    kept = {p.name for p in (run / "predictions").iterdir()}
    assert kept <= {t["model_dir"] + ".npz" for t in trials} and len(kept) >= min(len(trials), 25)
    assert all(t["model_dir"] + ".npz" in kept for t in trials if t["config"] == result["incumbent"])
    assert all(t["cost"] == t["metrics"]["log_loss"] for t in trials)
    assert result["refit"]["validation_loss"] <= result["validation_loss"] + 1e-9  # greedy starts from the best
    # On folds, the members' bags are the search's own fold models: copied, not fitted again.
    members = run / "model" / "members"
    assert result["refit"]["bag_models"] == sum(len(m["bag"]) for m in card["members"]) >= 1
    assert all((members / m["dir"] / fold / "model.joblib").is_file() for m in card["members"] for fold in m["bag"])
    words = " ".join(done.stdout.replace("│", " ").split())
    assert f"final model {len(card['members'])} member" in words and "fold models in their bags" in words
    assert "test accuracy" in done.stdout


def test_csv_with_categoricals_runs_and_predicts_original_labels(tmp_path: Path) -> None:
    data = tmp_path / "mixed.csv"
    mixed_table(300).to_csv(data, index=False)
    done = automl(
        "run",
        "--data",
        str(data),
        "--target",
        "label",
        "--scenario",
        "quick",
        "--walltime",
        "12",
        "--metric",
        "balanced_accuracy",
        "--no-bag",
        "--out",
        "run",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["dataset"]["task"] == "classification"
    assert result["test_metrics"]["accuracy"] > 0.75
    # --metric: SMAC minimized 1 - balanced accuracy, the threshold was tuned for it, the summary leads with it.
    assert result["metric"] == "balanced_accuracy" and result["loss"] == "1 - balanced_accuracy"
    trials = [t for t in json.loads((tmp_path / "run" / "trials.json").read_text()) if t["status"] == "success"]
    assert all(t["cost"] == pytest.approx(1 - t["metrics"]["balanced_accuracy"]) for t in trials)
    card = json.loads((tmp_path / "run" / "model" / "metadata.json").read_text())
    assert 0 < card["threshold"] < 1 and card["threshold"] == result["refit"]["threshold"]
    assert result["refit"]["bag_models"] == 0 and all(not m["bag"] for m in card["members"])  # --no-bag
    assert done.stdout.index("test balanced_accuracy") < done.stdout.index("test accuracy")
    # --walltime without --trials: the quick preset's 20 trials do not cap the search, the 12 s end it, report included.
    assert json.loads((tmp_path / "run" / "scenario.json").read_text())["n_trials"] is None
    assert result["stopped_by"] == "time" and "trials until the time is spent" in done.stdout
    used = result["timings"]["total"] + result["timings"]["report"]
    print(f"walltime 12: {used:.2f} s used, {result['n_trials']} trials")
    assert 0.6 * 12 <= used <= 1.25 * 12  # loose: other jobs share the test machine's 2 cores

    new_rows = mixed_table(40, seed=5).drop(columns="label")
    new_rows.loc[0, "colour"] = "purple"  # a level never seen in training
    new_path = tmp_path / "new.csv"
    new_rows.to_csv(new_path, index=False)
    done = automl("predict", "run", "--data", str(new_path), "--out", "predictions.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == 40
    assert set(predictions["prediction"]) <= {"yes", "no"}
    assert np.allclose(predictions[["proba_no", "proba_yes"]].sum(axis=1), 1.0)

    # A value that does not parse and an unseen level are counted; IDs come back; Parquet by extension.
    new_rows["size"] = new_rows["size"].astype(object)
    new_rows.loc[1, "size"] = "long"
    new_rows.insert(0, "key", [f"k{i}" for i in range(40)])
    new_rows.to_csv(new_path, index=False)
    done = automl("predict", "run", "--data", str(new_path), "--out", "p.parquet", "--id", "key", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "'size': 1 value(s) did not parse" in done.stdout and "'colour': 1 value(s) are category" in done.stdout
    predictions = pd.read_parquet(tmp_path / "p.parquet")
    assert predictions["key"].tolist() == new_rows["key"].tolist() and len(predictions) == 40
    strict = automl("predict", "run", "--data", str(new_path), "--strict", "--out", "s.csv", cwd=tmp_path)
    assert strict.returncode == 2 and "'size': 1 value(s) did not parse" in strict.stderr
    assert not (tmp_path / "s.csv").exists()


def test_regression_on_parquet_with_a_separate_test_file(tmp_path: Path) -> None:
    train_path, test_path = tmp_path / "train.parquet", tmp_path / "test.csv"
    mixed_table(300, task="regression").to_parquet(train_path)
    mixed_table(80, task="regression", seed=4).to_csv(test_path, index=False)
    space = Path(__file__).parents[1] / "configs" / "offline_regression.json"
    done = automl(
        "run",
        "--data",
        str(train_path),
        "--target",
        "label",
        "--test-data",
        str(test_path),
        "--space",
        str(space),
        "--trials",
        "3",
        "--walltime",
        "40",
        "--cv",
        "1",
        "--metric",
        "mae",
        "--out",
        "run",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["dataset"]["rows"]["test"] == 80
    assert result["loss"] == "mae" and result["refit"]["threshold"] is None
    trials = [t for t in json.loads((tmp_path / "run" / "trials.json").read_text()) if t["status"] == "success"]
    assert all(t["cost"] == t["metrics"]["mae"] for t in trials)
    assert set(result["test_metrics"]) == {"rmse", "mae", "r2"}
    assert result["test_metrics"]["r2"] > 0.7
    assert result["n_trials"] <= 3  # fewer trials than algorithms still runs
    # One validation split and time to spare after 3 trials: every refit member gets a bag of 5 fold models,
    # fitted on the folds' files, which go once the bags are built.
    card = json.loads((tmp_path / "run" / "model" / "metadata.json").read_text())
    assert [len(m["bag"]) for m in card["members"]] == [5] * len(card["members"])
    assert result["refit"]["bag_models"] == 5 * len(card["members"]) and result["refit"]["refit_members"] >= 1
    assert not list((tmp_path / "run" / "data").glob("fold-*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--data", "missing.csv", "--target", "y"], "does not exist"),
        (["run", "--data", "table.csv", "--target", "nope"], "choose --target from"),
        (["run", "--data", "table.csv"], "no target column given"),
        (["run", "--trials", "0"], "--trials"),
        (["run", "--walltime", "-5"], "--walltime"),
        (["run", "--scenario", "nonexistent"], "no scenario named"),
        (["run", "--data", "table.csv", "--target", "label", "--out", "table.csv/run"], "cannot create --out"),
        (
            ["predict", "nowhere", "--data", "table.csv"],
            "does not exist: pass a run directory made by 'automl run' or a file made by",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    # The console entry point in this process: a new process per case would pay 4-5 s of imports each.
    mixed_table(50).to_csv(tmp_path / "table.csv", index=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["automl", *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert message in lines[0]
    assert "Traceback" not in stderr


def test_an_error_naming_an_extra_keeps_its_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # rich would read "[torch]" in "pip install 'automl[torch]'" as markup and print "pip install 'automl'".
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["automl", "run", "--data", "sklearn:digits_images", "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    assert "needs PyTorch: pip install 'automl[torch]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["run", "--trials", "abc"], ["predict"], ["frobnicate"], ["run", "--data"]],
)
def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    done = automl(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Error" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_api_follows_the_estimator_conventions(tmp_path: Path) -> None:
    iris = load_iris(as_frame=True)
    X, y = iris.data, iris.target_names[iris.target]
    model = AutoML(trials=12, walltime=15, out=tmp_path / "run", column_types={"sepal width (cm)": "drop"},
                   metric="roc_auc")  # fmt: skip
    assert clone(model).get_params()["trials"] == 12
    assert model.fit(X, y) is model
    assert model.run_dir_ == tmp_path / "run" and (model.run_dir_ / "result.json").is_file()
    assert set(model.classes_) == {"setosa", "versicolor", "virginica"}
    assert model.incumbent_["algorithm"]
    predicted = model.predict(X.iloc[:10])
    assert set(predicted) <= set(model.classes_)
    proba = model.predict_proba(X.to_numpy()[:10])
    assert proba.shape == (10, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert model.score(X, y) > 0.9
    assert model.test_metrics_["accuracy"] > 0.85
    assert "sepal width (cm)" not in model.model_.card.schema.names  # column_types as --drop
    assert model.result_["loss"] == "1 - roc_auc" and model.test_metrics_["roc_auc"] > 0.9  # one-vs-rest
