"""train.py written by the automl offline writer (no language model): one scikit-learn pipeline per trial.

SMAC3 calls ``train(cfg, dataset, seed, budget, model_dir)`` once per trial. ``cfg["algorithm"]`` picks
the model family (hgb, lgbm, rf, et, linear, knn, svm, mlp; lgbm is LightGBM) and the
``<algorithm>:<name>`` entries set its hyperparameters. Preprocessing follows the column dtypes and the
model family, and everything lives in one fitted scikit-learn object, so the saved ``model.joblib``
predicts on raw DataFrames by itself.
The lines that differ between runs are ``TASK``, ``BUDGET_KIND`` and ``MAX_BUDGET`` below.

Budgets (multi-fidelity facades pass a float between the plan's min_budget and max_budget). ``budget=None``
(verification, the final refit) is the full budget ``MAX_BUDGET``; a larger budget is clipped to it, a
count is ``round(budget)``, and a budget below the smallest sensible fit (one tree or iteration,
``MIN_ROWS_*`` rows) is raised to it. What the budget means is ``BUDGET_KIND``:

- ``None`` (facades without budgets): a budget, if one is passed anyway, is the fraction of training rows.
- ``"data_fraction"``: fit on a seeded, class-stratified fraction ``budget`` (0 < budget <= 1) of the
  training rows; score on all validation rows.
- ``"n_estimators"``: rf and et grow ``budget`` trees, hgb and lgbm boost ``budget`` rounds (early stopping
  off, so the budget is the number of rounds); linear, knn, svm and mlp fit on the row fraction
  ``budget / MAX_BUDGET``.
- ``"max_iter"``: mlp trains ``budget`` epochs, hgb and lgbm ``budget`` rounds (all without early stopping),
  logistic regression runs at most ``budget`` lbfgs iterations; rf, et, knn, svm and Ridge (solved in
  closed form, it has no iterations) fit on the row fraction ``budget / MAX_BUDGET``.

Checkpoints. Under n_estimators and max_iter the runner may copy the same configuration's model from a
lower-budget trial into ``model_dir`` as ``warm_start.joblib``, with ``warm_start.json`` holding
``{"budget": <that budget>}``. Forests (more trees), hgb and lgbm (more rounds; LightGBM through its
``init_model``) and, under max_iter, the MLP (more epochs) continue training it instead of starting
over. A checkpoint of another kind, algorithm or configuration, one at this budget or above, or one
that cannot be read is ignored (the log says why). Besides the task's metrics, every call returns
``warm_started`` (1.0 or 0.0) and ``budget_used``: the trees, rounds, epochs or iterations trained to,
else the fraction of training rows fitted on.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from typing import Any

import joblib
import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor
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
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
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

from automl.trial_metrics import classification_metrics, regression_metrics

TASK = "__TASK__"
BUDGET_KIND = None
MAX_BUDGET = None

MAX_ONEHOT_LEVELS = 32  # above this a categorical column is target-encoded instead of one-hot / native
MIN_ROWS_PER_CLASS = 5  # a budget subsample keeps this many rows of every class (if it has them)
MIN_ROWS_REGRESSION = 30  # ... and at least this many rows for regression
HOLDOUT_FRACTION = 0.1  # internal early-stopping split of hgb, lgbm and mlp
ROUNDS_NO_CHANGE = 15  # boosting rounds without a better loss on that split before hgb and lgbm stop
# Fewest validation rows for early stopping: hgb and lgbm watch the loss, which is informative even on a
# few rows; the MLP watches accuracy, which saturates on small splits and stops training far too early.
MIN_HOLDOUT_ROWS = ...
SCALE_SENSITIVE = {"linear", "knn", "svm", "mlp"}
NATIVE_CATEGORIES = {"hgb", "lgbm"}  # boosters that split on (ordinal-encoded) categories themselves
# The algorithms whose trees, rounds, epochs or iterations a budget kind sets; the others fit on a share of
# the rows. WARM_STARTS: those of them that can continue a lower-budget checkpoint (scikit-learn's warm_start,
# LightGBM's init_model).
LENGTH_BUDGETS = ...
WARM_STARTS = ...
CHECKPOINT_MODEL, CHECKPOINT_INFO = "warm_start.joblib", "warm_start.json"
FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)
BOOSTERS = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
LIGHTGBM = (LGBMClassifier, LGBMRegressor)
# Parameters that only say how long to train or on how many cores: a checkpoint may differ in these alone.
LENGTH_PARAMS = {"n_estimators", "max_iter", "warm_start", "n_jobs"}
NEVER = 10**9  # epochs without improvement before the MLP stops, when the budget is its number of epochs


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

    hgb and lgbm handle missing numbers themselves and split on ordinal-encoded categories natively (unseen
    or missing levels become NaN, which both treat as missing); the other models get median imputation
    with missing-indicator columns and one-hot categories (unseen levels become all zeros). Many-level
    columns are target-encoded with a seeded cross-fitting split so that the encoding does not leak the
    target of the row it encodes.
    """
    numeric, low, high = columns
    split = KFold(n_splits=5, shuffle=True, random_state=seed)
    target = TargetEncoder(target_type="auto" if TASK == "classification" else "continuous", cv=split)
    high_step: Any = target
    if algorithm in NATIVE_CATEGORIES:
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
    return transformer, _native_columns(transformer) or None


