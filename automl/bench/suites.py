"""The benchmark's datasets, grouped into named suites; every one loads without a network.

A suite is a fixed list, so two benchmark runs of the same suite compare the same problems. The
generated datasets are built from a fixed random state: the same rows on every machine and every
call, which is what lets results from different days share one database.

``smoke`` is for tests and quick checks (seconds per framework); ``offline`` covers what the
runner meets in practice: scikit-learn's bundled tables, string categoricals, missing values,
class imbalance, many classes, regression, and tables above 10 000 rows. ``images`` is image
classification: digits as images and generated shapes of two difficulties. A user's own tables form a
suite too: a folder with a ``suite.yaml`` (:mod:`automl.bench.folder_suite`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification, make_friedman1

from automl.data.generated_images import shape_images
from automl.data.load import BUNDLED_TARGET, load_table
from automl.data.tensors import load_tensors, standard_shape
from automl.errors import ConfigError

TARGET = "target"
CLASSIFICATION = "classification"
REGRESSION = "regression"
# Every generated table derives its rows from this state (plus a per-dataset offset).
DATA_SEED = 20240


TABLE, TENSOR = "table", "tensor"
Arrays = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Dataset:
    """One benchmark problem: a name, its task, and how to build it: a table (features plus target), or for
    ``modality`` tensor the arrays ``(X, y)``, X float32 ``(N, C, H, W)`` images (as ``automl.data.tensors``
    loads them)."""

    name: str
    task: str
    loader: Callable[[], pd.DataFrame] | Callable[[], Arrays]
    description: str
    target: str = TARGET
    modality: str = TABLE

    def load(self) -> tuple[pd.DataFrame, str]:
        """The whole table and its target column; the harness splits it, never the loader."""
        frame = self.loader()
        assert isinstance(frame, pd.DataFrame), f"{self.name} is a tensor dataset: call arrays()"
        return frame, self.target

    def arrays(self) -> Arrays:
        """A tensor dataset's samples and labels, whole (the harness splits them as it splits a table)."""
        arrays = self.loader()
        assert isinstance(arrays, tuple), f"{self.name} is a table: call load()"
        return arrays


def _bundled(name: str, rows: int | None = None) -> Callable[[], pd.DataFrame]:
    """A scikit-learn bundled table (class names as labels), optionally a stratified subsample."""

    def load() -> pd.DataFrame:
        frame = load_table(f"sklearn:{name}")
        if rows is None or rows >= len(frame):
            return frame
        # A stratified subsample keeps the class balance of the full table.
        shuffled = frame.sample(frac=1.0, random_state=DATA_SEED)
        share = rows / len(frame)
        parts = [group.head(round(len(group) * share)) for _, group in shuffled.groupby(BUNDLED_TARGET, sort=True)]
        return pd.concat(parts).sort_index().reset_index(drop=True)

    return load


def _categorical_signal(rng: np.random.Generator, rows: int, levels: int, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """A string column with ``levels`` unevenly frequent values, and each value's effect on the target."""
    weights = rng.dirichlet(np.full(levels, 2.0))
    names = np.asarray([f"{prefix}_{i:02d}" for i in range(levels)], dtype=object)
    codes = rng.choice(levels, size=rows, p=weights)
    effects = rng.normal(scale=1.0, size=levels)
    return names[codes], effects[codes]


def _with_missing(frame: pd.DataFrame, rng: np.random.Generator, shares: dict[str, float]) -> pd.DataFrame:
    """Blank out a share of each named column, at random rows (missing completely at random)."""
    for column, share in shares.items():
        frame.loc[rng.random(len(frame)) < share, column] = np.nan
    return frame


def mixed_table(rows: int, task: str, n_classes: int = 2, offset: int = 0) -> pd.DataFrame:
    """Numbers, two string categoricals, missing values and a target that needs all of them.

    The target mixes a linear part, a nonlinearity, an interaction and both categoricals' effects,
    so a model that drops the categories, or cannot fit interactions, loses measurably.
    """
    rng = np.random.default_rng(DATA_SEED + offset)
    x = rng.normal(size=(rows, 5))
    shop, shop_effect = _categorical_signal(rng, rows, 30, "shop")
    colour, colour_effect = _categorical_signal(rng, rows, 5, "colour")
    signal = 1.0 * x[:, 0] + np.sin(2.0 * x[:, 1]) + 0.8 * x[:, 0] * x[:, 2] + 0.7 * shop_effect + 0.9 * colour_effect
    frame = pd.DataFrame({f"num_{i}": x[:, i] for i in range(5)})
    frame["shop"] = shop
    frame["colour"] = colour
    frame = _with_missing(frame, rng, {"num_0": 0.08, "num_2": 0.15, "shop": 0.05, "colour": 0.1})
    noisy = signal + rng.normal(scale=0.6, size=rows)
    if task == REGRESSION:
        frame[TARGET] = 10.0 + 3.0 * noisy
        return frame
    # Classes are quantile bands of the noisy signal: balanced, and ordered in a way models must learn.
    edges = np.quantile(noisy, np.linspace(0, 1, n_classes + 1)[1:-1])
    names = np.asarray([f"class_{chr(ord('a') + i)}" for i in range(n_classes)], dtype=object)
    frame[TARGET] = names[np.searchsorted(edges, noisy)]
    return frame


def imbalanced_table(rows: int, minority: float, offset: int = 0) -> pd.DataFrame:
    """A binary problem whose positive class is rare (``minority`` share), with some label noise."""
    X, y = make_classification(
        n_samples=rows,
        n_features=12,
        n_informative=5,
        n_redundant=2,
        weights=[1.0 - minority],
        flip_y=0.01,
        class_sep=0.8,
        random_state=DATA_SEED + offset,
    )
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(X.shape[1])])
    frame[TARGET] = np.where(y == 1, "rare", "common").astype(object)
    return frame


