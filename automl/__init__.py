"""automl: a writer (a language model, or the built-in offline writer) writes train(); SMAC3 tunes it.

The estimators (``AutoML``, ``AutoMLClassifier``, ``AutoMLRegressor``) and ``load`` (a model written by
``automl export`` or ``save``) are imported on first use, so light entry points (the CLI's help, the
sandbox's fork server) do not pay for scikit-learn and SMAC at import time.
"""

from typing import Any

from automl.errors import AutomlError, ConfigError, DataError, ExportError, RunError, VerifyError, WriterError

__version__ = "0.1.0"
ESTIMATORS = ("AutoML", "AutoMLClassifier", "AutoMLRegressor")
__all__ = [*ESTIMATORS, "AutomlError", "ConfigError", "DataError", "ExportError", "RunError", "VerifyError",
           "WriterError", "load"]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in ESTIMATORS:
        from automl import api

        return getattr(api, name)
    if name == "load":
        from automl.export import load_model

        return load_model
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
