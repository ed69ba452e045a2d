"""automl: a writer (a language model, or the built-in offline writer) writes train(); SMAC3 tunes it.

``AutoML`` and ``load`` (a model written by ``automl export``) are imported on first use, so light entry
points (the CLI's help, the sandbox's fork server) do not pay for scikit-learn and SMAC at import time.
"""

from typing import Any

from automl.errors import AutomlError, ConfigError, DataError, ExportError, RunError, VerifyError, WriterError

__version__ = "0.1.0"
__all__ = [
    "AutoML",
    "AutomlError",
    "ConfigError",
    "DataError",
    "ExportError",
    "RunError",
    "VerifyError",
    "WriterError",
    "load",
]


def __getattr__(name: str) -> Any:
    if name == "AutoML":
        from automl.api import AutoML

        return AutoML
    if name == "load":
        from automl.export import load_model

        return load_model
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
