"""train.py written by the automl offline writer for tensor data: a PyTorch network per trial.

SMAC3 calls ``train(cfg, dataset, seed, budget, model_dir)`` once per trial. ``dataset["X"]`` is a float32
array: images ``(N, C, H, W)`` or flat features ``(N, D)``. ``cfg["algorithm"]`` picks the network: ``cnn``
(convolution blocks, images only) or ``mlp`` (any input, flattened); ``<algorithm>:<name>`` entries set its
size, and ``learning_rate``, ``weight_decay``, ``batch_size`` and (images) ``augment`` are shared.
The lines that differ between runs are ``TASK`` and ``MAX_BUDGET`` below.

Budget = epochs. ``budget=None`` (verification, the final refit) is the full ``MAX_BUDGET`` epochs; a float
is rounded and clipped to [1, MAX_BUDGET]. The learning rate follows one cosine schedule over MAX_BUDGET
epochs, and every epoch's shuffling, augmentation and dropout are drawn from ``(seed, epoch)``, so a trial of
E epochs is exactly the first E epochs of the full trial.

Checkpoints. The runner may copy the same configuration's model from a lower-budget trial into
``model_dir`` as ``warm_start.joblib``, with ``warm_start.json`` holding ``{"budget": <that budget>}``.
When it is a NetModel of this very trial (configuration, seed and fit rows: its ``identity``) with fewer
epochs done, training continues from its weights and optimizer state for the remaining epochs, which gives
the same network as training from scratch; otherwise the trial starts over (the log says why). Every call
returns the task's metrics, ``warm_started`` (1.0 or 0.0) and ``budget_used`` (the epochs trained to).
Threads come from ``AUTOML_N_JOBS``; the network trains on the GPU when ``AUTOML_DEVICE`` is ``cuda``
and PyTorch sees one, and is always saved on the CPU.
"""

from __future__ import annotations

import math
import os
from typing import Any

import joblib
import numpy as np
import torch
from sklearn import metrics
from sklearn.model_selection import train_test_split
from torch import nn

from automl.nets import NetModel

TASK = "__TASK__"
MAX_BUDGET = None
DEFAULT_EPOCHS = 27
CHECKPOINT_MODEL, CHECKPOINT_INFO = "warm_start.joblib", "warm_start.json"
# Rows of the validation pass at a time (bounded memory).
EVAL_BATCH = 1024


def _note(message: str) -> None:
    """A line in the trial's log: why a checkpoint was not continued."""
    print(f"[train.py] {message}", flush=True)


def _epochs(budget: float | None) -> int:
    """The epochs of this trial: the budget rounded, within [1, MAX_BUDGET]; None is the full budget."""
    full = round(MAX_BUDGET or DEFAULT_EPOCHS)
    if budget is None or not math.isfinite(float(budget)):
        return full
    return min(max(round(float(budget)), 1), full)


def _device() -> torch.device:
    wanted = os.environ.get("AUTOML_DEVICE", "cpu")
    return torch.device("cuda" if wanted in ("cuda", "auto") and torch.cuda.is_available() else "cpu")


def _parts(dataset: dict, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit and validation rows: the runner's X_test/y_test when given, else a seeded 80/20 split."""
    X = np.asarray(dataset["X"], dtype=np.float32)
    y = np.asarray(dataset["y"])
    if dataset.get("X_test") is not None and dataset.get("y_test") is not None:
        return X, y, np.asarray(dataset["X_test"], dtype=np.float32), np.asarray(dataset["y_test"])
    stratify = y if TASK == "classification" and np.bincount(y.astype(np.int64)).min() >= 2 else None
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=stratify)
    return X_fit, y_fit, X_val, y_val


