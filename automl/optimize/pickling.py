"""Pickle ConfigSpace's numeric hyperparameters by their constructor arguments.

ConfigSpace 1.2 keeps frozen scipy distributions inside log-scaled integer, normal and beta
hyperparameters and compares them by identity, so such a hyperparameter (and with it its space and
every Configuration) is no longer equal to itself after a pickle round trip. Dask pickles each
trial's configuration to a worker and back, and SMAC then fails to find the returned configuration
in its run history: finished trials got lost. Rebuilding each hyperparameter from its arguments on
unpickling gives an equal object. Importing this module registers the reducers; the trial target
imports it, so every dask worker that unpickles a target has them too.
"""

from __future__ import annotations

import copyreg
import inspect
from typing import Any

from ConfigSpace.hyperparameters import (
    BetaFloatHyperparameter,
    BetaIntegerHyperparameter,
    NormalFloatHyperparameter,
    NormalIntegerHyperparameter,
    UniformFloatHyperparameter,
    UniformIntegerHyperparameter,
)

NUMERIC_HYPERPARAMETERS = (
    UniformIntegerHyperparameter,
    UniformFloatHyperparameter,
    NormalIntegerHyperparameter,
    NormalFloatHyperparameter,
    BetaIntegerHyperparameter,
    BetaFloatHyperparameter,
)


def _constructor_arguments(kind: type) -> tuple[str, ...]:
    """The names of ``kind.__init__``'s parameters, each also an attribute of the hyperparameter."""
    return tuple(name for name in inspect.signature(kind.__init__).parameters if name != "self")


_ARGUMENTS = {kind: _constructor_arguments(kind) for kind in NUMERIC_HYPERPARAMETERS}


def _reduce(hyperparameter: Any) -> tuple[type, tuple[Any, ...]]:
    kind = type(hyperparameter)
    return kind, tuple(getattr(hyperparameter, name) for name in _ARGUMENTS[kind])


for _kind in NUMERIC_HYPERPARAMETERS:
    copyreg.pickle(_kind, _reduce)
