"""train.py written by the automl offline writer (no language model): one scikit-learn pipeline per trial.

SMAC3 calls ``train(cfg, dataset, seed, budget, model_dir)`` once per trial. ``cfg["algorithm"]`` picks
the model family (hgb, rf, et, linear, knn, svm, mlp) and the ``<algorithm>:<name>`` entries set its
hyperparameters. Preprocessing follows the column dtypes and the model family, and everything lives in
one fitted scikit-learn object, so the saved ``model.joblib`` predicts on raw DataFrames by itself.
The only line that differs between tasks is ``TASK`` below.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    StandardScaler,
    TargetEncoder,
)
from sklearn.svm import SVC, SVR

TASK = "__TASK__"

MAX_ONEHOT_LEVELS = 32  # above this a categorical column is target-encoded instead of one-hot / native
MIN_ROWS_PER_CLASS = 5  # a budget subsample keeps this many rows of every class (if it has them)
MIN_ROWS_REGRESSION = 30  # ... and at least this many rows for regression
HOLDOUT_FRACTION = 0.1  # internal early-stopping split of hgb and mlp
# Fewest validation rows for early stopping: hgb watches the loss, which is informative even on a few
# rows; the MLP watches accuracy, which saturates on small splits and stops training far too early.
MIN_HOLDOUT_ROWS = {"hgb": 10, "mlp": 100}
PROBA_FLOOR = 1e-7  # one over-confident mistake costs at most -log(1e-7) ~ 16 in the log loss
SCALE_SENSITIVE = {"linear", "knn", "svm", "mlp"}


def _params(cfg: Any, algorithm: str) -> dict[str, Any]:
    """The active ``<algorithm>:<name>`` values, as plain Python (ConfigSpace hands out numpy types)."""
    prefix = f"{algorithm}:"
    return {
        key[len(prefix) :]: value.item() if isinstance(value, np.generic) else value
        for key, value in dict(cfg).items()
        if key.startswith(prefix) and value is not None
    }


def _class_weight(params: dict[str, Any]) -> str | None:
    """ConfigSpace choices are strings, so "none" stands for scikit-learn's None (the default)."""
    return None if params["class_weight"] == "none" else "balanced"


def _column_groups(X: pd.DataFrame) -> tuple[list, list, list]:
    """Split columns into numeric, low-cardinality and high-cardinality categorical (by name or position).

    Decided on the full training table, not the budget subsample, so every budget sees the same features.
    """
    use_names = all(isinstance(c, str) for c in X.columns)
    numeric, low, high = [], [], []
    for position, name in enumerate(X.columns):
        key = name if use_names else position
        series = X[name]
        if pd.api.types.is_numeric_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
            numeric.append(key)
        elif series.nunique(dropna=True) <= MAX_ONEHOT_LEVELS:
            low.append(key)
        else:
            high.append(key)
    return numeric, low, high


def _sample_per_group(groups: np.ndarray, fraction: float, min_rows: int, rng: np.random.Generator):
    """Sorted row indices: ``ceil(fraction * n)`` random rows of each group, at least ``min_rows`` of each.

    Sampling every class separately keeps all classes present, so predict_proba has a column for each.
    """
    chosen = []
    for group in np.unique(groups):
        rows = rng.permutation(np.flatnonzero(groups == group))
        n_keep = min(len(rows), max(math.ceil(fraction * len(rows)), min_rows))
        chosen.append(rows[:n_keep])
    return np.sort(np.concatenate(chosen))


def _groups(y: np.ndarray) -> np.ndarray:
    """Stratification groups: the class for classification, one group for regression."""
    return y if TASK == "classification" else np.zeros(len(y), dtype=int)


def _early_stopping(y: np.ndarray, algorithm: str) -> bool:
    """Whether an internal (stratified) early-stopping split is possible and large enough to trust."""
    n_val = math.ceil(HOLDOUT_FRACTION * len(y))
    if TASK != "classification":
        return n_val >= MIN_HOLDOUT_ROWS[algorithm]
    counts = np.unique(y, return_counts=True)[1]
    return n_val >= max(MIN_HOLDOUT_ROWS[algorithm], len(counts)) and counts.min() >= 2


def _scaler(params: dict[str, Any], n_rows: int, seed: int) -> Any:
    """Quantile-to-normal tames skewed features and outliers for distance- and gradient-based models."""
    if params["scaler"] == "quantile":
        n_quantiles = min(1000, n_rows)
        return QuantileTransformer(n_quantiles=n_quantiles, output_distribution="normal", random_state=seed)
    return StandardScaler()


