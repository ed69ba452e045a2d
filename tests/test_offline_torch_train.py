"""The offline writer's PyTorch train.py, called as the sandbox calls it (its rendered source run as a fresh
module): epochs as the budget, exact continuation of a checkpoint, and the saved NetModel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from ConfigSpace import Configuration, ConfigurationSpace
from sklearn.datasets import load_digits, make_regression

from automl.resources import bundled_dir
from automl.writers.offline import render_torch_train

pytest.importorskip("torch")

IMAGE_SPACE = ConfigurationSpace.from_json(bundled_dir("configs") / "offline_tensor_image.json")
FLAT_SPACE = ConfigurationSpace.from_json(bundled_dir("configs") / "offline_tensor_flat.json")


def train_module(task: str, epochs: float = 9.0) -> types.ModuleType:
    module = types.ModuleType("automl_generated_train")
    exec(compile(render_torch_train(task, epochs), "train.py", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    """400 digits as (N, 1, 8, 8) images: 300 to fit, 100 to validate."""
    data = load_digits()
    X = (data.images[:400] / 16.0).astype(np.float32)[:, None]
    y = data.target[:400].astype(np.int64)
    return {"X": X[:300], "y": y[:300], "X_test": X[300:], "y_test": y[300:], "task": "classification",
            "n_classes": 10}  # fmt: skip


def cnn(**values: Any) -> Configuration:
    return Configuration(IMAGE_SPACE, values={**dict(IMAGE_SPACE.get_default_configuration()), **values})


def test_the_network_learns_and_reports_the_epochs_it_trained(digits: dict) -> None:
    scores = train_module("classification").train(cnn(), digits, seed=0, budget=9.0)
    assert scores["accuracy"] >= 0.85 and scores["loss"] < 1.0  # ten classes: chance is 0.1
    assert scores["budget_used"] == 9.0 and scores["warm_started"] == 0.0
    assert set(scores) == {"loss", "log_loss", "accuracy", "balanced_accuracy", "warm_started", "budget_used"}


@pytest.mark.parametrize(("budget", "epochs"), [(None, 9.0), (2.4, 2.0), (0.2, 1.0), (50.0, 9.0)])
def test_the_budget_is_rounded_and_clipped_to_the_full_epochs(digits: dict, budget: float | None,
                                                              epochs: float) -> None:  # fmt: skip
    small = {**digits, "X": digits["X"][:60], "y": digits["y"][:60]}
    assert train_module("classification").train(cnn(**{"cnn:width": 8}), small, 0, budget)["budget_used"] == epochs


def test_continuing_a_lower_budget_checkpoint_equals_training_from_scratch(digits: dict, tmp_path: Path) -> None:
    module = train_module("classification")
    config = cnn(augment="shift_flip")
    module.train(config, digits, 0, 3.0, str(tmp_path / "low"))
    continued_dir = tmp_path / "continued"
    continued_dir.mkdir()
    shutil.copyfile(tmp_path / "low" / "model.joblib", continued_dir / "warm_start.joblib")
    (continued_dir / "warm_start.json").write_text(json.dumps({"budget": 3.0}))
    continued = module.train(config, digits, 0, 9.0, str(continued_dir))
    scratch = module.train(config, digits, 0, 9.0, str(tmp_path / "scratch"))
    assert continued["warm_started"] == 1.0 and scratch["warm_started"] == 0.0
    assert continued["loss"] == pytest.approx(scratch["loss"], rel=1e-5)
    ours, theirs = (joblib.load(path / "model.joblib") for path in (continued_dir, tmp_path / "scratch"))
    np.testing.assert_allclose(ours.predict_proba(digits["X_test"]), theirs.predict_proba(digits["X_test"]), atol=1e-5)
    assert ours.epochs_done == 9


def test_a_checkpoint_of_another_configuration_or_seed_is_not_continued(digits: dict, tmp_path: Path) -> None:
    module = train_module("classification")
    module.train(cnn(), digits, 0, 3.0, str(tmp_path / "low"))
    for name, config, seed in (("other_config", cnn(learning_rate=1e-3), 0), ("other_seed", cnn(), 1)):
        trial = tmp_path / name
        trial.mkdir()
        shutil.copyfile(tmp_path / "low" / "model.joblib", trial / "warm_start.joblib")
        (trial / "warm_start.json").write_text(json.dumps({"budget": 3.0}))
        assert module.train(config, digits, seed, 6.0, str(trial))["warm_started"] == 0.0


def test_the_saved_network_predicts_the_same_in_a_fresh_process(digits: dict, tmp_path: Path) -> None:
    train_module("classification").train(cnn(), digits, 0, 3.0, str(tmp_path))
    np.save(tmp_path / "X.npy", digits["X_test"])
    here = joblib.load(tmp_path / "model.joblib").predict_proba(digits["X_test"])
    script = ("import joblib, numpy as np, sys; m = joblib.load(sys.argv[1]); "
              "np.save(sys.argv[3], m.predict_proba(np.load(sys.argv[2])))")  # fmt: skip
    subprocess.run([sys.executable, "-c", script, tmp_path / "model.joblib", tmp_path / "X.npy", tmp_path / "p.npy"],
                   check=True, timeout=120)  # fmt: skip
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), here, atol=1e-6)


def test_probabilities_cover_every_class_when_the_fit_rows_miss_one(digits: dict, tmp_path: Path) -> None:
    kept = digits["y"] != 9
    missing = {**digits, "X": digits["X"][kept], "y": digits["y"][kept]}
    train_module("classification").train(cnn(), missing, 0, 2.0, str(tmp_path))
    model = joblib.load(tmp_path / "model.joblib")
    assert model.predict_proba(digits["X_test"]).shape == (100, 10) and list(model.classes_) == list(range(10))


def test_flat_features_train_the_mlp_for_a_regression(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    X, y = X.astype(np.float32), 100.0 + y
    dataset = {"X": X[:240], "y": y[:240], "X_test": X[240:], "y_test": y[240:], "task": "regression"}
    config = FLAT_SPACE.get_default_configuration()
    scores = train_module("regression", 27.0).train(config, dataset, 0, None, str(tmp_path))
    assert scores["r2"] >= 0.8 and set(scores) == {"loss", "rmse", "mae", "r2", "warm_started", "budget_used"}
    predicted = joblib.load(tmp_path / "model.joblib").predict(X[240:])
    assert np.sqrt(np.mean((predicted - y[240:]) ** 2)) == pytest.approx(scores["rmse"], rel=1e-4)


def test_the_cnn_refuses_flat_inputs_with_a_clear_error() -> None:
    flat = {"X": np.zeros((20, 5), np.float32), "y": np.arange(20) % 2, "task": "classification", "n_classes": 2}
    with pytest.raises(ValueError, match=r"the cnn needs images \(C, H, W\)"):
        train_module("classification").train(cnn(), flat, 0, 1.0)
