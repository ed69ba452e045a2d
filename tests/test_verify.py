"""The verifier rejects broken train() functions for the right reason and accepts sound ones."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float

from automl.verify.verifier import MAX_CODE_WARNINGS
from automl.writers.offline import render_train
from tests.conftest import mixed_table

GOOD = """
import os
import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier


def train(cfg, dataset, seed, budget=None, model_dir=None):
    X, y = dataset["X"], dataset["y"]
    if cfg["algorithm"] == "linear":
        model = LogisticRegression(C=float(cfg["linear:C"]), max_iter=500)
    else:
        model = KNeighborsClassifier(n_neighbors=5)
    model.fit(X, y)
    #EXTRA
    if model_dir:
        os.makedirs(model_dir, exist_ok=True)
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    accuracy = float((model.predict(dataset["X_test"]) == dataset["y_test"]).mean())
    #RESULT
    return {"loss": 1.0 - accuracy, "accuracy": accuracy}
"""

# Two silent bugs of weak models: select_dtypes(include=["object"]) finds none of the categorical
# columns (pandas 'category' dtype), and hard-coded class labels fit only the table it was written for.
TABLE_TRAIN = """
import os

import joblib
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder


def train(cfg, dataset, seed, budget=None, model_dir=None):
    X, y = dataset["X"], dataset["y"]
    categorical = list(X.select_dtypes(include=["object"]).columns)
    numeric = list(X.select_dtypes(include="number").columns)
    encode = ColumnTransformer([("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
                                ("numeric", SimpleImputer(), numeric)])
    model = make_pipeline(encode, LogisticRegression(C=float(cfg.get("linear:C", 1.0)), max_iter=500))
    model.fit(X, y)
    if model_dir:
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    return {"loss": float(log_loss(dataset["y_test"], model.predict_proba(dataset["X_test"]), labels=[0, 1, 2]))}
"""


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    space = ConfigurationSpace()
    algorithm = Categorical("algorithm", ["linear", "knn"], default="linear")
    c = Float("linear:C", (0.01, 100.0), default=1.0, log=True)
    space.add([algorithm, c, EqualsCondition(c, algorithm, "linear")])
    path = tmp_path / "space.json"
    space.to_json(path)
    return path


def verify(tmp_path: Path, source: str, space: Path, *extra: str) -> tuple[int, dict]:
    train = tmp_path / "train.py"
    train.write_text(source)
    done = subprocess.run([sys.executable, "-m", "automl.cli", "verify", str(train), "--space", str(space), "--json",
                           "--smoke-seconds", "20", *extra], capture_output=True, text=True, timeout=300)  # fmt: skip
    report = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return done.returncode, report


def failed(report: dict) -> dict[str, str]:
    return {check["name"]: check["message"] for check in report["checks"] if not check["ok"]}


def test_a_sound_train_is_accepted_with_every_check_listed(tmp_path: Path, space_file: Path) -> None:
    code, report = verify(tmp_path, GOOD, space_file)
    assert code == 0, report
    names = [check["name"] for check in report["checks"]]
    for expected in ("static", "default_configuration", "saved_model", "feature_use", "smoke:same_seed_again",
                     "smoke:column_removed", "smoke:3_classes", "smoke:algorithm=knn"):  # fmt: skip
        assert expected in names
    assert all({"name", "ok", "seconds", "message"} <= set(check) for check in report["checks"])
    assert "seccomp" in report["isolation"]


def test_budgets_are_smoke_tested_when_given(tmp_path: Path, space_file: Path) -> None:
    change = "@    assert budget is None or 0.2 <= budget <= 1.0, budget\n"
    code, report = verify(tmp_path, GOOD.replace("    #RESULT\n", change.lstrip("@")), space_file,
                          "--min-budget", "0.2", "--max-budget", "1.0")  # fmt: skip
    assert code == 0, failed(report)
    assert "smoke:min_budget" in [check["name"] for check in report["checks"]]
    code, report = verify(tmp_path, GOOD.replace("    #RESULT\n", change.lstrip("@")), space_file,
                          "--min-budget", "0.1", "--max-budget", "1.0")  # fmt: skip
    assert code == 1 and "smoke:min_budget" in failed(report)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_offline_writers_train_is_accepted(tmp_path: Path, task: str) -> None:
    space = Path(__file__).parents[1] / "configs" / f"offline_{task}.json"
    data = "sklearn:breast_cancer" if task == "classification" else "sklearn:diabetes"
    code, report = verify(tmp_path, render_train(task), space, "--data", data)
    assert code == 0, failed(report)


@pytest.mark.parametrize(
    ("change", "check", "message"),
    [
        ("    model.fit(X.to_numpy().reshape(len(X), 30), y)\n", "smoke:column_removed", "one column fewer"),
        ("    import subprocess\n", "static", "subprocess"),
        ("    if cfg['algorithm'] == 'knn':\n        raise ValueError('knn broke')\n", "smoke:algorithm=knn",
         "knn broke"),
        ("    model_dir = None\n", "saved_model", "did not save"),
        ("@    return {'loss': float(np.random.rand())}\n", "deterministic", "same configuration and seed"),
        ("@    return {'loss': 0.5, 'extra': 1.0} if cfg['algorithm'] == 'knn' else {'loss': 0.5}\n", "same_keys",
         "different keys"),
        ("    C = cfg.get('linear:c')\n", "static", "linear:C"),
    ],
)  # fmt: skip
def test_broken_train_functions_are_rejected_for_the_right_reason(
    tmp_path: Path, space_file: Path, change: str, check: str, message: str
) -> None:
    # Changes marked with @ go just before the return, the others just after the fit.
    marker = "    #RESULT\n" if change.startswith("@") else "    #EXTRA\n"
    code, report = verify(tmp_path, GOOD.replace(marker, change.lstrip("@")), space_file)
    assert code == 1
    problems = failed(report)
    assert check in problems, problems
    assert message in problems[check]


def test_a_read_of_an_inactive_hyperparameter_names_its_condition_and_every_other_such_read(
    tmp_path: Path, space_file: Path
) -> None:
    reads = "    C = cfg['linear:C']\n    scale = 2 * cfg['linear:C']\n"
    source = GOOD.replace("    #EXTRA\n", reads)
    first = source.splitlines().index("    C = cfg['linear:C']") + 1
    code, report = verify(tmp_path, source, space_file)
    assert code == 1
    message = failed(report)["smoke:algorithm=knn"]
    assert "KeyError: 'linear:C'" in message
    assert "'linear:C' is a conditional hyperparameter, active only when algorithm == 'linear'" in message
    # The failing read is in the traceback; the guarded read in the linear branch is fine.
    assert message.endswith(f"fix it there too: line {first + 1} cfg['linear:C'] (active only when algorithm == "
                            "'linear').")  # fmt: skip


def test_warnings_of_train_go_back_once_each_with_their_line_and_a_cap(tmp_path: Path, space_file: Path) -> None:
    deprecated = "LogisticRegression(penalty='l2', C=float(cfg[\"linear:C\"]), max_iter=500)"
    source = GOOD.replace('LogisticRegression(C=float(cfg["linear:C"]), max_iter=500)', deprecated)
    # The same warnings on every trial, and new ones on some (another C, the subsample's row count).
    noise = "    import warnings\n    warnings.warn(f\"C is {cfg.get('linear:C')}, rows {len(X)}\")\n"
    source = source.replace("    #EXTRA\n", noise)
    fit, warn = (source.splitlines().index(text) + 1 for text in ("    model.fit(X, y)", noise.splitlines()[1]))
    code, report = verify(tmp_path, source, space_file)
    assert code == 0, failed(report)  # warnings do not reject a draft
    warnings = [check["message"] for check in report["checks"] if check["warning"]]
    # scikit-learn checks its parameters in fit(), so that is the line the deprecation names.
    assert warnings[0].startswith(f"line {fit} of train.py raised FutureWarning: 'penalty' was deprecated in version")
    assert warnings[0].endswith("(fix it in the next draft)")
    assert any(text.startswith(f"line {warn} of train.py raised UserWarning: C is 1.0, rows") for text in warnings)
    shown, (note,) = warnings[:-1], warnings[-1:]
    assert len(shown) == len(set(shown)) == MAX_CODE_WARNINGS  # deduplicated across trials, then capped
    assert re.fullmatch(rf"\d+ more distinct Python warnings .* \(at most {MAX_CODE_WARNINGS}\); fix the ones above.*",
                        note)  # fmt: skip


def test_categoricals_the_model_never_sees_and_hard_coded_labels_are_rejected(tmp_path: Path, space_file: Path) -> None:
    table = mixed_table(task="regression")
    table["band"] = pd.cut(table["size"], 3, labels=["small", "medium", "large"]).astype(str)
    table["label"] = pd.qcut(table["label"], 3, labels=["low", "mid", "high"]).astype(str)
    data = tmp_path / "three_classes.csv"
    table.to_csv(data, index=False)
    code, report = verify(tmp_path, TABLE_TRAIN, space_file, "--data", str(data), "--target", "label")
    assert code == 1
    problems = failed(report)
    assert "categorical columns ('colour', 'band')" in problems["feature_use"]
    assert "select_dtypes(include=['category', 'object'])" in problems["feature_use"]
    assert "fit rows lack class 2 (dataset['n_classes'] is still 3" in problems["smoke:class_missing_from_fit"]
    assert "with 2 classes instead of 3: read K from dataset['n_classes']" in problems["smoke:2_classes"]
    assert "labels=[0, 1, 2]" in problems["smoke:2_classes"]  # the traceback's line of train.py
    assert "smoke:default" not in problems


@pytest.mark.parametrize(
    ("args", "message"),
    [(["missing.py", "--space", "SPACE"], "does not exist"), (["TRAIN", "--space", "nope.json"], "does not exist"),
     (["TRAIN", "--space", "SPACE", "--min-budget", "5", "--max-budget", "1"], "swap them")],
)  # fmt: skip
def test_usage_errors_exit_2(tmp_path: Path, space_file: Path, args: list[str], message: str) -> None:
    train = tmp_path / "train.py"
    train.write_text(GOOD)
    args = [str(train) if a == "TRAIN" else str(space_file) if a == "SPACE" else a for a in args]
    done = subprocess.run([sys.executable, "-m", "automl.cli", "verify", *args], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_smoke_trial_that_would_overrun_the_smoke_tests_time_is_stopped_there_and_skipped(
    tmp_path: Path, space_file: Path
) -> None:
    # Fewer than 300 rows: the smoke tests' subsample (about 200), not the data the default configuration sees.
    slow_when_small = "    if cfg['algorithm'] == 'knn' and len(X) < 300:\n        time.sleep(30)\n"
    source = "import time\n" + GOOD.replace("    #EXTRA\n", slow_when_small)
    code, report = verify(tmp_path, source, space_file, "--smoke-seconds", "3")
    assert code == 0, failed(report)  # its 10 s cap on a smoke trial would have failed it as a timeout
    checks = {check["name"]: check for check in report["checks"]}
    assert "smoke:algorithm=knn" not in checks and "skipped" in checks["smoke:time_budget"]["message"]
