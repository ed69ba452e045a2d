"""automl: a writer (a language model, or the built-in offline writer) writes train(); SMAC3 tunes it.

``AutoML`` is imported on first use, so light entry points (the CLI's help, the sandbox's fork
server) do not pay for scikit-learn and SMAC at import time.
"""

from typing import Any

from automl.errors import AutomlError, ConfigError, DataError, RunError, VerifyError, WriterError

__version__ = "0.1.0"
__all__ = ["AutoML", "AutomlError", "ConfigError", "DataError", "RunError", "VerifyError", "WriterError"]


def __getattr__(name: str) -> Any:
    if name == "AutoML":
        from automl.api import AutoML

        return AutoML
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
