"""The Python API: scikit-learn estimators around one run.

:class:`AutoMLClassifier` and :class:`AutoMLRegressor` fix the task and carry scikit-learn's estimator
tags, so ``is_classifier``, ``cross_val_score`` and pipelines treat them as what they are;
:class:`AutoML` infers the task from ``y`` and takes on the tags of the task it found once fitted.
They follow the estimator contract: ``__init__`` only stores its arguments, ``fit`` validates the
input as scikit-learn does (its ``validate_data``, with missing values and string columns allowed)
and runs the pipeline, the predict methods check the estimator is fitted and the columns are the
fitted ones. Like the CLI, ``fit`` holds out a test split first and scores the final model on it
(``test_metrics_``).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from automl.config import RunConfig, requested_scenario
from automl.errors import DataError
from automl.predictor import FittedModel

# Name of the target column inside the table built from X and y.
TARGET_COLUMN = "__target__"
# Where runs go without ``out=``: ``$AUTOML_RUNS``, else the per-user cache folder.
RUNS_ENV = "AUTOML_RUNS"


def runs_home() -> Path:
    """The folder API runs go to without ``out=``: ``$AUTOML_RUNS``, or ``automl/runs`` in the user's cache.

    The cache follows the XDG convention (``$XDG_CACHE_HOME``, else ``~/.cache``), so runs stay out of
    the current folder and a cache cleaner may remove them.
    """
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "automl" / "runs"


def _new_run_dir() -> Path:
    """A fresh, empty folder under :func:`runs_home` for one fit (names unique across processes)."""
    home = runs_home()
    home.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=time.strftime("fit-%Y%m%d-%H%M%S-"), dir=home))


class _AutoMLBase(BaseEstimator):
    """Tune, refit and score a model on (X, y): a writer (a language model or the offline one) and SMAC.

    Parameters
    ----------
    trials, walltime : limits of the run (None: the scenario's); walltime is seconds for the whole run. With a
        walltime and no trials the search runs until the time is spent (the preset's trial count does not cap it).
    scenario : scenario preset name or YAML file with the other limits.
    seed : seed for the splits, SMAC and train().
    out : run directory (None: a new folder under :func:`runs_home`).
    space : ConfigSpace JSON file to search instead of the writer's.
    llm : litellm model string (``openai/gpt-4o-mini``, ...) or ``offline``; keys come from the provider's
        usual environment variables.
    api_base : URL of an OpenAI-compatible server for ``llm``.
    attempts : drafts the model may write per artifact.
    fallback : ``offline`` to continue with the built-in writer when the model fails.
    facade, budget_kind : the SMAC facade and the meaning of its budget (``auto``: by rule or by the model).
    cv : cross-validation folds as SMAC instances (None: by data size, as ``automl run``).
    workers, dask_scheduler : trials side by side on local dask workers, or on a running dask cluster.
    metric : what better means (``roc_auc``, ``f1``, ``mae``, ...; see ``automl run --help``); None: log
        loss or RMSE. SMAC minimizes it, the ensemble selection optimizes it, ``test_metrics_`` lead with it.
    bag : average each member's refit with models fitted on folds of the non-test rows, time allowing
        (False: the refits alone, fewer models to predict with).
    rounds : rounds of search; between two, the writer revises the space from what the search learned (as
        ``--rounds``).
    start : with ``llm``, who writes the first round: ``model``, or ``offline`` (the built-in writer's search as
        a baseline the model revises from round 2 on; needs ``rounds`` of 2 or more).
    column_types : ``{column: kind}`` where the column typing should not guess (as ``--types``, ``--drop``
        and ``--id``): ``numeric``, ``categorical``, ``date``, ``text``, ``id`` or ``drop`` (both left out).
    keep_run : keep the whole run directory, with its report.html, under :func:`runs_home` (a run given ``out``
        is always kept). Without it the fit's run folder holds no report.
    """

    _task = "auto"  # what the subclass is for; AutoML infers it

    def __init__(
        self,
        trials: int | None = None,
        walltime: float | None = None,
        scenario: str = "default",
        seed: int = 0,
        out: str | Path | None = None,
        space: str | Path | None = None,
        llm: str = "offline",
        api_base: str | None = None,
        attempts: int = 3,
        fallback: str | None = None,
        facade: str = "auto",
        budget_kind: str = "auto",
        cv: int | None = None,
        workers: int = 1,
        dask_scheduler: str | None = None,
        column_types: dict[str, str] | None = None,
        metric: str | None = None,
        bag: bool = True,
        rounds: int = 1,
        start: str = "model",
        keep_run: bool = False,
    ) -> None:
        self.trials = trials
        self.walltime = walltime
        self.scenario = scenario
        self.seed = seed
        self.out = out
        self.space = space
        self.llm = llm
        self.api_base = api_base
        self.attempts = attempts
        self.fallback = fallback
        self.facade = facade
        self.budget_kind = budget_kind
        self.cv = cv
        self.workers = workers
        self.dask_scheduler = dask_scheduler
        self.column_types = column_types
        self.metric = metric
        self.bag = bag
        self.rounds = rounds
        self.start = start
        self.keep_run = keep_run

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed by the pipeline train() builds
        tags.input_tags.string = True  # string columns are typed as categorical or text
        tags.input_tags.categorical = True
        tags.target_tags.required = True
        return tags

    def fit(self, X: Any, y: Any) -> _AutoMLBase:
        """Run the whole pipeline on X and y; the results are the attributes ending in ``_``."""
        from automl.runner import run

        target = self._target(y)
        data: pd.DataFrame | tuple[np.ndarray, np.ndarray]
        if _is_tensor(X):  # images (N, C, H, W) or (N, H, W): the tensor writer's networks
            data = (np.asarray(X), target)
            self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
            rows = len(data[0])
        else:
            data = self._validated(X, reset=True)
            if TARGET_COLUMN in data.columns:
                raise DataError(f"X has a column named {TARGET_COLUMN!r}, which automl reserves: rename it")
            rows = len(data)
        if len(target) != rows:
            raise DataError(f"X has {rows} rows but y has {len(target)}: they must match")
        if isinstance(data, pd.DataFrame):
            data[TARGET_COLUMN] = target
        settings = requested_scenario(self.scenario, self.trials, self.walltime)
        config = RunConfig(
            data="arrays" if isinstance(data, tuple) else "dataframe",
            target=TARGET_COLUMN,
            task=self._task,
            seed=self.seed,
            out=Path(self.out) if self.out else _new_run_dir(),
            space=Path(self.space) if self.space else None,
            scenario=settings,
            llm=self.llm,
            api_base=self.api_base,
            attempts=self.attempts,
            fallback=self.fallback,
            facade=self.facade,
            budget_kind=self.budget_kind,
            cv=self.cv,
            workers=self.workers,
            dask_scheduler=self.dask_scheduler,
            column_kinds=tuple((self.column_types or {}).items()),
            metric=self.metric,
            bag=self.bag,
            rounds=self.rounds,
            start=self.start,
        )
        result = run(config, table=data, write_report=bool(self.out) or self.keep_run)
        self.model_ = FittedModel.load(result.paths.root)
        self.run_dir_ = result.paths.root
        summary = result.summary
        self.result_ = summary.to_dict()
        self.task_ = summary.dataset.task
        self.incumbent_ = summary.incumbent
        self.validation_loss_ = summary.validation_loss
        self.test_metrics_ = summary.test_metrics
        if self.model_.classes is not None:
            self.classes_ = _in_dtype(self.model_.classes, target.dtype)
        return self

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one file (as ``automl export``) that ``automl.load`` reads on any machine.

        The estimator itself refers to its run directory (a pickle of it predicts only while that folder
        exists); the saved file holds the whole model. See docs/export.md for what loading it trusts.
        """
        from automl.export import export_model

        check_is_fitted(self, "model_")
        return export_model(self.run_dir_, Path(path))

    def _validated(self, X: Any, reset: bool) -> pd.DataFrame:
        """X as a DataFrame, checked as scikit-learn checks it: 2-D, not empty, finite or missing, not complex.

        A DataFrame keeps its columns and dtypes (strings, categories, dates); scikit-learn's checks of its
        names and width run on it as on an array. Anything else goes through ``check_array``, which names
        the problem (a 1-D array, a sparse matrix, complex numbers, infinity) the way scikit-learn does.
        """
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            check_array(X, dtype=None, ensure_all_finite=False)  # shape checks: rows and columns present
            frame = X.reset_index(drop=True)
            if not all(isinstance(name, str) for name in frame.columns):  # scikit-learn ignores such names too
                frame.columns = [f"x{i}" for i in range(frame.shape[1])]
            return frame
        array = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite="allow-nan")
        names = getattr(self, "feature_names_in_", None)
        columns = list(names) if names is not None else [f"x{i}" for i in range(array.shape[1])]
        return pd.DataFrame(array, columns=columns)

    def _target(self, y: Any) -> np.ndarray:
        """y as one column in its own dtype; a classifier's must hold class labels, a regressor's numbers."""
        if y is None:
            raise DataError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        values = y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else np.asarray(y)
        values = column_or_1d(values, warn=True)
        if self._task == "classification":
            check_classification_targets(values)
        elif self._task == "regression":
            values = check_array(values, ensure_2d=False, dtype=np.float64, ensure_all_finite=True)
        return values

    def _features(self, X: Any) -> pd.DataFrame | np.ndarray:
        check_is_fitted(self, "model_")
        return np.asarray(X) if _is_tensor(X) else self._validated(X, reset=False)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (classification, in the dtype of the fitted y) or values (regression)."""
        features = self._features(X)  # first: NotFittedError before any attribute of the fit is read
        predicted = self.model_.predict(features)
        return _in_dtype(predicted, self.classes_.dtype) if self.task_ == "classification" else predicted

    def _can_predict_proba(self) -> bool:
        """A classifier has class probabilities; AutoML has them unless it found a regression."""
        task = self._task if self._task != "auto" else getattr(self, "task_", "classification")
        return task == "classification"

    @available_if(_can_predict_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        features = self._features(X)
        return self.model_.predict_proba(features)


def _is_tensor(X: Any) -> bool:
    """Whether X is tensor data (an array of 3 or 4 dimensions: images), which tables cannot hold.

    The dimensions are read through ``shape`` or ``np.asarray``, never ``np.ndim``: array-likes that refuse
    numpy's function protocol (scikit-learn's own checks pass such objects) still convert.
    """
    if isinstance(X, pd.DataFrame):
        return False
    shape = getattr(X, "shape", None)
    return len(shape if shape is not None else np.asarray(X).shape) >= 3


def _in_dtype(labels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Labels (objects, as the model card keeps them) in the dtype of the y they were fitted on."""
    return np.asarray(labels, dtype=object) if dtype.kind == "O" else np.asarray(labels.tolist()).astype(dtype)


