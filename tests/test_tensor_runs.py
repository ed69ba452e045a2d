"""Whole runs on tensor data: an image folder with the offline writer's networks (hyperband over epochs,
continued checkpoints, a folder of new images predicted), a model-written PyTorch train() through the
loopback server and its replay, and the Python API on 4-D arrays. Each run is made once and shared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl.bench import run_bench
from automl.data.generated_images import write_shape_folder
from tests.fake_llm import FakeLLMServer

pytest.importorskip("torch")
pytestmark = pytest.mark.e2e

REPLIES = Path(__file__).parent / "fixtures" / "llm_tensor"
MODEL = "openai/fake-model"


def automl(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_API_KEY": "sk-tensor-test-key"}
    command = [sys.executable, "-m", "automl.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def trials(run: Path) -> list[dict]:
    return json.loads((run / "trials.json").read_text())


@dataclass(frozen=True)
class ImageRun:
    run: Path
    done: subprocess.CompletedProcess
    new_images: Path


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> ImageRun:
    """The offline writer on a generated folder of 3 shapes (PNG, 12x12), 40 s of walltime."""
    root = tmp_path_factory.mktemp("image_run")
    folder = write_shape_folder(root / "shapes", per_class=40, size=12, noise=0.15, seed=1)
    new_images = write_shape_folder(root / "new", per_class=4, size=12, noise=0.15, seed=2, classes=False)
    done = automl("run", "--data", folder, "--walltime", "40", "--out", root / "run", cwd=root)
    return ImageRun(root / "run", done, new_images)


def test_an_image_folder_is_tuned_by_hyperband_over_epochs_and_scored(image_run: ImageRun) -> None:
    assert image_run.done.returncode == 0, image_run.done.stdout + image_run.done.stderr
    result = json.loads((image_run.run / "result.json").read_text())
    assert result["facade"] == "hyperband"
    assert result["test_metrics"]["accuracy"] >= 0.9  # shapes at this noise are plain to see
    plan = json.loads((image_run.run / "plan.json").read_text())
    assert plan["budget_kind"] == "epochs" and plan["algorithms"] == ["cnn", "mlp"]
    recorded = json.loads((image_run.run / "run.json").read_text())
    assert recorded["device"] == "cpu" and "torch" in recorded["versions"]
    assert "1 x 12 x 12 (image)" in (image_run.run / "report.html").read_text()


def test_trials_climb_epoch_budgets_and_continue_the_lower_rungs_checkpoints(image_run: ImageRun) -> None:
    finished = [trial for trial in trials(image_run.run) if trial["status"] == "success"]
    assert len({trial["budget"] for trial in finished}) >= 2  # more than one rung of epochs ran
    continued = [trial for trial in finished if trial["metrics"].get("warm_started") == 1.0]
    assert continued, "no trial continued a lower-budget checkpoint"
    assert all(trial["metrics"]["budget_used"] == trial["budget"] for trial in continued)


def test_a_folder_of_new_images_is_predicted_with_their_file_names(image_run: ImageRun, tmp_path: Path) -> None:
    out = tmp_path / "predictions.csv"
    done = automl("predict", image_run.run, "--data", image_run.new_images, "--out", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    predictions = pd.read_csv(out)
    assert list(predictions.columns) == ["file", "prediction", "proba_circle", "proba_square", "proba_triangle"]
    truth = predictions["file"].str.split("-").str[0]
    assert (truth == predictions["prediction"]).mean() >= 0.8
    np.testing.assert_allclose(predictions.filter(like="proba_").sum(axis=1), 1.0, atol=1e-6)


def test_tensor_predictions_of_the_wrong_shape_with_ids_or_an_export_are_one_line_errors(image_run: ImageRun,
                                                                              tmp_path: Path) -> None:  # fmt: skip
    np.savez(tmp_path / "wrong.npz", X=np.zeros((3, 1, 5, 5), dtype=np.float32))
    done = automl("predict", image_run.run, "--data", tmp_path / "wrong.npz", "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr + done.stdout
    assert "samples of shape (1, 5, 5), the model was trained on (1, 12, 12)" in done.stdout + done.stderr
    done = automl("predict", image_run.run, "--data", image_run.new_images, "--id", "x", "--out", tmp_path / "p.csv",
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0 and "--id names table columns" in done.stdout + done.stderr
    done = automl("export", image_run.run, "--out", tmp_path / "model.skops", cwd=tmp_path)
    assert (
        done.returncode != 0 and "cannot be exported yet: predict with the run directory" in done.stdout + done.stderr
    )


@dataclass(frozen=True)
class ModelTensorRun:
    run: Path
    done: subprocess.CompletedProcess
    replay: Path
    replayed: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def model_tensor_run(tmp_path_factory: pytest.TempPathFactory) -> ModelTensorRun:
    """A model-written PyTorch MLP for digits as images (four scripted answers), then its replay with no server."""
    root = tmp_path_factory.mktemp("model_tensor")
    with FakeLLMServer() as server:
        server.script(*((REPLIES / f"{name}.txt").read_text() for name in ("plan", "space", "scenario", "train")))
        done = automl("run", "--data", "sklearn:digits_images", "--llm", MODEL, "--api-base", server.api_base,
                      "--trials", "8", "--walltime", "60", "--no-bag", "--out", root / "run", cwd=root)  # fmt: skip
    replayed = automl("run", "--replay", root / "run", "--out", root / "replay", cwd=root)
    return ModelTensorRun(root / "run", done, root / "replay", replayed)


def test_a_model_written_torch_train_is_verified_tuned_and_replayed(model_tensor_run: ModelTensorRun) -> None:
    done, replayed_run = model_tensor_run.done, model_tensor_run.replayed
    assert done.returncode == 0, done.stdout + done.stderr
    verified = json.loads((model_tensor_run.run / "verify.json").read_text())
    checks = {check["name"] for check in verified["checks"]}
    assert verified["accepted"]
    assert {"static", "default_configuration", "saved_model", "smoke:same_seed_again"} <= checks
    result = json.loads((model_tensor_run.run / "result.json").read_text())
    assert result["facade"] == "hyperband" and result["n_trials"] >= 4
    assert result["test_metrics"]["accuracy"] >= 0.85
    assert {trial["budget"] for trial in trials(model_tensor_run.run)} >= {2.0, 6.0}
    assert replayed_run.returncode == 0, replayed_run.stdout + replayed_run.stderr
    replayed = json.loads((model_tensor_run.replay / "result.json").read_text())
    assert (model_tensor_run.replay / "train.py").read_text() == (model_tensor_run.run / "train.py").read_text()
    assert replayed["incumbent"] == result["incumbent"]
    assert replayed["test_metrics"]["accuracy"] == pytest.approx(result["test_metrics"]["accuracy"])


def test_the_python_api_fits_and_predicts_4d_arrays(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    from automl import AutoMLClassifier

    digits = load_digits()
    X = (digits.images[:400] / 16.0)[:, None].astype(np.float32)
    y = np.asarray([f"digit{label}" for label in digits.target[:400]])
    model = AutoMLClassifier(trials=3, walltime=40, facade="hyperband", out=str(tmp_path / "api")).fit(X, y)
    assert model.task_ == "classification" and set(model.classes_) == set(y)
    predicted = model.predict(X[:50])
    assert predicted.dtype == y.dtype and (predicted == y[:50]).mean() >= 0.8
    assert model.predict_proba(X[:5]).shape == (5, 10)


def test_the_image_suite_benches_automl_on_arrays_against_a_table_framework_on_pixels(tmp_path: Path) -> None:
    # 35 s: verification on a loaded core took 15 s, which left a 20 s budget no search (bagging fills the rest).
    rows = run_bench("images", 35.0, 1, ["automl", "default"], tmp_path / "bench.db", cores=1,
                     datasets=["shapes_16"], trials=6)  # fmt: skip
    by_framework = {row["framework"]: row for row in rows}
    assert {row["status"] for row in rows} == {"ok"}, [row["error"] for row in rows]
    automl_row, default_row = by_framework["automl"], by_framework["default"]
    assert automl_row["info"]["facade"] == "hyperband" and automl_row["info"]["incumbent"] in {"cnn", "mlp"}
    assert automl_row["n_train"] == 450 and automl_row["n_test"] == 150 and automl_row["main_metric"] == "log_loss"
    assert automl_row["accuracy"] >= 0.9  # shapes at noise 0.3 are plain to a small CNN
    assert default_row["accuracy"] > 0.5  # HistGradientBoosting on 256 pixel columns, above chance (1/3)
