"""The second modality: tensors (image folders, ``.npz`` arrays, ``sklearn:digits_images``) instead of tables.

A tensor source is loaded to one float32 array ``X`` of shape ``(N, *sample_shape)`` and one label or
target array ``y``; from there it is split exactly as a table is (the held-out test rows first, stratified),
and train() gets arrays, never frames. Images are ``(N, C, H, W)`` with values in [0, 1]; an ``(N, H, W)``
array is read as one-channel images; an ``(N, D)`` array is flat features, which still go to the
tensor writer when it came from an ``.npz`` (a user who wants the table writer passes a CSV).

:class:`TensorSchema` plays the part :class:`automl.data.features.FeatureSchema` plays for tables: it is
saved on the model card, and :func:`tensor_features` checks new data against it before a model sees it.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import DataError

TENSOR_SUFFIXES = (".npz",)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
# Bundled image datasets: sklearn's digits as 8x8 one-channel images (the table version is sklearn:digits).
BUNDLED_IMAGES = {"digits_images": "load_digits"}
IMAGE_TARGET = "label"
# Images larger than this on either side are scaled down (keeping the side ratio): a small CNN on CPU
# trains on thumbnails, and a folder of photographs would not fit in memory at full size.
MAX_IMAGE_SIDE = 64
# Channel counts of images: an (N, H, W, C) array with one of these last, and not second, is channels-last.
IMAGE_CHANNELS = frozenset({1, 3, 4})


@dataclass(frozen=True)
class TensorSchema:
    """What a tensor model expects of one sample: its shape and whether it is an image (C, H, W) or flat."""

    shape: tuple[int, ...]
    kind: str  # "image" (C, H, W) or "flat" (any other shape, flattened by the models that need it)

    # A table schema's column typings: a tensor has none, and code that lists them needs no special case.
    types: tuple = ()

    @property
    def modality(self) -> str:
        return "tensor"

    def to_dict(self) -> dict[str, Any]:
        return {"modality": "tensor", "shape": list(self.shape), "kind": self.kind}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSchema:
        return cls(tuple(int(side) for side in data["shape"]), str(data["kind"]))

    @classmethod
    def of(cls, X: np.ndarray) -> TensorSchema:
        return cls(tuple(int(side) for side in X.shape[1:]), "image" if X.ndim == 4 else "flat")


def is_tensor_source(source: str) -> bool:
    """Whether ``source`` names tensor data: a folder (of class folders), an ``.npz`` file, or a bundled image set."""
    if source.startswith("sklearn:"):
        return source.removeprefix("sklearn:") in BUNDLED_IMAGES
    path = Path(source).expanduser()
    return path.suffix.lower() in TENSOR_SUFFIXES or path.is_dir()


def load_tensors(source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of a tensor source: X float32 ``(N, ...)`` (images ``(N, C, H, W)``), y the raw labels or targets."""
    if source.startswith("sklearn:"):
        X, y = _bundled(source.removeprefix("sklearn:"))
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"data path '{source}' does not exist: check the path")
        X, y = _image_folder(path) if path.is_dir() else _npz(path, source)
    return standard_shape(X, source), y


def _bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    import sklearn.datasets

    digits = getattr(sklearn.datasets, BUNDLED_IMAGES[name])()
    return (digits.images / 16.0).astype(np.float32)[:, None], digits.target.astype(np.int64)


