"""The offline writer's PyTorch train.py, called as the sandbox calls it (its rendered source run as a fresh
module): the networks learn, epochs are the budget, a checkpoint continues exactly or not at all, and the
saved NetModel predicts in another process."""

from __future__ import annotations

import json
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

pytest.importorskip("torch")  # nothing here runs without it; no import above needs it

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "automl" / "writers" / "offline_torch_train.py"
IMAGE_SPACE = ConfigurationSpace.from_json(ROOT / "configs" / "offline_tensor_image.json")
FLAT_SPACE = ConfigurationSpace.from_json(ROOT / "configs" / "offline_tensor_flat.json")
FULL_EPOCHS = 9.0


def train_module(task: str, max_budget: float = FULL_EPOCHS) -> types.ModuleType:
    """The template with its two placeholder lines filled in, executed as a fresh module (as the runner does)."""
    source = TEMPLATE.read_text(encoding="utf-8")
    for placeholder, line in (
        ('TASK = "__TASK__"', f"TASK = {task!r}"),
        ("MAX_BUDGET = None", f"MAX_BUDGET = {max_budget!r}"),
    ):
        assert source.split("\n").count(placeholder) == 1
        source = source.replace(placeholder, line)
    module = types.ModuleType("automl_generated_train")
    exec(compile(source, "train.py", "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def digits() -> dict[str, Any]:
    """400 digits as (N, 1, 8, 8) images scaled to [0, 1]: 300 to fit, 100 to validate."""
    data = load_digits()
    X = (data.images[:400] / 16.0).astype(np.float32)[:, None]
    y = data.target[:400].astype(np.int64)
    return {"X": X[:300], "y": y[:300], "X_test": X[300:], "y_test": y[300:], "task": "classification", "n_classes": 10}


@pytest.fixture(scope="module")
def classifier() -> types.ModuleType:
    return train_module("classification")


def config(space: ConfigurationSpace = IMAGE_SPACE, **values: Any) -> Configuration:
    """The space's defaults with ``values`` changed; the hyperparameters of the network ``values`` picks are
    active (the image space's default network is the cnn)."""
    net = values.get("algorithm", space["algorithm"].default_value)
    active = {name: hp.default_value for name, hp in space.items() if ":" not in name or name.startswith(f"{net}:")}
    return Configuration(space, values={**active, **values})


def hand_over(source: Path, trial: Path, budget: float = 3.0) -> Path:
    """What the runner does before a higher-budget trial: the lower-budget model copied in as its checkpoint."""
    trial.mkdir(parents=True, exist_ok=True)
    (trial / "warm_start.joblib").write_bytes((source / "model.joblib").read_bytes())
    (trial / "warm_start.json").write_text(json.dumps({"budget": budget}))
    return trial


def test_the_network_learns_and_reports_the_epochs_it_trained(classifier: types.ModuleType, digits: dict) -> None:
    scores = classifier.train(config(), digits, seed=0, budget=FULL_EPOCHS)
    assert scores["accuracy"] >= 0.85 and scores["loss"] < 1.0  # ten classes: chance is 0.1, log loss 2.3
    assert scores["budget_used"] == FULL_EPOCHS and scores["warm_started"] == 0.0
    keys = {"loss", "log_loss", "accuracy", "balanced_accuracy", "f1_macro", "warm_started", "budget_used"}
    assert set(scores) == keys and all(isinstance(value, float) for value in scores.values())


@pytest.mark.parametrize(("budget", "epochs"), [(None, 9.0), (2.4, 2.0), (2.6, 3.0), (0.2, 1.0), (50.0, 9.0)])
def test_the_budget_is_rounded_and_clipped_to_the_full_epochs(
    classifier: types.ModuleType, digits: dict, budget: float | None, epochs: float
) -> None:
    small = {**digits, "X": digits["X"][:60], "y": digits["y"][:60]}
    assert classifier.train(config(**{"cnn:width": 8}), small, 0, budget)["budget_used"] == epochs


@pytest.mark.parametrize(
    "values",
    [{"augment": "shift_flip", "cnn:dropout": 0.3}, {"algorithm": "mlp", "mlp:width": 64, "mlp:dropout": 0.3}],
    ids=["cnn_augmented", "mlp"],
)
def test_continuing_a_lower_budget_checkpoint_equals_training_from_scratch(
    classifier: types.ModuleType, digits: dict, tmp_path: Path, values: dict
) -> None:
    trial_config = config(**values)
    classifier.train(trial_config, digits, 0, 3.0, str(tmp_path / "low"))
    continued_dir = hand_over(tmp_path / "low", tmp_path / "continued")
    continued = classifier.train(trial_config, digits, 0, 7.0, str(continued_dir))
    scratch = classifier.train(trial_config, digits, 0, 7.0, str(tmp_path / "scratch"))
    assert continued["warm_started"] == 1.0 and scratch["warm_started"] == 0.0
    assert continued["budget_used"] == scratch["budget_used"] == 7.0
    assert continued["loss"] == pytest.approx(scratch["loss"], rel=1e-5, abs=1e-6)
    ours, theirs = (joblib.load(path / "model.joblib") for path in (continued_dir, tmp_path / "scratch"))
    np.testing.assert_allclose(ours.predict_proba(digits["X_test"]), theirs.predict_proba(digits["X_test"]), atol=1e-5)
    assert ours.epochs_done == 7


def test_a_checkpoint_of_another_configuration_seed_or_rows_is_not_continued(
    classifier: types.ModuleType, digits: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    classifier.train(config(), digits, 0, 3.0, str(tmp_path / "low"))
    fewer_rows = {**digits, "X": digits["X"][:250], "y": digits["y"][:250]}
    for name, trial_config, seed, data in (
        ("other_config", config(learning_rate=1e-3), 0, digits),
        ("other_seed", config(), 1, digits),
        ("other_rows", config(), 0, fewer_rows),
    ):
        trial = hand_over(tmp_path / "low", tmp_path / name)
        assert classifier.train(trial_config, data, seed, 5.0, str(trial))["warm_started"] == 0.0, name
        assert "not this configuration's network" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        ("model", "warm_start.joblib cannot be loaded"),
        ("info", "warm_start.json has no usable budget"),
        ("not_a_net", "holds a dict, not a NetModel"),
        ("as_long", "holds 3 of this trial's 3 epochs"),
    ],
)
def test_an_unusable_checkpoint_is_named_in_the_log_and_training_starts_over(
    classifier: types.ModuleType,
    digits: dict,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    spoil: str,
    said: str,
) -> None:
    small = {**digits, "X": digits["X"][:80], "y": digits["y"][:80]}
    trial_config = config(**{"cnn:width": 8})
    classifier.train(trial_config, small, 0, 3.0, str(tmp_path / "low"))
    trial = hand_over(tmp_path / "low", tmp_path / "trial")
    if spoil == "model":
        (trial / "warm_start.joblib").write_bytes(b"not a pickle")
    elif spoil == "info":
        (trial / "warm_start.json").write_text("{}")
    elif spoil == "not_a_net":
        joblib.dump({"epochs_done": 1}, trial / "warm_start.joblib")
    capsys.readouterr()
    scores = classifier.train(trial_config, small, 0, 3.0 if spoil == "as_long" else 5.0, str(trial))
    assert scores["warm_started"] == 0.0
    out = capsys.readouterr().out
    assert said in out and "training from scratch" in out


def test_the_saved_network_predicts_the_same_in_a_fresh_process(
    classifier: types.ModuleType, digits: dict, tmp_path: Path
) -> None:
    classifier.train(config(), digits, 0, 3.0, str(tmp_path))
    model = joblib.load(tmp_path / "model.joblib")
    assert type(model).__module__ == "automl.nets" and model.input_shape == (1, 8, 8)
    np.save(tmp_path / "X.npy", digits["X_test"].reshape(100, 64))  # flattened rows are reshaped to (1, 8, 8)
    script = (
        "import joblib, numpy as np, sys; m = joblib.load(sys.argv[1]); X = np.load(sys.argv[2]); "
        "np.save(sys.argv[3], m.predict_proba(X)); np.save(sys.argv[4], m.predict(X))"
    )
    paths = [tmp_path / name for name in ("model.joblib", "X.npy", "proba.npy", "codes.npy")]
    subprocess.run([sys.executable, "-c", script, *map(str, paths)], check=True, timeout=120, cwd=ROOT)
    proba = model.predict_proba(digits["X_test"])
    np.testing.assert_allclose(np.load(tmp_path / "proba.npy"), proba, atol=1e-6)
    codes = np.load(tmp_path / "codes.npy")
    assert codes.dtype == np.int64 and np.array_equal(codes, proba.argmax(axis=1))
    assert proba.dtype == np.float64 and np.allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match=r"expected samples of shape \(1, 8, 8\)"):
        model.predict(np.zeros((64, 63), np.float32))  # 63 values a row: refused, not cut into other rows