def _native_columns(transformer: ColumnTransformer) -> list[int]:
    """Output positions of the ordinal-encoded categorical columns, which hgb and lgbm split on natively.

    A ColumnTransformer's output follows the order of its parts, and the categorical part comes first.
    """
    name, step, columns = transformer.transformers[0]
    return list(range(len(columns))) if name == "categorical" and isinstance(step, OrdinalEncoder) else []


def _estimator(
    algorithm: str, p: dict[str, Any], y: np.ndarray, native: list | None, seed: int, length: int | None
) -> Any:
    """The model of one algorithm family with the trial's hyperparameters ``p``.

    ``length`` (trees, rounds, epochs or iterations), when the budget sets it, replaces the configured one.
    """
    clf = TASK == "classification"
    n_jobs = int(os.environ.get("AUTOML_N_JOBS", "1"))
    weights: dict[str, Any] = {"class_weight": _class_weight(p)} if "class_weight" in p else {}
    if algorithm == "hgb":
        return _boosting(p, y, native, seed, length, weights)
    if algorithm == "lgbm":  # its categorical columns are named when it is fitted (_fit_lightgbm)
        return _lightgbm(p, y, seed, length, n_jobs)
    if algorithm in ("rf", "et"):
        return _forest(algorithm, p, seed, length, n_jobs, weights)
    if algorithm == "linear":  # lbfgs fits the multinomial model directly, fine for many classes
        if clf:
            return LogisticRegression(C=float(p["C"]), max_iter=1000 if length is None else length, **weights)
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
        return _network(p, y, seed, length)
    raise ValueError(f"unknown algorithm {algorithm!r}: expected one of hgb, lgbm, rf, et, linear, knn, svm, mlp")


def _boosting(
    p: dict[str, Any], y: np.ndarray, native: list | None, seed: int, length: int | None, weights: dict
) -> Any:
    """Gradient-boosted trees; when the budget counts rounds, early stopping is off so that it trains them all."""
    model = HistGradientBoostingClassifier if TASK == "classification" else HistGradientBoostingRegressor
    return model(
        learning_rate=float(p["learning_rate"]),
        max_iter=int(p["max_iter"]) if length is None else length,
        max_leaf_nodes=int(p["max_leaf_nodes"]),
        min_samples_leaf=int(p["min_samples_leaf"]),
        l2_regularization=float(p["l2_regularization"]),
        max_features=float(p["max_features"]),
        categorical_features=native,
        early_stopping=length is None and _early_stopping(y, "hgb"),
        validation_fraction=HOLDOUT_FRACTION,
        n_iter_no_change=ROUNDS_NO_CHANGE,
        random_state=seed,
        **weights,
    )


