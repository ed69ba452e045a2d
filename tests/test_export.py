"""`automl export` and `automl.load`: one file that predicts like its run directory, and refuses untrusted types.

Two small real runs (iris, bagged; diabetes, not bagged) are made once per module through the CLI, the
way a user makes them. Iris searches the linear family alone: skops writes and reads every array of a
model on its own, and bags of boosted trees hold tens of thousands (about 30 s each way on 2 cores).
"""

from __future__ import annotations

import fractions
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io

import automl
from automl.export import export_model
from automl.export.trusted import load_checked
from automl.predictor import FittedModel
from automl.rundir import MODEL_FILE, RunPaths
from tests.conftest import mixed_table
from tests.estimator_checks import space_file
from tests.test_e2e import automl as cli
from tests.test_offline_train import ALGORITHMS, _config, _load, _space, _split

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Exported:
    """A finished run, its data as a CSV of features, and its export."""

    run_dir: Path
    features: Path
    export: Path


def _table(name: str) -> pd.DataFrame:
    from automl.data import load_table

    return load_table(f"sklearn:{name}").drop(columns="target")


def _make(tmp: Path, name: str, *options: str) -> Path:
    done = cli("run", "--data", f"sklearn:{name}", "--trials", "4", "--walltime", "60", "--cv", "1",
               "--out", "run", *options, cwd=tmp)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return tmp / "run"


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    tmp = tmp_path_factory.mktemp("iris")
    run_dir = _make(tmp, "iris", "--space", space_file("classification"))
    features = tmp / "features.csv"
    _table("iris").to_csv(features, index=False)
    done = cli("export", str(run_dir), "--out", "model.skops", cwd=tmp)
    assert done.returncode == 0, done.stderr
    return Exported(run_dir, features, tmp / "model.skops")


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _make(tmp_path_factory.mktemp("diabetes"), "diabetes", "--no-bag")


def test_an_export_predicts_what_its_run_directory_predicts(iris: Exported) -> None:
    table = pd.read_csv(iris.features)
    run = FittedModel.load(iris.run_dir)
    assert any(member.bag for member in run.card.members)  # the bags' fold models travel too
    loaded = automl.load(iris.export)
    assert loaded.card == run.card and list(loaded.classes) == ["setosa", "versicolor", "virginica"]
    labels, proba = loaded.predict_with_proba(table)
    expected_labels, expected_proba = run.predict_with_proba(table)
    assert list(labels) == list(expected_labels)
    np.testing.assert_allclose(proba, expected_proba, rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.predict_proba(table), expected_proba, rtol=0, atol=1e-12)
    assert list(loaded.predict(table)) == list(expected_labels)


def test_automl_predict_reads_an_export_as_it_reads_a_run_directory(iris: Exported) -> None:
    folder = iris.export.parent
    for model, out in ((iris.run_dir, "from_run.csv"), (iris.export, "from_export.csv")):
        done = cli("predict", str(model), "--data", str(iris.features), "--out", out, cwd=folder)
        assert done.returncode == 0, done.stderr
    from_run, from_export = pd.read_csv(folder / "from_run.csv"), pd.read_csv(folder / "from_export.csv")
    assert list(from_export.columns) == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    pd.testing.assert_frame_equal(from_export, from_run, check_exact=False, rtol=0, atol=1e-12)


# Loads an export in a fresh interpreter and prints its predictions as JSON.
PREDICT = (
    "import json, sys\n"
    "import pandas as pd\n"
    "import automl\n"
    "model = automl.load(sys.argv[1])\n"
    "print(json.dumps(model.predict(pd.read_csv(sys.argv[2])).tolist()))\n"
)


def test_an_export_predicts_in_a_fresh_process_after_its_run_directory_is_deleted(
    diabetes: Path, tmp_path: Path
) -> None:
    copy = shutil.copytree(diabetes, tmp_path / "copy")
    out = export_model(copy, tmp_path / "regression.skops")
    shutil.rmtree(copy)
    features = tmp_path / "features.csv"
    _table("diabetes").to_csv(features, index=False)
    done = subprocess.run([sys.executable, "-c", PREDICT, str(out), str(features)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = FittedModel.load(diabetes).predict(pd.read_csv(features))
    np.testing.assert_allclose(json.loads(done.stdout), expected, rtol=1e-12)
    with pytest.raises(automl.RunError, match="predict_proba needs a classification run"):
        automl.load(out).predict_proba(pd.read_csv(features))


class Shady:
    """A class automl has never heard of: loading it would run whatever its module does."""


def test_an_export_naming_an_untrusted_type_is_refused_on_one_line(iris: Exported, tmp_path: Path) -> None:
    crafted = tmp_path / "crafted.skops"
    card = FittedModel.load(iris.run_dir).card.to_dict()
    skops.io.dump({"format": "automl-model", "version": 1, "card": card, "members": [[Shady()]]}, crafted)
    with pytest.raises(automl.ExportError) as refused:
        automl.load(crafted)
    message = str(refused.value)
    assert "\n" not in message and "holds types automl does not trust" in message
    assert f"{__name__}.Shady" in message


def test_other_files_are_refused_on_one_line(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(automl.ExportError, match="not a model exported by 'automl export'"):
        automl.load(tmp_path / "notes.txt")
    skops.io.dump({"format": "something else"}, tmp_path / "other.skops")
    with pytest.raises(automl.ExportError, match="a skops file but not a model exported"):
        automl.load(tmp_path / "other.skops")


def test_exporting_a_member_that_holds_an_untrusted_type_fails_on_one_line(diabetes: Path, tmp_path: Path) -> None:
    """The member's joblib file loads in the sandbox (its type is importable there), but automl does not trust
    its type, so the export names it and writes nothing."""
    copy = RunPaths(shutil.copytree(diabetes, tmp_path / "copy"))
    saved = copy.member_dir("00") / MODEL_FILE
    model = joblib.load(saved)
    model.note_ = fractions.Fraction(1, 3)
    joblib.dump(model, saved)
    done = cli("export", str(copy.root), "--out", "model.skops", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds types automl does not trust to load: fractions.Fraction" in lines[0], lines
    assert not (tmp_path / "model.skops").exists()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_trusted_types_cover_every_offline_family(task: str, tmp_path: Path) -> None:
    """Each family's model, with categorical and many-level (target-encoded) columns, survives skops under the
    trusted list and predicts the same: the list is what the offline writer's models need."""
    train, space = _load(task, tmp_path), _space(task)
    frame = mixed_table(task=task)
    X = frame.drop(columns="label").assign(colour=lambda f: f["colour"].astype("category"))
    X["many"] = pd.Categorical(np.random.default_rng(0).choice([f"l{i}" for i in range(60)], len(X)))
    y = (frame["label"] == "yes").to_numpy(np.int64) if task == "classification" else frame["label"].to_numpy()
    dataset = _split(X, y, task) | {"n_classes": 2 if task == "classification" else None}
    for algorithm in ALGORITHMS:
        folder = tmp_path / algorithm
        folder.mkdir()
        train.train(_config(space, algorithm), dict(dataset), 0, None, str(folder))
        model = joblib.load(folder / MODEL_FILE)
        loaded = load_checked(skops.io.dumps(model), algorithm)
        predict = "predict_proba" if task == "classification" else "predict"
        expected = getattr(model, predict)(dataset["X_test"])
        np.testing.assert_array_equal(getattr(loaded, predict)(dataset["X_test"]), expected, err_msg=algorithm)
