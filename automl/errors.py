"""The project's error hierarchy: one place where a problem with the user's input is named.

The CLI catches :class:`AutomlError` once and prints its message on one line with exit code 2; the
Python API lets it propagate. Anything else is our bug and keeps its traceback. Bad data and bad
options are also ``ValueError``s, as scikit-learn's estimators raise for them, so code written for
scikit-learn estimators catches ours.
"""


class AutomlError(Exception):
    """A problem the user can fix: the message names the input and the fix."""


class DataError(AutomlError, ValueError):
    """The dataset cannot be used as given (missing file, missing target, too few rows, ...)."""


class ConfigError(AutomlError, ValueError):
    """An option, a scenario file or a config-space file is invalid."""


class WriterError(AutomlError):
    """A writer could not produce usable artifacts (plan, config space, scenario, train.py)."""


class VerifyError(AutomlError):
    """The generated train() failed its checks; the message carries what failed."""


class RunError(AutomlError):
    """A run directory is missing, incomplete or from an incompatible version."""


class ExportError(RunError):
    """A model cannot be exported or an export cannot be loaded: not an export, another format version, or a
    model holding types outside the trusted set (automl.export.trusted)."""


class WalltimeSpent(RunError):
    """The walltime ran out before the search could start: nothing was tuned, so no model can be saved."""

    def __init__(self, during: str) -> None:
        super().__init__(f"the walltime was spent {during}, before the search could start: raise --walltime")
