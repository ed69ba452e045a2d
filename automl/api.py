"""The Python API: :class:`AutoML`, a scikit-learn estimator around one run.

It follows the estimator contract: ``__init__`` only stores its arguments, ``fit`` validates and
runs the pipeline and sets attributes ending in ``_``, the predict methods check it is fitted. Like
the CLI, ``fit`` holds out a test split first and scores the final model on it (``test_metrics_``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import check_is_fitted

from automl.config import RunConfig, requested_scenario
from automl.data import label_key
from automl.errors import DataError
from automl.predictor import FittedModel

# Name of the target column inside the table built from X and y.
TARGET_COLUMN = "__target__"


def _as_frame(X: Any, columns: list[str] | None = None) -> pd.DataFrame:
    """X as a DataFrame; arrays get the column names seen in fit (or x0, x1, ...)."""
    if isinstance(X, pd.DataFrame):
        return X.reset_index(drop=True)
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataError(f"X must be 2-dimensional (rows x features), got shape {array.shape}")
    names = (
        columns if columns is not None and len(columns) == array.shape[1] else [f"x{i}" for i in range(array.shape[1])]
    )
    return pd.DataFrame(array, columns=names)


class AutoML(BaseEstimator):
    """Tune, refit and score a model on (X, y): a writer (a language model or the offline one) and SMAC.

    Parameters
    ----------
    trials, walltime : limits of the run (None: the scenario's); walltime is seconds for the whole run. With a
        walltime and no trials the search runs until the time is spent (the preset's trial count does not cap it).
    scenario : scenario preset name or YAML file with the other limits.
    task : ``auto``, ``classification`` or ``regression``.
    seed : seed for the splits, SMAC and train().
    out : run directory (None: ``runs/<name>-<time>``).
    space : ConfigSpace JSON file to search instead of the writer's.
    llm : litellm model string (``openai/gpt-4o-mini``, ...) or ``offline``; keys come from the provider's
        usual environment variables.
    api_base : URL of an OpenAI-compatible server for ``llm``.
    attempts : drafts the model may write per artifact.
    fallback : ``offline`` to continue with the built-in writer when the model fails.
    facade, budget_kind : the SMAC facade and the meaning of its budget (``auto``: by rule or by the model).
    cv : cross-validation folds as SMAC instances (None: one validation split).
    workers, dask_scheduler : trials side by side on local dask workers, or on a running dask cluster.
    metric : what better means (``roc_auc``, ``f1``, ``mae``, ...; see ``automl run --help``); None: log
        loss or RMSE. SMAC minimizes it, the ensemble selection optimizes it, ``test_metrics_`` lead with it.
    bag : average each member's refit with models fitted on folds of the non-test rows, time allowing
        (False: the refits alone, fewer models to predict with).
    column_types : ``{column: kind}`` where the column typing should not guess (as ``--types``, ``--drop``
        and ``--id``): ``numeric``, ``categorical``, ``date``, ``text``, ``id`` or ``drop`` (both left out).
    """

    def __init__(
        self,
        trials: int | None = None,
        walltime: float | None = None,
        scenario: str = "default",
        task: str = "auto",
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
    ) -> None:
        self.trials = trials
        self.walltime = walltime
        self.scenario = scenario
        self.task = task
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

    def fit(self, X: Any, y: Any) -> AutoML:
        """Run the whole pipeline on X and y; the results are the attributes ending in ``_``."""
        from automl.runner import run

        table = _as_frame(X)
        target = np.asarray(y).reshape(-1) if not isinstance(y, pd.Series) else y.to_numpy()
        if len(target) != len(table):
            raise DataError(f"X has {len(table)} rows but y has {len(target)}: they must match")
        if TARGET_COLUMN in table.columns:
            raise DataError(f"X has a column named {TARGET_COLUMN!r}, which automl reserves: rename it")
        table[TARGET_COLUMN] = target
        settings = requested_scenario(self.scenario, self.trials, self.walltime)
        config = RunConfig(
            data="dataframe",
            target=TARGET_COLUMN,
            task=self.task,
            seed=self.seed,
            out=Path(self.out) if self.out else None,
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
        )
        result = run(config, table=table)
        self.model_ = FittedModel.load(result.paths.root)
        self.run_dir_ = result.paths.root
        summary = result.summary
        self.result_ = summary.to_dict()
        self.task_ = summary.dataset.task
        self.incumbent_ = summary.incumbent
        self.validation_loss_ = summary.validation_loss
        self.test_metrics_ = summary.test_metrics
        self.feature_names_in_ = np.asarray(table.columns[:-1], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        if self.model_.classes is not None:
            self.classes_ = self.model_.classes
        return self

    def _features(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        return _as_frame(X, list(self.feature_names_in_))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (classification, in the labels of y) or values (regression)."""
        return self.model_.predict(self._features(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self.model_.predict_proba(self._features(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classification, R² for regression (scikit-learn's conventions)."""
        predicted = self.predict(X)
        if self.task_ == "classification":
            truth = np.asarray(y, dtype=object)
            labels = np.asarray([label_key(v) for v in truth])
            guessed = np.asarray([label_key(v) for v in predicted])
            return float(accuracy_score(labels, guessed, sample_weight=sample_weight))
        return float(r2_score(np.asarray(y, dtype=np.float64), predicted, sample_weight=sample_weight))
