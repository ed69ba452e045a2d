"""A run's final model in one file: written from a run directory, loaded anywhere, every type checked.

See docs/export.md for what loading an export trusts and why generated code's joblib files never load
in the parent.
"""

from automl.export.bundle import export_model, load_model
from automl.export.trusted import TRUSTED_TYPES

__all__ = ["TRUSTED_TYPES", "export_model", "load_model"]