def _lightgbm(p: dict[str, Any], y: np.ndarray, seed: int, length: int | None, n_jobs: int) -> Any:
    """LightGBM's boosted trees; when the budget counts rounds, early stopping is off so that it trains them all.

    ``early_stopping_round`` makes LightGBM stop when the loss on the split that ``_fit_lightgbm`` holds out
    has not improved for that many rounds; the model then predicts with its best round. Row-wise histograms
    and ``deterministic`` make a seed repeat the same model whatever the machine's load.
    """
    model = LGBMClassifier if TASK == "classification" else LGBMRegressor
    stopping = {"early_stopping_round": ROUNDS_NO_CHANGE} if length is None and _early_stopping(y, "lgbm") else {}
    subsample = float(p["subsample"])
    return model(
        n_estimators=int(p["n_estimators"]) if length is None else length,
        learning_rate=float(p["learning_rate"]),
        num_leaves=int(p["num_leaves"]),
        min_child_samples=int(p["min_child_samples"]),
        subsample=subsample,
        subsample_freq=1 if subsample < 1.0 else 0,  # LightGBM bags rows only with a bagging frequency
        colsample_bytree=float(p["colsample_bytree"]),
        reg_lambda=float(p["reg_lambda"]),
        random_state=seed,
        n_jobs=n_jobs,
        verbose=-1,
        deterministic=True,
        force_row_wise=True,
        **stopping,
    )


def _fit_lightgbm(model: Pipeline, X: pd.DataFrame, y: np.ndarray) -> None:
    """Fit the preprocessing, then LightGBM on its output with the native categorical columns named.

    LightGBM has no internal validation split (hgb's ``validation_fraction``): when it stops early it fits
    on a seeded 90 % of the rows (stratified for classification) and watches its loss on the other 10 %.
    """
    preprocess, booster = model.steps[0][1], model.steps[-1][1]
    X_model = preprocess.fit_transform(X, y)
    native = _native_columns(preprocess)
    if not booster.get_params().get("early_stopping_round"):
        booster.fit(X_model, y, categorical_feature=native)
        return
    stratify = y if TASK == "classification" else None
    rows, held = train_test_split(
        np.arange(len(y)), test_size=HOLDOUT_FRACTION, stratify=stratify, random_state=booster.random_state
    )
    booster.fit(X_model[rows], y[rows], eval_X=X_model[held], eval_y=y[held], categorical_feature=native)


def _forest(algorithm: str, p: dict[str, Any], seed: int, length: int | None, n_jobs: int, weights: dict) -> Any:
    """A random or extremely randomized forest of the configured size, or of ``length`` trees."""
    forest = {
        "rf": (RandomForestClassifier, RandomForestRegressor),
        "et": (ExtraTreesClassifier, ExtraTreesRegressor),
    }[algorithm][0 if TASK == "classification" else 1]
    return forest(
        n_estimators=int(p["n_estimators"]) if length is None else length,
        max_features=float(p["max_features"]),
        min_samples_leaf=int(p["min_samples_leaf"]),
        bootstrap=p["bootstrap"] == "true",
        n_jobs=n_jobs,
        random_state=seed,
        **weights,
    )


def _network(p: dict[str, Any], y: np.ndarray, seed: int, length: int | None) -> Any:
    """The MLP; when the budget counts epochs it trains exactly that many (no early stopping, no plateau stop)."""
    mlp = MLPClassifier if TASK == "classification" else MLPRegressor
    return mlp(
        hidden_layer_sizes=(int(p["hidden_size"]),) * int(p["n_layers"]),
        alpha=float(p["alpha"]),
        learning_rate_init=float(p["learning_rate_init"]),
        batch_size=min(64, len(y)),
        max_iter=200 if length is None else length,
        early_stopping=length is None and _early_stopping(y, "mlp"),
        validation_fraction=HOLDOUT_FRACTION,
        n_iter_no_change=10 if length is None else NEVER,
        random_state=seed,
    )


def _build_model(
    algorithm: str, cfg: Any, X: pd.DataFrame, y: np.ndarray, columns: tuple, seed: int, length: int | None
) -> Any:
    """Preprocessing and model in one Pipeline, so the saved object predicts on raw DataFrames."""
    params = _params(cfg, algorithm)
    transformer, native = _preprocessor(algorithm, params, columns, len(X), seed)
    estimator = _estimator(algorithm, params, y, native, seed, length)
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