class AutoML(_AutoMLBase):
    """An automl estimator that infers the task from ``y``: a classifier or a regressor once fitted.

    Use :class:`AutoMLClassifier` or :class:`AutoMLRegressor` to fix the task (and for code that asks
    ``is_classifier`` before fitting).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        task = getattr(self, "task_", None)
        tags.estimator_type = {"classification": "classifier", "regression": "regressor"}.get(task)
        if task == "classification":
            tags.classifier_tags = ClassifierTags()
        elif task == "regression":
            tags.regressor_tags = RegressorTags()
        return tags

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classification, R² for regression (scikit-learn's conventions)."""
        predicted = self.predict(X)
        if self.task_ == "classification":
            return float(accuracy_score(_in_dtype(np.asarray(y), self.classes_.dtype), predicted,
                                        sample_weight=sample_weight))  # fmt: skip
        return float(r2_score(np.asarray(y, dtype=np.float64), predicted, sample_weight=sample_weight))


class AutoMLClassifier(ClassifierMixin, _AutoMLBase):
    """An automl classifier: the task is classification, ``classes_`` are the labels of ``y``."""

    _task = "classification"


class AutoMLRegressor(RegressorMixin, _AutoMLBase):
    """An automl regressor: the task is regression, ``y`` must be numbers."""

    _task = "regression"