def friedman_table(rows: int, offset: int = 0) -> pd.DataFrame:
    """Friedman's nonlinear regression problem plus a categorical shift and missing values."""
    rng = np.random.default_rng(DATA_SEED + offset)
    X, y = make_friedman1(n_samples=rows, n_features=8, noise=1.0, random_state=DATA_SEED + offset)
    region, region_effect = _categorical_signal(rng, rows, 12, "region")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["region"] = region
    frame = _with_missing(frame, rng, {"x3": 0.1, "region": 0.05})
    frame[TARGET] = y + 2.0 * region_effect
    return frame


def _generated(build: Callable[..., pd.DataFrame], *args: object, **kwargs: object) -> Callable[[], pd.DataFrame]:
    return lambda: build(*args, **kwargs)


SMOKE = (
    Dataset("iris", CLASSIFICATION, _bundled("iris"), "scikit-learn iris: 150 rows, 4 numeric, 3 classes"),
    Dataset(
        "breast_cancer_300",
        CLASSIFICATION,
        _bundled("breast_cancer", rows=300),
        "stratified 300-row subsample of breast_cancer: 30 numeric, binary",
    ),
    Dataset(
        "regression_300",
        REGRESSION,
        _generated(mixed_table, 300, REGRESSION, offset=1),
        "generated: 300 rows, 5 numeric + 2 string categoricals, missing values",
    ),
)

OFFLINE = (
    Dataset("breast_cancer", CLASSIFICATION, _bundled("breast_cancer"), "569 rows, 30 numeric, binary (63/37)"),
    Dataset("wine", CLASSIFICATION, _bundled("wine"), "178 rows, 13 numeric, 3 classes"),
    Dataset("digits", CLASSIFICATION, _bundled("digits"), "1 797 rows, 64 numeric (pixels), 10 classes"),
    Dataset("iris", CLASSIFICATION, _bundled("iris"), "150 rows, 4 numeric, 3 classes"),
    Dataset("diabetes", REGRESSION, _bundled("diabetes"), "442 rows, 10 numeric, regression"),
    Dataset(
        "mixed_binary",
        CLASSIFICATION,
        _generated(mixed_table, 3000, CLASSIFICATION, 2, offset=2),
        "generated: 3 000 rows, 5 numeric + 2 string categoricals, missing values, binary",
    ),
    Dataset(
        "mixed_multiclass",
        CLASSIFICATION,
        _generated(mixed_table, 4000, CLASSIFICATION, 5, offset=3),
        "generated: 4 000 rows, 5 numeric + 2 string categoricals, missing values, 5 classes",
    ),
    Dataset(
        "imbalanced",
        CLASSIFICATION,
        _generated(imbalanced_table, 5000, 0.05, offset=4),
        "generated: 5 000 rows, 12 numeric, binary with 5% positives",
    ),
    Dataset(
        "mixed_regression",
        REGRESSION,
        _generated(mixed_table, 3000, REGRESSION, offset=5),
        "generated: 3 000 rows, 5 numeric + 2 string categoricals, missing values, regression",
    ),
    Dataset(
        "large_mixed_binary",
        CLASSIFICATION,
        _generated(mixed_table, 20000, CLASSIFICATION, 2, offset=6),
        "generated: 20 000 rows, 5 numeric + 2 string categoricals, missing values, binary",
    ),
    Dataset(
        "large_regression",
        REGRESSION,
        _generated(friedman_table, 15000, offset=7),
        "generated: 15 000 rows, Friedman #1 (8 numeric) + 1 string categorical, missing values, regression",
    ),
)


