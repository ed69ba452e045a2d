"""Tensor data: image folders, .npz arrays and sklearn:digits_images loaded, split and described like tables,
the one-line errors of bad tensor input, and the static gate's one opening for automl.nets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automl.data import prepare_dataset
from automl.data.generated_images import SHAPES, write_shape_folder
from automl.data.tensors import TensorSchema, is_tensor_source, load_prediction_tensors, tensor_features
from automl.errors import DataError
from automl.verify.static import check_source

SIGNATURE = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n    return {'loss': 0.0}\n"


def test_digits_images_are_one_channel_8x8_with_the_test_rows_split_off_first() -> None:
    data = prepare_dataset("sklearn:digits_images", seed=0)
    assert data.modality == "tensor" and data.task == "classification"
    assert data.X_train.shape[1:] == (1, 8, 8) and data.X_train.dtype == np.float32
    assert data.X_train.min() >= 0.0 and data.X_train.max() <= 1.0
    total = len(data.X_train) + len(data.X_valid) + len(data.X_test)
    assert total == 1797 and len(data.X_test) == pytest.approx(0.2 * 1797, abs=1)
    # Stratified: every class keeps its share of the test rows.
    assert np.bincount(data.y_test).min() >= 30
    described = data.description
    assert described["modality"] == "tensor" and described["splits"]["test"] == len(data.X_test)
    assert described["tensor"]["channels"] == 1 and described["tensor"]["sample_shape"] == [1, 8, 8]
    assert described["target_summary"]["n_classes"] == 10
    # Folds and the refit data stay arrays (no frames), with every non-test row.
    assert data.refit_dataset()["X"].shape == (len(data.X_train) + len(data.X_valid), 1, 8, 8)
    fold = data.fold_datasets(3, seed=0)[0]
    assert isinstance(fold["X"], np.ndarray) and len(fold["X"]) + len(fold["X_test"]) == len(data.refit_dataset()["X"])


def test_an_image_folder_has_its_folder_names_as_labels_and_a_common_size(tmp_path: Path) -> None:
    folder = write_shape_folder(tmp_path / "shapes", per_class=20, size=12, seed=3)
    Image.new("L", (20, 16), color=128).save(folder / "circle" / "odd-size.png")  # resized to the common size
    data = prepare_dataset(str(folder))
    assert data.labels is not None and data.labels.classes == SHAPES
    assert data.X_train.shape[1:] == (1, 12, 12)
    assert len(data.X_train) + len(data.X_valid) + len(data.X_test) == 61


def test_colour_images_get_three_channels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for label in ("red", "blue"):
        (tmp_path / label).mkdir()
        for index in range(8):
            pixels = (rng.random((6, 6, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels, mode="RGB").save(tmp_path / label / f"{index}.png")
    data = prepare_dataset(str(tmp_path))
    assert data.X_train.shape[1:] == (3, 6, 6)


def test_an_npz_file_of_flat_features_or_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "flat.npz"
    np.savez(path, X=rng.normal(size=(60, 5)), y=rng.normal(size=60))
    data = prepare_dataset(str(path))
    assert data.task == "regression" and data.schema == TensorSchema((5,), "flat")
    images = tmp_path / "images.npz"
    np.savez(images, X=rng.random((40, 7, 7)), y=np.repeat([0, 1], 20))
    assert prepare_dataset(str(images)).schema == TensorSchema((1, 7, 7), "image")  # N x H x W: one channel


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"X": np.zeros((20, 3))}, r"lacks the array\(s\) \['y'\]"),
        ({"X": np.zeros((20, 3)), "y": np.zeros(19)}, "one row per value"),
        ({"X": np.full((20, 3), np.nan), "y": np.arange(20) % 2}, "NaN or infinite"),
        ({"X": np.zeros((20, 2, 2, 2, 2)), "y": np.arange(20) % 2}, "up to 4 dimensions"),
        ({"X": np.array([["a", "b"]] * 20), "y": np.arange(20) % 2}, "not numbers"),
        ({"X": np.zeros((5, 3)), "y": np.arange(5) % 2}, "at least 10"),
        ({"X": np.zeros((20, 0)), "y": np.arange(20) % 2}, "one row of values per sample"),
        ({"X": np.full((20, 3), 1e300), "y": np.arange(20) % 2}, "beyond float32's range"),
    ],
)
def test_bad_npz_gets_one_clear_error(tmp_path: Path, arrays: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as error:
        prepare_dataset(str(path))
    assert "\n" not in str(error.value)


def test_a_column_vector_y_is_one_target_per_row_and_rows_without_a_target_are_left_out(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    path = tmp_path / "column.npz"
    y = rng.normal(size=(60, 1))
    y[:3, 0] = [np.nan, np.inf, np.nan]
    np.savez(path, X=rng.normal(size=(60, 4)), y=y)
    data = prepare_dataset(str(path))
    assert data.task == "regression" and data.description["rows_dropped_missing_target"] == 3
    assert len(data.X_train) + len(data.X_valid) + len(data.X_test) == 57
    assert np.isfinite(np.concatenate([data.y_train, data.y_valid, data.y_test])).all()


def test_an_unreadable_npz_and_an_empty_folder_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"cannot be read as \.npz"):
        prepare_dataset(str(tmp_path / "broken.npz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no images in class sub-folders"):
        prepare_dataset(str(tmp_path / "empty"))
    (tmp_path / "junk" / "a").mkdir(parents=True)
    (tmp_path / "junk" / "a" / "x.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot be read"):
        prepare_dataset(str(tmp_path / "junk"))


def test_new_images_are_loaded_in_the_models_shape(tmp_path: Path) -> None:
    schema = TensorSchema((1, 10, 10), "image")
    new = write_shape_folder(tmp_path / "new", per_class=2, size=14, seed=5, classes=False)
    X, files = load_prediction_tensors(str(new), schema)
    assert X.shape == (6, 1, 10, 10) and files is not None and files[0].endswith(".png")
    with pytest.raises(DataError, match=r"samples of shape \(1, 3, 4\), the model was trained on \(1, 10, 10\)"):
        tensor_features(np.zeros((2, 3, 4)), schema)
    assert is_tensor_source(str(new)) and is_tensor_source("sklearn:digits_images")
    assert not is_tensor_source("sklearn:digits") and not is_tensor_source("table.csv")


def test_channels_last_arrays_are_read_as_channels_first_in_training_and_prediction(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    X = rng.random((40, 6, 5, 3)).astype(np.float32)  # (N, H, W, C), as PIL and TensorFlow store images
    np.savez(tmp_path / "nhwc.npz", X=X, y=np.repeat([0, 1], 20))
    data = prepare_dataset(str(tmp_path / "nhwc.npz"))
    assert data.schema == TensorSchema((3, 6, 5), "image") and data.description["tensor"]["channels"] == 3
    np.save(tmp_path / "new.npy", X[:4])  # an .npy of the samples predicts too
    new, files = load_prediction_tensors(str(tmp_path / "new.npy"), data.schema)
    assert files is None and np.array_equal(new, X[:4].transpose(0, 3, 1, 2))
    assert tensor_features(rng.random((2, 3, 6, 5)), data.schema).shape == (2, 3, 6, 5)  # channels first stays


def test_hidden_entries_are_skipped_and_16_bit_gray_is_scaled_not_clipped(tmp_path: Path) -> None:
    for label, level in (("dark", 8000), ("light", 56000)):
        (tmp_path / label).mkdir()
        for index in range(6):
            Image.fromarray(np.full((5, 5), level, dtype=np.uint16)).save(tmp_path / label / f"{index}.png")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    Image.new("L", (5, 5)).save(tmp_path / ".ipynb_checkpoints" / "0-checkpoint.png")
    Image.new("L", (5, 5)).save(tmp_path / "dark" / "._0.png")
    data = prepare_dataset(str(tmp_path))
    assert data.labels is not None and data.labels.classes == ("dark", "light")
    assert len(data.X_train) + len(data.X_valid) + len(data.X_test) == 12
    pixels = np.concatenate([data.X_train, data.X_valid, data.X_test])
    assert sorted({round(float(value), 2) for value in pixels.ravel()}) == [0.12, 0.85]  # 8000 and 56000 of 65535
    new, files = load_prediction_tensors(str(tmp_path), data.schema)
    assert new.shape == (12, 1, 5, 5) and files is not None
    assert not any(part.startswith(".") for file in files for part in Path(file).parts)


def test_the_static_gate_lets_generated_code_import_only_automl_nets_and_trial_metrics() -> None:
    assert check_source("from automl.nets import NetModel\n" + SIGNATURE) == []
    assert check_source("from automl.trial_metrics import classification_metrics\n" + SIGNATURE) == []
    for refused in ("import automl.nets\n", "from automl.sandbox import run\n", "from automl import nets\n",
                    "import automl.trial_metrics\n"):  # fmt: skip
        findings = check_source(refused + SIGNATURE)
        assert findings and "import of 'automl' is not allowed" in findings[0].message
