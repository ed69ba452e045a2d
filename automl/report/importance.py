"""Which hyperparameters mattered: a random forest fitted to the run history, probed by permutation.

The forest learns loss from configuration over the successful trials (as SMAC's own surrogate
does); shuffling one hyperparameter's column and measuring how much worse the forest predicts says
how much the loss depended on it. Permutation importance is used rather than the forest's impurity
importance, which favours continuous hyperparameters simply because they offer more split points.
This describes the configurations SMAC happened to try, not the whole space: a hyperparameter
that was hardly varied cannot look important.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score

# Fewer successful trials than this give a forest that explains noise.
MIN_TRIALS = 8
TOP = 10
N_REPEATS = 10
N_TREES = 200
BUDGET_COLUMN = "(budget)"
# An importance below this share of the largest one counts as none.
NEGLIGIBLE = 0.005


@dataclass(frozen=True)
class Importance:
    """Hyperparameters by importance, most important first, or a note saying why there are none."""

    names: tuple[str, ...] = ()
    values: tuple[float, ...] = ()
    spread: tuple[float, ...] = ()  # standard deviation over the permutation repeats
    n_trials: int = 0
    note: str = ""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _log_scaled(space: ConfigurationSpace | None) -> set[str]:
    """Names of the hyperparameters the space samples on a log scale."""
    if space is None:
        return set()
    return {name for name, hp in space.items() if getattr(hp, "log", False)}


def _encode_column(values: list[Any], log: bool) -> np.ndarray | None:
    """One hyperparameter's column: numbers as they are (log ones as logs), categories as ordinal codes,
    inactive (absent) values as a sentinel below every real value. None when it never varied."""
    active = [value for value in values if value is not None]
    if len({repr(value) for value in active}) + (len(active) < len(values)) < 2:
        return None
    if active and all(_is_number(value) for value in active):
        use_log = log and all(float(value) > 0 for value in active)
        encoded = [
            (math.log(value) if use_log else float(value)) if value is not None else math.nan for value in values
        ]
        finite = [number for number in encoded if math.isfinite(number)]
        sentinel = min(finite) - (max(finite) - min(finite) + 1.0)
        return np.array([number if math.isfinite(number) else sentinel for number in encoded])
    levels = {level: code for code, level in enumerate(sorted({str(value) for value in active}))}
    return np.array([levels[str(value)] if value is not None else -1 for value in values], dtype=float)


def encode_configs(
    configs: Sequence[dict[str, Any]], space: ConfigurationSpace | None, budgets: Sequence[float | None] = ()
) -> tuple[list[str], np.ndarray]:
    """The configurations as a numeric matrix, one column per hyperparameter that varied (plus the budget
    when trials ran at several, so its effect is not credited to the hyperparameters)."""
    logs = _log_scaled(space)
    names = sorted({name for config in configs for name in config})
    columns: list[str] = []
    encoded: list[np.ndarray] = []
    for name in names:
        column = _encode_column([config.get(name) for config in configs], name in logs)
        if column is not None:
            columns.append(name)
            encoded.append(column)
    if len(set(budgets)) > 1:
        full = max(budget for budget in budgets if budget is not None)  # None means the full budget
        columns.append(BUDGET_COLUMN)
        encoded.append(np.array([full if budget is None else budget for budget in budgets], dtype=float))
    matrix = np.column_stack(encoded) if encoded else np.empty((len(configs), 0))
    return columns, matrix


def permutation_drops(
    model: RandomForestRegressor, X: np.ndarray, y: np.ndarray, repeats: int, seed: int
) -> np.ndarray:
    """How much R² drops when each column is shuffled, ``repeats`` times: shape (columns, repeats).

    Every shuffled copy is stacked and predicted in one call: a forest's predict costs mostly
    per-call overhead, so this is many times faster than predicting each copy on its own.
    """
    rng = np.random.default_rng(seed)
    n_rows, n_columns = X.shape
    copies = np.repeat(X[np.newaxis], n_columns * repeats, axis=0)
    for column in range(n_columns):
        for repeat in range(repeats):
            copies[column * repeats + repeat, :, column] = rng.permutation(X[:, column])
    predicted = model.predict(copies.reshape(-1, n_columns)).reshape(n_columns, repeats, n_rows)
    baseline = r2_score(y, model.predict(X))
    return np.array([[baseline - r2_score(y, predicted[c, r]) for r in range(repeats)] for c in range(n_columns)])


def hyperparameter_importance(
    configs: Sequence[dict[str, Any]],
    costs: Sequence[float],
    space: ConfigurationSpace | None = None,
    budgets: Sequence[float | None] = (),
    seed: int = 0,
) -> Importance:
    """The top hyperparameters by permutation importance over the successful trials given."""
    n = len(configs)
    if n < MIN_TRIALS:
        return Importance(
            n_trials=n,
            note=f"only {n} successful trials: at least {MIN_TRIALS} are needed to say which hyperparameters mattered",
        )
    names, matrix = encode_configs(configs, space, budgets)
    y = np.asarray(costs, dtype=float)
    if not names:
        return Importance(n_trials=n, note="no hyperparameter took more than one value in the trials")
    if np.ptp(y) == 0:
        return Importance(n_trials=n, note="every successful trial had the same loss: nothing to explain")
    forest = RandomForestRegressor(n_estimators=N_TREES, min_samples_leaf=2, random_state=seed, n_jobs=1)
    forest.fit(matrix, y)
    drops = permutation_drops(forest, matrix, y, N_REPEATS, seed)
    means, spreads = drops.mean(axis=1), drops.std(axis=1)
    # Hyperparameters whose shuffling changed nothing are left out: a bar of zero says nothing.
    order = [i for i in np.argsort(-means, kind="stable") if means[i] > NEGLIGIBLE * max(means.max(), 0.0)][:TOP]
    if not order:
        return Importance(n_trials=n, note="no hyperparameter explained the differences in loss")
    return Importance(
        names=tuple(names[i] for i in order),
        values=tuple(float(max(means[i], 0.0)) for i in order),
        spread=tuple(float(spreads[i]) for i in order),
        n_trials=n,
        note=f"a random forest fitted to the loss of {n} successful trials; the bar is how much its R² drops "
        f"when one hyperparameter's values are shuffled ({N_REPEATS} repeats)",
    )