def _bundled_images(name: str) -> Callable[[], Arrays]:
    return lambda: load_tensors(f"sklearn:{name}")


def _shapes(per_class: int, size: int, noise: float, offset: int) -> Callable[[], Arrays]:
    """Generated shape images (automl.data.generated_images): the noise sets how hard they are to tell apart."""

    def load() -> Arrays:
        images, shapes = shape_images(per_class, size, noise, seed=DATA_SEED + offset)
        return standard_shape(images / 255.0, "generated shapes"), shapes

    return load


# Image classification; the table frameworks (default, flaml, autogluon) see each pixel as a column.
IMAGES = (
    Dataset("digits_images", CLASSIFICATION, _bundled_images("digits_images"),
            "scikit-learn digits as images: 1 797 of 1x8x8, 10 classes", modality=TENSOR),
    Dataset("shapes_16", CLASSIFICATION, _shapes(200, 16, 0.3, offset=8),
            "generated: 600 circles, squares and triangles, 1x16x16, noise 0.3 (easy)", modality=TENSOR),
    Dataset("shapes_32_noisy", CLASSIFICATION, _shapes(250, 32, 0.6, offset=9),
            "generated: 750 shapes, 1x32x32, noise 0.6 (as strong as the shapes' contrast: hard)", modality=TENSOR),
)  # fmt: skip

SUITES: dict[str, tuple[Dataset, ...]] = {"smoke": SMOKE, "offline": OFFLINE, "images": IMAGES}


@dataclass(frozen=True)
class Suite:
    """A suite as the harness runs it: the name its results are stored under, its datasets, and ``source``,
    what :func:`load_suite` reads it from again (a lane's process loads the suite itself)."""

    name: str
    datasets: tuple[Dataset, ...]
    source: str


def load_suite(spec: str) -> Suite:
    """A built-in suite by its name, or a folder holding ``suite.yaml``; anything else is a ConfigError.

    A built-in name wins over a folder of that name in the current directory (pass ``./smoke`` for the folder).
    """
    if spec in SUITES:
        return Suite(spec, SUITES[spec], spec)
    folder = Path(spec).expanduser()
    if not folder.exists():
        raise ConfigError(f"unknown benchmark suite {spec!r}: choose one of {', '.join(SUITES)}, "
                          "or pass a folder holding suite.yaml")  # fmt: skip
    # Imported here: the folder reader builds Datasets, so it imports this module.
    from automl.bench.folder_suite import read_folder_suite

    name, datasets = read_folder_suite(folder)
    return Suite(name, datasets, str(folder.resolve()))


def get_suite(spec: str) -> tuple[Dataset, ...]:
    """The datasets of suite ``spec`` (see :func:`load_suite`)."""
    return load_suite(spec).datasets


def suite_name(spec: str) -> str:
    """The name the results of ``spec`` are stored under: a folder suite's name, else ``spec`` itself.

    The report filters the database by it, so a suite may be named there by its folder or by the name
    it was stored under (``automl bench report --suite churn``).
    """
    return load_suite(spec).name if spec not in SUITES and Path(spec).expanduser().is_dir() else spec


def select_datasets(suite: tuple[Dataset, ...], names: list[str] | None) -> tuple[Dataset, ...]:
    """The datasets of ``suite`` that ``names`` lists (all when None), in the suite's order.

    A name the suite does not have is a ConfigError listing the ones it has, so a typo never
    silently benchmarks nothing.
    """
    if names is None:
        return suite
    known = {dataset.name for dataset in suite}
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ConfigError(f"--datasets {','.join(names)}: choose from {', '.join(sorted(known))}")
    return tuple(dataset for dataset in suite if dataset.name in names)