def _subsample(X: pd.DataFrame, y: np.ndarray, fraction: float | None, seed: int) -> tuple:
    """A seeded, class-stratified ``fraction`` of the training rows; None, >= 1 or NaN: all rows."""
    fraction = 1.0 if fraction is None else float(fraction)
    if not fraction < 1.0:
        return X, y
    min_rows = MIN_ROWS_PER_CLASS if TASK == "classification" else MIN_ROWS_REGRESSION
    rows = _sample_per_group(_groups(y), max(fraction, 0.0), min_rows, np.random.default_rng([seed, 1]))
    return X.iloc[rows], y[rows]


def _check_settings() -> None:
    """A wrongly rendered file fails on its first call, naming the line to fix."""
    if TASK not in ("classification", "regression"):
        raise ValueError(f"TASK must be 'classification' or 'regression', not {TASK!r}")
    if BUDGET_KIND not in (None, "data_fraction", *LENGTH_BUDGETS):
        raise ValueError(
            f"BUDGET_KIND must be None, 'data_fraction', 'n_estimators' or 'max_iter', not {BUDGET_KIND!r}"
        )
    if BUDGET_KIND in LENGTH_BUDGETS and not (MAX_BUDGET and MAX_BUDGET > 0):
        raise ValueError(f"BUDGET_KIND {BUDGET_KIND!r} needs MAX_BUDGET, the full number of trees or iterations")


def _clipped(budget: float | None) -> float:
    """The budget within its range's top: None (verification, the refit) is the full budget, MAX_BUDGET."""
    full = 1.0 if MAX_BUDGET is None else float(MAX_BUDGET)
    if budget is None:
        return full
    if math.isnan(float(budget)):
        raise ValueError(f"budget must be a number or None, got {budget!r}")
    return min(float(budget), full)


def _counts_length(algorithm: str) -> bool:
    """Whether the budget sets this algorithm's trees, rounds, epochs or iterations rather than its rows.

    Ridge is solved in closed form: with no iterations to count, it fits on a share of the rows instead.
    """
    if algorithm == "linear" and TASK == "regression":
        return False
    return algorithm in LENGTH_BUDGETS.get(str(BUDGET_KIND), ())


def _resources(algorithm: str, budget: float | None) -> tuple[int | None, float | None]:
    """What the budget buys: a length (trees, rounds, epochs, iterations; at least 1) or a row fraction."""
    if BUDGET_KIND is None:
        return None, budget  # a row fraction, as before budgets had kinds (None: all rows)
    amount = _clipped(budget)
    if BUDGET_KIND == "data_fraction":
        return None, amount
    if _counts_length(algorithm):
        return max(1, round(amount)), None
    return None, amount / _clipped(None)


def _can_continue(algorithm: str) -> bool:
    """Whether a higher-budget trial can continue this algorithm's model rather than train it again."""
    return algorithm in WARM_STARTS.get(str(BUDGET_KIND), ())


def _note(message: str) -> None:
    """Say in the trial log why a checkpoint was left unused; the trial then trains from scratch."""
    print(f"warm start: {message}; training from scratch")


def _checkpoint(model_dir: str | None, algorithm: str, budget: float | None) -> Any | None:
    """The lower-budget model the runner left in ``model_dir`` for this trial to continue, if there is one."""
    if model_dir is None or not _can_continue(algorithm):
        return None
    model_path, info_path = os.path.join(model_dir, CHECKPOINT_MODEL), os.path.join(model_dir, CHECKPOINT_INFO)
    if not (os.path.isfile(model_path) and os.path.isfile(info_path)):
        return None
    try:
        with open(info_path, encoding="utf-8") as file:
            lower = float(json.load(file)["budget"])
    except (OSError, ValueError, LookupError, TypeError) as error:
        _note(f"{CHECKPOINT_INFO} has no usable budget ({type(error).__name__}: {error})")
        return None
    if not lower < _clipped(budget):  # also false for NaN
        _note(f"the checkpoint's budget {lower:g} is not below this trial's {_clipped(budget):g}")
        return None
    try:
        return joblib.load(model_path)
    except (OSError, EOFError, ValueError, LookupError, TypeError, AttributeError, ImportError) as error:
        _note(f"{CHECKPOINT_MODEL} cannot be loaded ({type(error).__name__}: {error})")
        return None


def _pipeline(model: Any) -> Pipeline | None:
    """The Pipeline inside ``model``: itself, or the (fitted, if fitted) regressor of a TransformedTargetRegressor."""
    if isinstance(model, TransformedTargetRegressor):
        model = getattr(model, "regressor_", model.regressor)
    return model if isinstance(model, Pipeline) else None