def _arrays(path: Path, source: str, needed: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``needed`` of an ``.npz`` file (an ``.npy`` file holds X alone), loaded without pickle (object
    arrays are refused)."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            names, arrays = ["X"], {"X": loaded}
        else:
            with loaded:
                names = list(loaded.files)
                arrays = {name: loaded[name] for name in needed if name in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"data file '{source}' cannot be read as .npz ({error}): save it with np.savez") from None
    missing = [name for name in needed if name not in arrays]
    if missing:
        wanted = ", ".join(f"{name}={'targets' if name == 'y' else 'samples'}" for name in needed)
        raise DataError(f"data file '{source}' lacks the array(s) {missing} (it has {names}): "
                        f"save it with np.savez(path, {wanted})")  # fmt: skip
    return arrays


def _npz(path: Path, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``X`` and ``y`` of an ``.npz`` file; a column vector y counts as one target per row."""
    arrays = _arrays(path, source, ("X", "y"))
    X, y = arrays["X"], arrays["y"]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"array X of '{source}' holds {X.dtype}, not numbers: store numbers (float32 or uint8)")
    if X.ndim < 2 or len(X) != len(y) or y.ndim != 1:
        raise DataError(f"'{source}': X has shape {X.shape} and y {y.shape}; X needs one row per value of a 1-D y "
                        "(X of shape (N, ...), y of shape (N,))")  # fmt: skip
    return X, y


def _image_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every image under ``path/<class>/``, as one array of a common size, with its folder's name as label.

    Images of other sizes are resized to the most common size (capped at :data:`MAX_IMAGE_SIDE`); a folder
    whose images are all grayscale gives one channel, else three (RGB).
    """
    files = [(folder.name, file) for folder in sorted(path.iterdir()) if folder.is_dir() and not _hidden(folder)
             for file in _image_files(folder)]  # fmt: skip
    if not files:
        raise DataError(f"data folder '{path}' has no images in class sub-folders: pass a .csv or .parquet file, "
                        f"or lay the images out as {path}/<class>/<image>.png (PNG or JPEG)")  # fmt: skip
    images = _open_images([file for _, file in files])
    gray = all(image.mode in ("1", "L") for image in images)  # 16-bit gray is 8-bit "L" once opened
    width, height = Counter(image.size for image in images).most_common(1)[0][0]
    scale = min(1.0, MAX_IMAGE_SIDE / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    arrays = [_pixels(image, size, gray) for image in images]
    return np.stack(arrays).astype(np.float32), np.asarray([label for label, _ in files], dtype=object)


def _hidden(path: Path) -> bool:
    """Dot-names (``.ipynb_checkpoints``, ``._photo.png``) are a tool's, not the user's data, as torchvision says."""
    return path.name.startswith(".")


def _image_files(folder: Path) -> list[Path]:
    """The images beneath ``folder`` in sorted order, none under or named with a dot."""
    return sorted(file for file in folder.rglob("*") if file.suffix.lower() in IMAGE_SUFFIXES
                  and not any(map(_hidden, file.relative_to(folder).parents[:-1])) and not _hidden(file))  # fmt: skip


def _open_images(files: list[Path]) -> list[Any]:
    """The images of ``files``, loaded (PIL); one that cannot be read is a one-line error naming it."""
    from PIL import Image, UnidentifiedImageError

    images = []
    for file in files:
        try:
            with Image.open(file) as image:
                image.load()
                images.append(_eight_bit(image))
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"image '{file}' cannot be read ({error}): remove or replace it") from None
    return images


def _eight_bit(image: Any) -> Any:
    """``image``, with 16- and 32-bit gray scaled to 8 bits: PIL's convert("L") would clip every value above 255."""
    from PIL import Image

    if not image.mode.startswith("I"):
        return image.copy()
    depth = 65535.0 if image.mode.startswith("I;16") or np.asarray(image).max() <= 65535 else 2.0**32 - 1
    scaled = np.clip(np.asarray(image, dtype=np.float64) / depth, 0.0, 1.0)
    return Image.fromarray(np.round(scaled * 255).astype(np.uint8), mode="L")


def load_prediction_tensors(source: str, schema: TensorSchema) -> tuple[np.ndarray, list[str] | None]:
    """New samples to predict, in the model's shape, and for a folder each image's path (the output's ``file``).

    A folder may hold the images directly or in class sub-folders (their names are not used); images are
    resized and converted to the model's size and channels. An ``.npz`` file needs only ``X``.
    """
    path = Path(source).expanduser()
    if source.startswith("sklearn:"):
        return tensor_features(load_tensors(source)[0], schema, f"'{source}'"), None
    if not path.exists():
        raise DataError(f"data path '{source}' does not exist: check the path")
    if not path.is_dir():
        return tensor_features(_arrays(path, source, ("X",))["X"], schema, f"'{source}'"), None
    if schema.kind != "image":
        raise DataError(f"the model was trained on arrays of shape {schema.shape}, not images: pass an .npz file")
    files = _image_files(path)
    if not files:
        raise DataError(f"data folder '{source}' has no images (PNG or JPEG) to predict: add some")
    channels, height, width = schema.shape
    arrays = [_pixels(image, (width, height), channels == 1) for image in _open_images(files)]
    return np.stack(arrays).astype(np.float32), [str(file.relative_to(path)) for file in files]


def _pixels(image: Any, size: tuple[int, int], gray: bool) -> np.ndarray:
    """One image as ``(C, H, W)`` floats in [0, 1], at ``size``."""
    converted = image.convert("L" if gray else "RGB")
    if converted.size != size:
        converted = converted.resize(size)
    pixels = np.asarray(converted, dtype=np.float32) / 255.0
    return pixels[None] if gray else pixels.transpose(2, 0, 1)


def standard_shape(X: np.ndarray, source: str) -> np.ndarray:
    """``X`` as float32, samples first, images channels-first: ``(N, H, W)`` becomes one-channel ``(N, 1, H, W)``
    and ``(N, H, W, C)`` with C of 1, 3 or 4 (and not the second axis's size) becomes ``(N, C, H, W)``; values must be
    finite."""
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes infinite, which is named below
        X = np.asarray(X, dtype=np.float32)
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim == 4 and X.shape[3] in IMAGE_CHANNELS and X.shape[1] not in IMAGE_CHANNELS:
        X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))  # channels last (N, H, W, C), as PIL and TensorFlow store
    if X.ndim > 4:
        raise DataError(f"'{source}': X has shape {X.shape}; tensors of up to 4 dimensions (N, C, H, W) are supported")
    if X.ndim < 2 or X[0].size == 0:
        raise DataError(f"'{source}': X has shape {X.shape}; it needs one row of values per sample, (N, ...)")
    if not np.isfinite(X).all():
        raise DataError(f"'{source}': X holds NaN or infinite values (or values beyond float32's range, "
                        "about 3.4e38): replace them before training")  # fmt: skip
    return X