def _preprocessor(algorithm: str, params: dict[str, Any], columns: tuple, n_rows: int, seed: int) -> tuple:
    """Column-wise preprocessing; returns the transformer and the output positions of native categoricals.

    hgb handles missing numbers itself and splits on ordinal-encoded categories natively (unseen or missing
    levels become NaN); the other models get median imputation with missing-indicator columns and one-hot
    categories (unseen levels become all zeros). Many-level columns are target-encoded with a seeded
    cross-fitting split so that the encoding does not leak the target of the row it encodes.
    """
    numeric, low, high = columns
    split = KFold(n_splits=5, shuffle=True, random_state=seed)
    target = TargetEncoder(target_type="auto" if TASK == "classification" else "continuous", cv=split)
    high_step: Any = target
    if algorithm == "hgb":
        low_step: Any = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
        num_step: Any = "passthrough"
    else:
        low_step = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        num_step = SimpleImputer(strategy="median", add_indicator=True)
        if algorithm in SCALE_SENSITIVE:
            num_step = make_pipeline(num_step, _scaler(params, n_rows, seed))
            high_step = make_pipeline(target, StandardScaler())
    parts = [("categorical", low_step, low), ("many_levels", high_step, high), ("numeric", num_step, numeric)]
    transformer = ColumnTransformer([part for part in parts if part[2]], sparse_threshold=0.0)
    native = list(range(len(low))) if algorithm == "hgb" and low else None  # low-card columns come first
    return transformer, native


def _estimator(algorithm: str, p: dict[str, Any], y: np.ndarray, native: list | None, seed: int) -> Any:
    """The model of one algorithm family with the trial's hyperparameters ``p``."""
    clf = TASK == "classification"
    n_jobs = int(os.environ.get("AUTOML_N_JOBS", "1"))
    weights: dict[str, Any] = {"class_weight": _class_weight(p)} if "class_weight" in p else {}
    if algorithm == "hgb":
        model = HistGradientBoostingClassifier if clf else HistGradientBoostingRegressor
        return model(
            learning_rate=float(p["learning_rate"]),
            max_iter=int(p["max_iter"]),
            max_leaf_nodes=int(p["max_leaf_nodes"]),
            min_samples_leaf=int(p["min_samples_leaf"]),
            l2_regularization=float(p["l2_regularization"]),
            max_features=float(p["max_features"]),
            categorical_features=native,
            early_stopping=_early_stopping(y, "hgb"),
            validation_fraction=HOLDOUT_FRACTION,
            n_iter_no_change=15,
            random_state=seed,
            **weights,
        )
    if algorithm in ("rf", "et"):
        forest = {
            "rf": (RandomForestClassifier, RandomForestRegressor),
            "et": (ExtraTreesClassifier, ExtraTreesRegressor),
        }[algorithm][0 if clf else 1]
        return forest(
            n_estimators=int(p["n_estimators"]),
            max_features=float(p["max_features"]),
            min_samples_leaf=int(p["min_samples_leaf"]),
            bootstrap=p["bootstrap"] == "true",
            n_jobs=n_jobs,
            random_state=seed,
            **weights,
        )
    if algorithm == "linear":  # lbfgs fits the multinomial model directly, fine for many classes
        if clf:
            return LogisticRegression(C=float(p["C"]), max_iter=1000, **weights)
        return Ridge(alpha=float(p["alpha"]))
    if algorithm == "knn":  # a budget subsample may have fewer rows than the configured neighbours
        knn = KNeighborsClassifier if clf else KNeighborsRegressor
        return knn(
            n_neighbors=min(int(p["n_neighbors"]), len(y)), weights=str(p["weights"]), p=int(p["p"]), n_jobs=n_jobs
        )
    if algorithm == "svm":
        if not clf:
            return SVR(C=float(p["C"]), gamma=float(p["gamma"]), epsilon=float(p["epsilon"]))
        # Platt scaling on out-of-fold decision values: what the deprecated SVC(probability=True) did.
        folds = max(2, min(5, int(np.unique(y, return_counts=True)[1].min())))
        svc = SVC(C=float(p["C"]), gamma=float(p["gamma"]), **weights)
        return CalibratedClassifierCV(svc, cv=StratifiedKFold(n_splits=folds), ensemble=False, n_jobs=n_jobs)
    if algorithm == "mlp":
        mlp = MLPClassifier if clf else MLPRegressor
        return mlp(
            hidden_layer_sizes=(int(p["hidden_size"]),) * int(p["n_layers"]),
            alpha=float(p["alpha"]),
            learning_rate_init=float(p["learning_rate_init"]),
            batch_size=min(64, len(y)),
            max_iter=200,
            early_stopping=_early_stopping(y, "mlp"),
            validation_fraction=HOLDOUT_FRACTION,
            random_state=seed,
        )
    raise ValueError(f"unknown algorithm {algorithm!r}: expected one of hgb, rf, et, linear, knn, svm, mlp")


def _build_model(algorithm: str, cfg: Any, X: pd.DataFrame, y: np.ndarray, columns: tuple, seed: int) -> Any:
    """Preprocessing and model in one Pipeline, so the saved object predicts on raw DataFrames."""
    params = _params(cfg, algorithm)
    transformer, native = _preprocessor(algorithm, params, columns, len(X), seed)
    estimator = _estimator(algorithm, params, y, native, seed)
    model: Any = Pipeline([("preprocess", transformer), ("model", estimator)])
    if TASK != "classification" and algorithm in ("svm", "mlp"):
        # SVR's epsilon and the MLP's initialisation assume a target of unit scale.
        model = TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    return model


