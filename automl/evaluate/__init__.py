"""Score the final model on the held-out test set, in the parent, from the model's predictions."""

from automl.evaluate.metrics import score_predictions

__all__ = ["score_predictions"]