def test_probabilities_cover_every_class_when_the_fit_rows_miss_one(
    classifier: types.ModuleType, digits: dict, tmp_path: Path
) -> None:
    kept = digits["y"] != 9
    missing = {**digits, "X": digits["X"][kept], "y": digits["y"][kept]}
    scores = classifier.train(config(), missing, 0, 2.0, str(tmp_path))
    model = joblib.load(tmp_path / "model.joblib")
    assert model.predict_proba(digits["X_test"]).shape == (100, 10) and list(model.classes_) == list(range(10))
    assert np.isfinite(scores["loss"])  # the validation rows' nines are scored against the tenth column


def test_flat_features_and_sequences_train_the_mlp_on_a_split_of_their_own(digits: dict) -> None:
    flat = {"X": digits["X"].reshape(300, 64), "y": digits["y"], "task": "classification", "n_classes": 10}
    module = train_module("classification")
    assert module.train(config(FLAT_SPACE), flat, 0, 6.0)["accuracy"] >= 0.8  # 60 of the 300 rows validate
    sequences = {**flat, "X": digits["X"].reshape(300, 8, 8)}  # (N, T, F): eight steps of eight features
    assert module.train(config(FLAT_SPACE), sequences, 0, 6.0)["accuracy"] >= 0.8
    # A configuration that names no network (or names it ``net``) trains the mlp.
    plain = {name: value for name, value in dict(config(FLAT_SPACE)).items() if name != "algorithm"}
    assert module.train(plain, flat, 0, 2.0) == module.train({**plain, "net": "mlp"}, flat, 0, 2.0)