def _last_step(model: Any) -> Any:
    """The estimator at the end of ``model``'s Pipeline (None when it has none)."""
    pipeline = _pipeline(model)
    return None if pipeline is None else pipeline.steps[-1][1]


def _settings(estimator: Any) -> dict[str, Any]:
    """An estimator's parameters apart from how long it trains: equal ones mean the same configuration and seed."""
    return {key: value for key, value in estimator.get_params(deep=False).items() if key not in LENGTH_PARAMS}


def _same_structure(checkpoint: Any, fresh: Any) -> bool:
    """Whether the checkpoint is what this file builds for this configuration, up to its length."""
    old, new = _pipeline(checkpoint), _pipeline(fresh)
    if type(checkpoint) is not type(fresh) or old is None or new is None:
        return False
    if isinstance(fresh, TransformedTargetRegressor) and not isinstance(
        getattr(checkpoint, "transformer_", None), type(fresh.transformer)
    ):
        return False
    if [name for name, _ in old.steps] != ["preprocess", "model"] or len(new.steps) != 2:
        return False
    before, after = old.steps[-1][1], new.steps[-1][1]
    if type(before) is not type(after) or type(old.steps[0][1]) is not type(new.steps[0][1]):
        return False
    return _settings(before) == _settings(after)


def _trained_length(estimator: Any) -> int:
    """Trees, boosting rounds or epochs a fitted estimator holds (0 if it is not fitted).

    The MLP's ``n_iter_`` counts only the epochs of its last fit; its loss curve has one entry per epoch ever.
    """
    if isinstance(estimator, FORESTS):
        return len(getattr(estimator, "estimators_", ()))
    if isinstance(estimator, BOOSTERS + LIGHTGBM):  # LightGBM's n_iter_ counts a continued checkpoint's rounds too
        return int(getattr(estimator, "n_iter_", 0))
    return len(getattr(estimator, "loss_curve_", ()))


def _fingerprint(X: pd.DataFrame, y: np.ndarray) -> str:
    """Names the rows a model was fitted on: a checkpoint is continued only on the very rows it saw.

    Stored on the saved Pipeline as ``fitted_rows_``; the runner hands over the same configuration's
    model, but a refit on more rows or another run's file must not pass for it.
    """
    return str(joblib.hash((X, y)))


def _model_target(checkpoint: Any, y: np.ndarray) -> np.ndarray:
    """The target the pipeline fits: ``y``, or ``y`` scaled by the checkpoint's TransformedTargetRegressor."""
    if isinstance(checkpoint, TransformedTargetRegressor):
        return checkpoint.transformer_.transform(y.reshape(-1, 1)).ravel()
    return y


def _train_on(estimator: Any, like: Any, X: np.ndarray, y: np.ndarray, goal: int, native: list[int]) -> None:
    """Continue a fitted estimator to ``goal`` trees, rounds or epochs; leave its parameters as a fresh fit's.

    Forests and hgb count ``n_estimators``/``max_iter`` in total; the MLP's ``max_iter`` is the epochs of one fit.
    LightGBM boosts ``goal`` minus the checkpoint's rounds on top of its booster (``init_model``).
    """
    if isinstance(estimator, LIGHTGBM):
        estimator.set_params(n_estimators=goal - _trained_length(estimator), n_jobs=like.n_jobs)
        estimator.fit(X, y, init_model=estimator.booster_, categorical_feature=native)
        estimator.set_params(n_estimators=goal)
        return
    name = "n_estimators" if isinstance(estimator, FORESTS) else "max_iter"
    more = goal if isinstance(estimator, FORESTS + BOOSTERS) else goal - _trained_length(estimator)
    cores = {"n_jobs": like.n_jobs} if "n_jobs" in estimator.get_params(deep=False) else {}
    estimator.set_params(warm_start=True, **{name: more}, **cores)
    with warnings.catch_warnings():
        # The rows are the checkpoint's own, so "balanced" class weights are the same in both fits.
        warnings.filterwarnings("ignore", message="class_weight presets", category=UserWarning)
        estimator.fit(X, y)
    estimator.set_params(warm_start=False, **{name: goal})


