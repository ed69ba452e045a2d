"""Load, split and describe datasets; keep the held-out test set away from everything but evaluation."""

from automl.data.dataset import PreparedData, SplitSizes, prepare_dataset
from automl.data.features import FeatureSchema, apply_schema
from automl.data.load import DEFAULT_DATASET, load_table
from automl.data.target import LabelCoder, label_key

__all__ = [
    "DEFAULT_DATASET",
    "FeatureSchema",
    "LabelCoder",
    "PreparedData",
    "SplitSizes",
    "apply_schema",
    "label_key",
    "load_table",
    "prepare_dataset",
]
