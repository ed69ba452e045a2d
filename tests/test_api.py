"""The Python API around a run: scikit-learn's conventions, where runs go, and scripts that start workers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import is_classifier, is_regressor
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import cross_val_score

from automl import AutoML, AutoMLClassifier, AutoMLRegressor, DataError, load
from automl.api import runs_home
from automl.optimize.workers import is_main_guard

UNGUARDED = """
import sys
from sklearn.datasets import load_iris
from automl import AutoMLClassifier

print("fit starts", flush=True)
X, y = load_iris(return_X_y=True)
AutoMLClassifier(trials=4, workers=2, out=sys.argv[1]).fit(X, y)
"""


def test_workers_from_an_unguarded_script_fail_at_once_with_the_fix(tmp_path: Path) -> None:
    """dask's spawned workers import the script again: without the guard every worker would rerun the fit."""
    script = tmp_path / "train_model.py"
    script.write_text(UNGUARDED)
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert done.stdout.count("fit starts") == 1  # no worker process ran the script again
    last = done.stderr.strip().splitlines()[-1]
    assert "ConfigError: workers > 1 started from the top level of 'train_model.py' (line 8)" in last
    assert 'if __name__ == "__main__":' in last


@pytest.mark.parametrize(
    ("source", "guard"),
    [
        ('if __name__ == "__main__":\n    main()\n', True),
        ("if '__main__' == __name__:\n    main()\n", True),
        ('if __name__ != "__main__":\n    main()\n', False),
        ('if name == "__main__":\n    main()\n', False),
        ("if True:\n    main()\n", False),
    ],
)
def test_the_main_guard_is_recognised_in_either_order_and_nothing_else_is(source: str, guard: bool) -> None:
    import ast

    assert is_main_guard(ast.parse(textwrap.dedent(source)).body[0]) is guard


def test_runs_without_out_go_to_the_users_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTOML_RUNS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert runs_home() == tmp_path / "cache" / "automl" / "runs"
    monkeypatch.setenv("AUTOML_RUNS", str(tmp_path / "mine"))
    assert runs_home() == tmp_path / "mine"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> AutoML:
    """One AutoML fit on integer labels, in a runs folder of its own (the user's cache stays untouched)."""
    runs = tmp_path_factory.mktemp("api-runs")
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOML_RUNS", str(runs))
        return AutoML(trials=4, walltime=30, cv=1, bag=False).fit(X[:300], y[:300])


@pytest.mark.e2e
def test_automl_takes_on_the_task_it_found_and_keeps_the_labels_dtype(fitted: AutoML) -> None:
    assert not is_classifier(AutoML()) and not is_regressor(AutoML())  # unfitted: no task yet
    assert is_classifier(fitted) and not is_regressor(fitted)
    assert is_classifier(AutoMLClassifier()) and is_regressor(AutoMLRegressor())
    assert not hasattr(AutoMLRegressor(), "predict_proba")
    X, _ = load_breast_cancer(return_X_y=True)
    predicted = fitted.predict(X[300:320])
    assert predicted.dtype == np.int64 and fitted.classes_.dtype == np.int64 and list(fitted.classes_) == [0, 1]
    assert fitted.n_features_in_ == 30 and not hasattr(fitted, "feature_names_in_")  # an array has no names


@pytest.mark.e2e
def test_a_fit_without_out_leaves_no_report_and_nothing_in_the_current_folder(fitted: AutoML) -> None:
    assert fitted.run_dir_.parent.name.startswith("api-runs")
    assert not (fitted.run_dir_ / "report.html").exists()
    assert not Path("runs").exists() or not any(Path("runs").glob("dataframe-*"))


def test_unfitted_and_empty_input_get_scikit_learns_errors() -> None:
    with pytest.raises(NotFittedError):
        AutoMLClassifier().predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="0 sample"):
        AutoMLClassifier().fit(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="requires y to be passed"):
        AutoMLRegressor().fit(np.zeros((30, 3)), None)
    with pytest.raises(ValueError, match="Unknown label type"):
        AutoMLClassifier().fit(np.zeros((30, 3)), np.linspace(0, 1, 30))


@pytest.mark.e2e
def test_cross_val_score_gets_a_real_roc_auc_per_fold(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """scikit-learn picks stratified folds and asks for probabilities because the estimator says it is a classifier."""
    monkeypatch.setenv("AUTOML_RUNS", str(tmp_path))
    X, y = load_breast_cancer(return_X_y=True)
    scores = cross_val_score(AutoMLClassifier(trials=3, walltime=30, cv=1, bag=False), X[:200], y[:200],
                             scoring="roc_auc", cv=2)  # fmt: skip
    assert scores.shape == (2,) and np.all(np.isfinite(scores)) and np.all(scores > 0.9)


@pytest.mark.e2e
def test_a_saved_estimator_loads_as_one_file_and_predicts_the_same(fitted: AutoML, tmp_path: Path) -> None:
    X, _ = load_breast_cancer(return_X_y=True)
    rows = pd.DataFrame(X[300:340], columns=[f"x{i}" for i in range(30)])  # an array's columns, as fit named them
    saved = fitted.save(tmp_path / "model.skops")
    loaded = load(saved)
    assert np.allclose(loaded.predict_proba(rows), fitted.predict_proba(X[300:340]), atol=1e-12)
    assert list(loaded.predict(rows)) == list(fitted.predict(X[300:340]))


@pytest.mark.e2e
def test_a_loaded_model_refuses_an_empty_table_with_one_line(fitted: AutoML, tmp_path: Path) -> None:
    loaded = load(fitted.save(tmp_path / "empty-check.skops"))
    with pytest.raises(DataError, match="has no rows to predict"):
        loaded.predict(pd.DataFrame(columns=[f"x{i}" for i in range(30)]))