def test_a_regression_standardizes_its_target_and_reports_its_metrics(tmp_path: Path) -> None:
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    X, y = X.astype(np.float32), 100.0 + 3.0 * y
    dataset = {"X": X[:240], "y": y[:240], "X_test": X[240:], "y_test": y[240:], "task": "regression"}
    scores = train_module("regression", 27.0).train(config(FLAT_SPACE), dataset, 0, None, str(tmp_path))
    assert scores["r2"] >= 0.8 and set(scores) == {"loss", "rmse", "mae", "r2", "warm_started", "budget_used"}
    model = joblib.load(tmp_path / "model.joblib")
    predicted = model.predict(X[240:])
    assert predicted.dtype == np.float64 and predicted.shape == (60,)
    assert np.sqrt(np.mean((predicted - y[240:]) ** 2)) == pytest.approx(scores["rmse"], rel=1e-4)
    with pytest.raises(AttributeError, match="only defined for a classification network"):
        model.predict_proba(X[240:])


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 5, 7)])
@pytest.mark.parametrize("depth", [1, 3])
def test_the_cnn_fits_images_of_any_side_and_channels(
    classifier: types.ModuleType, shape: tuple[int, ...], depth: int
) -> None:
    rng = np.random.default_rng(0)
    y = np.arange(24) % 3
    X = (rng.random((24, *shape)) + y[:, None, None, None]).astype(np.float32)
    data = {"X": X, "y": y, "task": "classification", "n_classes": 3}
    values = {"cnn:width": 8, "cnn:depth": depth, "augment": "shift_flip", "batch_size": 16}
    assert np.isfinite(classifier.train(config(**values), data, 0, 1.0)["loss"])


def test_the_cnn_refuses_flat_inputs_with_a_clear_error(classifier: types.ModuleType) -> None:
    flat = {"X": np.zeros((20, 5), np.float32), "y": np.arange(20) % 2, "task": "classification", "n_classes": 2}
    with pytest.raises(ValueError, match=r"the cnn needs images \(C, H, W\)"):
        classifier.train(config(), flat, 0, 1.0)


@pytest.mark.parametrize("space", [IMAGE_SPACE, FLAT_SPACE], ids=["image", "flat"])
def test_the_template_reads_only_hyperparameters_each_of_its_spaces_defines(space: ConfigurationSpace) -> None:
    """The static gate rejects a read of a name the space lacks (a misspelling reads a default), so each
    bundled space must define every name the template reads (flat inputs' ``augment`` is a constant) but those
    of a network the space does not offer (the cnn's, under a space of mlps only)."""
    from automl.verify.conditional_reads import unoffered_choice_reads
    from automl.verify.static import check_source

    source = TEMPLATE.read_text(encoding="utf-8")
    unreachable = unoffered_choice_reads(source, space)
    findings = check_source(source, hyperparameters=list(space.keys()), unreachable=unreachable)
    assert [finding for finding in findings if "hyperparameter" in finding.message] == []