def _full_proba(model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class 0..K-1 (classes missing from training get probability 0)."""
    proba = np.zeros((len(X), n_classes))
    proba[:, np.asarray(model.classes_, dtype=int)] = model.predict_proba(X)
    return proba


def _classification_metrics(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> dict[str, float]:
    """Log loss, accuracy, balanced accuracy and macro F1 over all K classes (ROC AUC when K == 2)."""
    proba = np.clip(proba, PROBA_FLOOR, 1.0)
    proba /= proba.sum(axis=1, keepdims=True)
    predicted = proba.argmax(axis=1)
    labels = np.arange(n_classes)  # a class absent from the validation rows still counts
    loss = float(metrics.log_loss(y_true, proba, labels=labels))
    with warnings.catch_warnings():  # a validation split may lack a class that the model predicts
        warnings.simplefilter("ignore", UserWarning)
        balanced = float(metrics.balanced_accuracy_score(y_true, predicted))
    f1 = float(metrics.f1_score(y_true, predicted, average="macro", labels=labels, zero_division=0))
    scores = {
        "loss": loss,
        "log_loss": loss,
        "accuracy": float(metrics.accuracy_score(y_true, predicted)),
        "balanced_accuracy": balanced,
        "f1_macro": f1,
    }
    if n_classes == 2:  # AUC is undefined when the validation rows hold a single class
        single = len(np.unique(y_true)) < 2
        scores["roc_auc"] = float("nan") if single else float(metrics.roc_auc_score(y_true, proba[:, 1]))
    return scores


def _regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    rmse = float(math.sqrt(metrics.mean_squared_error(y_true, predicted)))
    return {
        "loss": rmse,
        "rmse": rmse,
        "mae": float(metrics.mean_absolute_error(y_true, predicted)),
        "r2": float(metrics.r2_score(y_true, predicted)),
    }


def _train_validation(dataset: dict, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray]:
    """The runner's validation split if given, else a seeded 80/20 split (stratified for classification).

    Every class keeps at least one training row, so the model knows all classes seen in the data.
    """
    X, y = dataset["X"], np.asarray(dataset["y"])
    if dataset.get("X_test") is not None and dataset.get("y_test") is not None:
        return X, y, dataset["X_test"], np.asarray(dataset["y_test"])
    train_rows = _sample_per_group(_groups(y), 0.8, 1, np.random.default_rng(seed))
    val_rows = np.setdiff1d(np.arange(len(y)), train_rows)
    return X.iloc[train_rows], y[train_rows], X.iloc[val_rows], y[val_rows]


def _subsample(X: pd.DataFrame, y: np.ndarray, budget: float | None, seed: int) -> tuple:
    """A seeded, class-stratified fraction ``budget`` of the training rows; None, >= 1 or NaN: all rows."""
    fraction = 1.0 if budget is None else float(budget)
    if not fraction < 1.0:
        return X, y
    min_rows = MIN_ROWS_PER_CLASS if TASK == "classification" else MIN_ROWS_REGRESSION
    rows = _sample_per_group(_groups(y), max(fraction, 0.0), min_rows, np.random.default_rng([seed, 1]))
    return X.iloc[rows], y[rows]


def train(
    cfg: Any, dataset: dict, seed: int, budget: float | None = None, model_dir: str | None = None
) -> dict[str, float]:
    """Fit the configured pipeline on the training rows, score it on the validation rows, optionally save it.

    Returns ``loss`` (log loss for classification, RMSE for regression; lower is better) and metrics,
    always with the same keys for a task (``roc_auc`` only for two classes).
    """
    if TASK not in ("classification", "regression"):
        raise ValueError(f"TASK must be 'classification' or 'regression', not {TASK!r}")
    seed = int(seed)
    algorithm = str(cfg.get("algorithm"))
    X_train, y_train, X_val, y_val = _train_validation(dataset, seed)
    columns = _column_groups(X_train)
    X_fit, y_fit = _subsample(X_train, y_train, budget, seed)
    model = _build_model(algorithm, cfg, X_fit, y_fit, columns, seed)
    with warnings.catch_warnings():
        # Hitting max_iter (lbfgs, the MLP) is a property of this configuration; SMAC sees it in the loss.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_fit, y_fit)
    if TASK == "classification":
        n_classes = int(max(y_train.max(), y_val.max())) + 1  # labels are 0..K-1
        scores = _classification_metrics(y_val, _full_proba(model, X_val, n_classes), n_classes)
    else:
        scores = _regression_metrics(y_val, model.predict(X_val))
    if model_dir is not None:
        os.makedirs(model_dir, exist_ok=True)
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    return scores