def _normalization(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (images) or per-feature mean and std of the fit rows, shaped to broadcast over one sample."""
    axes = (0, 2, 3) if X.ndim == 4 else (0,)
    mean, std = X.mean(axis=axes, keepdims=True)[0], X.std(axis=axes, keepdims=True)[0]
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)


def _cnn(cfg: Any, shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """Conv-BatchNorm-ReLU blocks, widths doubling, halving the image while it is 4 pixels or more across."""
    channels, height, width = shape
    layers: list[nn.Module] = []
    current, size = channels, min(height, width)
    for block in range(int(cfg["cnn:depth"])):
        wide = int(cfg["cnn:width"]) * 2**block
        layers += [nn.Conv2d(current, wide, 3, padding=1, bias=False), nn.BatchNorm2d(wide), nn.ReLU()]
        if size >= 4:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        current = wide
    layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(float(cfg["cnn:dropout"])),
               nn.Linear(current * 4, outputs)]  # fmt: skip
    return nn.Sequential(*layers)


def _mlp(cfg: Any, shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """Flatten, then ``mlp:depth`` hidden Linear-ReLU-Dropout layers of ``mlp:width`` units."""
    layers: list[nn.Module] = [nn.Flatten()]
    current = int(np.prod(shape))
    for _ in range(int(cfg["mlp:depth"])):
        layers += [nn.Linear(current, int(cfg["mlp:width"])), nn.ReLU(), nn.Dropout(float(cfg["mlp:dropout"]))]
        current = int(cfg["mlp:width"])
    return nn.Sequential(*layers, nn.Linear(current, outputs))


def _network(algorithm: str, cfg: Any, shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    if algorithm == "cnn":
        if len(shape) != 3:
            raise ValueError(f"the cnn needs images (C, H, W), but the samples have shape {shape}: use the mlp")
        return _cnn(cfg, shape, outputs)
    if algorithm == "mlp":
        return _mlp(cfg, shape, outputs)
    raise ValueError(f"unknown algorithm {algorithm!r}: this train.py trains cnn or mlp")


def _augment(batch: torch.Tensor, how: str, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 1/8 of the side (zero padding, then a crop) and, for ``shift_flip``, mirror images."""
    if how == "none" or batch.ndim != 4:
        return batch
    height, width = batch.shape[2], batch.shape[3]
    pad = max(1, min(height, width) // 8)
    padded = nn.functional.pad(batch, (pad, pad, pad, pad))
    top, left = (int(value) for value in torch.randint(0, 2 * pad + 1, (2,), generator=generator))
    shifted = padded[:, :, top : top + height, left : left + width]
    if how == "shift_flip":
        flip = torch.rand(len(batch), generator=generator) < 0.5
        shifted = torch.where(flip[:, None, None, None], shifted.flip(3), shifted)
    return shifted


def _learning_rate(base: float, epoch: int) -> float:
    """One cosine schedule over the full budget: epoch ``epoch`` gets the same rate in every trial."""
    full = round(MAX_BUDGET or DEFAULT_EPOCHS)
    return base * 0.5 * (1.0 + math.cos(math.pi * epoch / full))


def _identity(cfg: Any, seed: int, X: np.ndarray, y: np.ndarray) -> str:
    """Names the trial a checkpoint belongs to: its configuration, seed, fit rows and full budget."""
    values = sorted((str(name), str(value)) for name, value in dict(cfg).items())
    return str(joblib.hash((values, int(seed), TASK, MAX_BUDGET, X, y)))


def _checkpoint(model_dir: str | None, identity: str, epochs: int) -> NetModel | None:
    """The lower-budget NetModel the runner left in ``model_dir`` for this trial to continue, if there is one."""
    if model_dir is None:
        return None
    model_path, info_path = os.path.join(model_dir, CHECKPOINT_MODEL), os.path.join(model_dir, CHECKPOINT_INFO)
    if not (os.path.isfile(model_path) and os.path.isfile(info_path)):
        return None
    checkpoint = joblib.load(model_path)  # the runner's copy of a model this train.py saved
    if not isinstance(checkpoint, NetModel) or checkpoint.identity != identity:
        _note("the checkpoint is not this configuration's network on these rows: training from scratch")
        return None
    if not 0 < checkpoint.epochs_done < epochs or checkpoint.optimizer_state is None:
        _note(f"the checkpoint holds {checkpoint.epochs_done} of this trial's {epochs} epochs: training from scratch")
        return None
    return checkpoint


def _predict(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    net.eval()
    with torch.no_grad():
        return torch.cat([net(X[start : start + EVAL_BATCH]) for start in range(0, len(X), EVAL_BATCH)])


def _scores(y_val: np.ndarray, outputs: np.ndarray, n_classes: int | None, target: tuple[float, float]) -> dict:
    """The task's metrics on the validation rows, always the same keys; ``loss`` is log loss or RMSE."""
    if TASK == "classification":
        logits = outputs - outputs.max(axis=1, keepdims=True)
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        log_loss = metrics.log_loss(y_val, np.clip(proba, 1e-15, 1.0), labels=list(range(n_classes or 2)))
        predicted = proba.argmax(axis=1)
        return {"loss": float(log_loss), "log_loss": float(log_loss),
                "accuracy": float(metrics.accuracy_score(y_val, predicted)),
                "balanced_accuracy": float(metrics.balanced_accuracy_score(y_val, predicted))}  # fmt: skip
    values = outputs.reshape(-1) * target[1] + target[0]
    rmse = float(np.sqrt(metrics.mean_squared_error(y_val, values)))
    return {"loss": rmse, "rmse": rmse, "mae": float(metrics.mean_absolute_error(y_val, values)),
            "r2": float(metrics.r2_score(y_val, values)) if len(y_val) > 1 else 0.0}  # fmt: skip


def train(
    cfg: Any, dataset: dict, seed: int, budget: float | None = None, model_dir: str | None = None
) -> dict[str, float]:
    """Train the configured network for the budget's epochs (continuing a checkpoint of this trial), score it
    on the validation rows and save it as a NetModel."""
    seed = int(seed)
    torch.set_num_threads(int(os.environ.get("AUTOML_N_JOBS", "1")))
    device = _device()
    algorithm = str(cfg.get("algorithm") or "mlp")
    X_fit, y_fit, X_val, y_val = _parts(dataset, seed)
    shape = tuple(int(side) for side in X_fit.shape[1:])
    classify = TASK == "classification"
    n_classes = int(dataset.get("n_classes") or int(max(y_fit.max(), y_val.max())) + 1) if classify else None
    mean, std = _normalization(X_fit)
    target = (float(np.mean(y_fit)), float(np.std(y_fit)) or 1.0) if TASK == "regression" else (0.0, 1.0)
    epochs = _epochs(budget)
    identity = _identity(cfg, seed, X_fit, y_fit)

    torch.manual_seed(seed)
    net = _network(algorithm, cfg, shape, n_classes or 1).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=float(cfg["learning_rate"]),
                                  weight_decay=float(cfg["weight_decay"]))  # fmt: skip
    checkpoint = _checkpoint(model_dir, identity, epochs)
    start = 0
    if checkpoint is not None:
        net.load_state_dict(checkpoint.net.state_dict())
        optimizer.load_state_dict(checkpoint.optimizer_state)
        start = checkpoint.epochs_done

    inputs = torch.from_numpy((X_fit - mean) / std).to(device)
    labels = (torch.from_numpy(y_fit.astype(np.int64)) if TASK == "classification"
              else torch.from_numpy(((y_fit - target[0]) / target[1]).astype(np.float32))).to(device)  # fmt: skip
    loss_fn = nn.CrossEntropyLoss() if TASK == "classification" else nn.MSELoss()
    batch_size = min(int(cfg["batch_size"]), len(inputs))
    augment = str(cfg.get("augment") or "none")
    for epoch in range(start, epochs):
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        torch.manual_seed(seed * 1_000_003 + epoch)  # dropout's draws: the same epoch, the same masks
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(float(cfg["learning_rate"]), epoch)
        net.train()
        order = torch.randperm(len(inputs), generator=generator).to(device)
        for first in range(0, len(order), batch_size):
            rows = order[first : first + batch_size]
            if len(rows) < 2 and len(order) > 1:  # BatchNorm cannot train on a single sample
                continue
            batch = _augment(inputs[rows], augment, generator)
            outputs = net(batch)
            loss = loss_fn(outputs if classify else outputs[:, 0], labels[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    validation = _predict(net, torch.from_numpy((X_val - mean) / std).to(device)).double().cpu().numpy()
    scores = _scores(y_val, validation, n_classes, target)
    scores["warm_started"] = float(checkpoint is not None)
    scores["budget_used"] = float(epochs)
    if model_dir is not None:
        os.makedirs(model_dir, exist_ok=True)
        state = _to_cpu(optimizer.state_dict())
        model = NetModel(net.cpu(), TASK, n_classes, shape, mean, std, target[0], target[1], epochs, state, identity)
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    return scores


def _to_cpu(value: Any) -> Any:
    """The optimizer's state with every tensor on the CPU, so the checkpoint loads on any machine."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_cpu(item) for item in value]
    return value
