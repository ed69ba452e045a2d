"""What loading a model export trusts: skops' own defaults plus the types the offline writer's models hold.

An export's models were built by generated code. A pickle names code to run when it loads, so the
members' joblib files are unpickled only in the sandbox, which rewrites them with skops
(:func:`automl.sandbox.run_export`). A skops file lists every type it holds as data: before anything
loads, :func:`load_checked` compares that list with skops' defaults (scikit-learn's estimators,
builtins, numpy arrays) and :data:`TRUSTED_TYPES`, and refuses the file naming any other type.
Only then does skops build the objects, and it builds only those types.

The list was found by exporting models of every offline algorithm family (hgb, lgbm, rf, et, linear,
knn, svm, mlp), classification and regression, with numeric, categorical and many-level columns and
both scalers (docs/export.md). A writer's model that needs another type is refused with its name;
adding a name here is a decision to trust that class's loading code, never "trust everything".
"""

from __future__ import annotations

import zipfile
from typing import Any

import skops.io

from automl.errors import ExportError

TRUSTED_TYPES: tuple[str, ...] = (
    # Fitted estimators keep array dtypes (rf, et, linear, knn, svm, mlp).
    "numpy.dtype",
    # LightGBM (lgbm): the estimators, the Booster holding the trees (loaded from its own text format), and
    # the ordered dict of its parameters.
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.basic.Booster",
    "collections.OrderedDict",
    # Trees of scikit-learn's forests (rf, et) and of HistGradientBoosting (hgb).
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # HistGradientBoosting's preprocessor of categorical columns: partial(check_array, ...). The partial's
    # function is a type of the file too, so only a partial of a trusted function loads.
    "functools.partial",
    "sklearn.utils.validation.check_array",
    # k-nearest neighbours (knn): the search tree and its distance (p=2 Euclidean, p=1 Manhattan).
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    # The SVM classifier's Platt scaling (CalibratedClassifierCV's fitted calibrator).
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    # Splitters kept as parameters: TargetEncoder's cross-fitting folds, CalibratedClassifierCV's folds.
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    # The MLP's optimizer state (mlp).
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
)


def _untrusted_types(data: bytes, source: str) -> list[str]:
    """The types ``data`` (a skops file) holds that neither skops nor automl trusts, read without loading any;
    a file that is not skops' raises :class:`ExportError` naming ``source``."""
    try:
        found = skops.io.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ExportError(f"{source} is not a model exported by 'automl export' ({error})") from None
    return sorted(set(found) - set(TRUSTED_TYPES))


def load_checked(data: bytes, source: str) -> Any:
    """The objects a skops file holds, once every type in it is trusted; otherwise :class:`ExportError` on one
    line naming the types, and nothing of the file is loaded."""
    refused = _untrusted_types(data, source)
    if refused:
        raise ExportError(f"{source} holds types automl does not trust to load: {', '.join(refused)} "
                          "(the trusted ones are listed in docs/export.md)")  # fmt: skip
    return skops.io.loads(data, trusted=list(TRUSTED_TYPES))
