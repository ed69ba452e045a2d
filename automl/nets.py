"""The saved-model class of networks: a trained ``torch.nn`` network with what prediction needs.

A train.py saves its model with joblib and the runner unpickles it later without that file, so the model
must consist of library classes only. A network built from ``torch.nn`` layers (an ``nn.Sequential``)
pickles that way; :class:`NetModel` adds ``predict`` and ``predict_proba`` on raw arrays, the input
normalization, and the state a higher-budget trial needs to continue training it (epochs done, the
optimizer's state, and whose trial it was). It imports nothing else of automl: generated code imports it
(``from automl.nets import NetModel``, the static gate's one opening into automl), and so does the child
that unpickles it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

# Rows per forward pass when predicting: bounded memory on any data size.
PREDICT_BATCH = 1024


class NetModel:
    """A trained network and its input normalization; ``predict`` and ``predict_proba`` take raw arrays.

    ``mean`` and ``std`` normalize the inputs (broadcastable to one sample, e.g. per channel ``(C, 1, 1)``);
    for a regression ``target_mean`` and ``target_std`` undo the target's standardization.
    ``epochs_done``, ``optimizer_state`` and ``identity`` (the configuration, seed and fit rows that trained
    it) let a higher-budget trial of the same configuration continue from this checkpoint.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        task: str,
        n_classes: int | None,
        input_shape: tuple[int, ...],
        mean: Any = 0.0,
        std: Any = 1.0,
        target_mean: float = 0.0,
        target_std: float = 1.0,
        epochs_done: int = 0,
        optimizer_state: dict[str, Any] | None = None,
        identity: str = "",
    ) -> None:
        self.net = net.cpu().eval()
        self.task = task
        self.n_classes = None if n_classes is None else int(n_classes)
        self.input_shape = tuple(int(side) for side in input_shape)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)
        self.epochs_done = int(epochs_done)
        self.optimizer_state = optimizer_state
        self.identity = identity

    @property
    def classes_(self) -> np.ndarray:
        """The class codes of the output columns (0..K-1), as scikit-learn classifiers name them."""
        if self.n_classes is None:
            raise AttributeError("a regression network has no classes_")
        return np.arange(self.n_classes)

    def _samples(self, X: Any) -> np.ndarray:
        """``X`` as float32 samples of ``input_shape``, normalized as the fit rows were.

        A flattened ``(N, prod(input_shape))`` array is reshaped; any other size is refused here, since
        reshaping it would silently cut the rows into samples at the wrong places.
        """
        array = np.asarray(X, dtype=np.float32)
        if array.ndim == 0 or math.prod(array.shape[1:]) != math.prod(self.input_shape):
            raise ValueError(
                f"expected samples of shape {self.input_shape} (or {math.prod(self.input_shape)} values each), "
                f"got an array of shape {array.shape}"
            )
        return (array.reshape((len(array), *self.input_shape)) - self.mean) / self.std

    def outputs(self, X: Any) -> np.ndarray:
        """The network's raw outputs (logits, or the standardized target) for ``X``, as float64 ``(N, outputs)``.

        ``X`` is ``(N, *input_shape)`` or flattened ``(N, prod(input_shape))``. Batches bound the memory;
        eval mode makes dropout and BatchNorm deterministic.
        """
        samples = self._samples(X)
        self.net.eval()
        parts = []
        with torch.no_grad():
            for start in range(0, len(samples), PREDICT_BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(samples[start : start + PREDICT_BATCH]))
                parts.append(self.net(batch).double().numpy())
        width = self.n_classes or 1
        return np.concatenate(parts) if parts else np.zeros((0, width))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class 0..K-1 (softmax of the outputs)."""
        if self.task != "classification":
            raise AttributeError("predict_proba is only defined for a classification network")
        logits = self.outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Class codes (classification) or values in the target's units (regression)."""
        if self.task == "classification":
            return self.predict_proba(X).argmax(axis=1).astype(np.int64)
        return self.outputs(X).reshape(-1) * self.target_std + self.target_mean