def _continue(checkpoint: Any, fresh: Any, X: pd.DataFrame, y: np.ndarray, rows: str) -> Any | None:
    """The checkpoint trained on to this trial's length, or None when it is not this trial's model to continue.

    The preprocessing is fitted again on the same rows (deterministic, so it encodes as the checkpoint's
    did); then only the estimator trains on.
    """
    if not _same_structure(checkpoint, fresh):
        _note("the checkpoint is not the pipeline of this configuration and seed")
        return None
    old, new = _pipeline(checkpoint), _pipeline(fresh)
    if getattr(old, "fitted_rows_", None) != rows:
        _note("the checkpoint was fitted on other rows")
        return None
    estimator, planned = old.steps[-1][1], new.steps[-1][1]
    goal = planned.n_estimators if isinstance(planned, FORESTS + LIGHTGBM) else planned.max_iter
    if not 0 < _trained_length(estimator) < goal:
        _note(f"the checkpoint holds {_trained_length(estimator)} of this trial's {goal} trees, rounds or epochs")
        return None
    y_model = _model_target(checkpoint, y)
    preprocess = new.steps[0][1]
    X_model = preprocess.fit_transform(X, y_model)
    _train_on(estimator, planned, X_model, y_model, goal, _native_columns(preprocess))
    pipeline = Pipeline([("preprocess", preprocess), ("model", estimator)])
    if isinstance(checkpoint, TransformedTargetRegressor):  # keep its fitted target scaler: same rows, same y
        checkpoint.regressor, checkpoint.regressor_ = fresh.regressor, pipeline
        return checkpoint
    return pipeline


def _fit(model: Any, checkpoint: Any | None, X: pd.DataFrame, y: np.ndarray, rows: str | None) -> tuple[Any, bool]:
    """The fitted model and whether it continued the checkpoint (else it trained from scratch).

    ``rows`` (the fit rows' fingerprint, for models a later trial may continue) is stored on the Pipeline.
    """
    with warnings.catch_warnings():
        # Hitting max_iter (lbfgs, the MLP) is a property of this configuration; SMAC sees it in the loss.
        warnings.simplefilter("ignore", ConvergenceWarning)
        continued = None if checkpoint is None or rows is None else _continue(checkpoint, model, X, y, rows)
        if continued is None and isinstance(_last_step(model), LIGHTGBM):
            _fit_lightgbm(model, X, y)
        elif continued is None:
            model.fit(X, y)
    fitted = model if continued is None else continued
    if rows is not None:
        _pipeline(fitted).fitted_rows_ = rows
    return fitted, continued is not None


def train(
    cfg: Any, dataset: dict, seed: int, budget: float | None = None, model_dir: str | None = None
) -> dict[str, float]:
    """Fit the configured pipeline on the training rows, score it on the validation rows, optionally save it.

    Returns ``loss`` (log loss for classification, RMSE for regression; lower is better) and metrics,
    always with the same keys for a task (``roc_auc`` only for two classes), plus ``warm_started`` and
    ``budget_used`` (see the module docstring).
    """
    _check_settings()
    seed = int(seed)
    algorithm = str(cfg.get("algorithm"))
    X_train, y_train, X_val, y_val = _train_validation(dataset, seed)
    columns = _column_groups(X_train)
    length, fraction = _resources(algorithm, budget)
    X_fit, y_fit = _subsample(X_train, y_train, fraction, seed)
    model = _build_model(algorithm, cfg, X_fit, y_fit, columns, seed, length)
    rows = _fingerprint(X_fit, y_fit) if model_dir is not None and _can_continue(algorithm) else None
    model, warm_started = _fit(model, _checkpoint(model_dir, algorithm, budget), X_fit, y_fit, rows)
    if TASK == "classification":
        n_classes = int(dataset.get("n_classes") or max(y_train.max(), y_val.max()) + 1)  # labels are 0..K-1
        scores = classification_metrics(y_val, _full_proba(model, X_val, n_classes), n_classes)
    else:
        scores = regression_metrics(y_val, model.predict(X_val))
    scores["warm_started"] = float(warm_started)
    scores["budget_used"] = float(length) if length is not None else len(y_fit) / len(y_train)
    if model_dir is not None:
        os.makedirs(model_dir, exist_ok=True)
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    return scores