def tensor_features(X: Any, schema: TensorSchema, source: str = "data") -> np.ndarray:
    """New data as the model expects it: float32 ``(N, *schema.shape)``; another shape is a one-line error."""
    X = standard_shape(np.asarray(X), source) if np.asarray(X).ndim >= 2 else np.asarray(X)
    if tuple(X.shape[1:]) != schema.shape:
        raise DataError(f"{source} has samples of shape {tuple(X.shape[1:])}, the model was trained on "
                        f"{schema.shape}: pass data of the training shape")  # fmt: skip
    return X


def tensor_fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """A short content hash of the arrays, recorded in run.json to tell datasets apart."""
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes())
    digest.update(str(X.shape).encode())
    digest.update(repr(np.asarray(y).tolist()).encode())
    return digest.hexdigest()[:16]


def describe_tensors(X: np.ndarray, schema: TensorSchema) -> dict[str, Any]:
    """What a writer reads about the inputs: shape, channels, value range (the non-test rows only)."""
    description: dict[str, Any] = {"sample_shape": list(schema.shape), "kind": schema.kind,
                                   "value_range": [round(float(X.min()), 4), round(float(X.max()), 4)],
                                   "mean": round(float(X.mean()), 4), "std": round(float(X.std()), 4)}  # fmt: skip
    if schema.kind == "image":
        channels, height, width = schema.shape
        description.update(channels=channels, height=height, width=width)
    return description
