"""train.py written by the automl offline writer for tensor data: one PyTorch network per trial.

SMAC3 calls ``train(cfg, dataset, seed, budget, model_dir)`` once per trial. ``dataset["X"]`` is a float32
array: images ``(N, C, H, W)``, flat features ``(N, D)`` or sequences ``(N, T, F)``. ``cfg["algorithm"]``
picks the network, as it picks the model family in the table template (``net`` is read when a space names
it so; without either the network is the mlp): ``cnn`` (convolution blocks, images only) or ``mlp`` (any
input, flattened). The ``<algorithm>:<name>`` entries set its size; ``learning_rate``, ``weight_decay``,
``batch_size`` and, for images, ``augment`` are shared. The lines that differ between runs are ``TASK`` and
``MAX_BUDGET`` below.

Budget = epochs. ``budget=None`` (verification, the final refit) is the full ``MAX_BUDGET`` epochs; a float
is rounded and clipped to [1, MAX_BUDGET]. The learning rate follows one schedule over the MAX_BUDGET epochs
(a short linear warm-up, then a cosine to zero), and every epoch's shuffling, augmentation and dropout are
drawn from ``(seed, epoch)``, so a trial of E epochs is exactly the first E epochs of the full trial.

Checkpoints. The runner may copy the same configuration's model from a lower-budget trial into
``model_dir`` as ``warm_start.joblib``, with ``warm_start.json`` holding ``{"budget": <that budget>}``.
When it is a NetModel of this very trial (configuration, seed, full budget and fit rows: its ``identity``)
with fewer epochs done, training continues from its weights and optimizer state for the remaining epochs,
which gives the same network as training from scratch; otherwise the trial starts over (the log says why).
Every call returns the task's metrics, ``warm_started`` (1.0 or 0.0) and ``budget_used`` (the epochs
trained to). Threads come from ``AUTOML_N_JOBS``; the network trains on a CUDA GPU when PyTorch sees one
and ``AUTOML_DEVICE`` is not ``cpu``, and is always saved on the CPU.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import joblib
import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from automl.nets import NetModel
from automl.trial_metrics import classification_metrics, regression_metrics

TASK = "__TASK__"
MAX_BUDGET = None
DEFAULT_EPOCHS = 27  # the full budget when MAX_BUDGET is left None: the planner's epochs budget
WARMUP_FRACTION = 0.05  # of the full budget: the learning rate rises linearly over it, then decays
EVAL_BATCH = 1024  # rows of the validation pass at a time (bounded memory)
CHECKPOINT_MODEL, CHECKPOINT_INFO = "warm_start.joblib", "warm_start.json"
DEVICES = ("auto", "cpu", "cuda")
NETS = ("cnn", "mlp")
AUGMENTS = ("none", "shift", "shift_flip")


def _note(message: str) -> None:
    """Say in the trial log why a checkpoint was left unused; the trial then trains from scratch."""
    print(f"warm start: {message}; training from scratch", flush=True)


def _check_settings() -> None:
    """A wrongly rendered file fails on its first call, naming the line to fix."""
    if TASK not in ("classification", "regression"):
        raise ValueError(f"TASK must be 'classification' or 'regression', not {TASK!r}")
    if MAX_BUDGET is not None and not (math.isfinite(float(MAX_BUDGET)) and round(float(MAX_BUDGET)) >= 1):
        raise ValueError(f"MAX_BUDGET must be the full number of epochs (at least 1) or None, not {MAX_BUDGET!r}")


def _full_epochs() -> int:
    """The full budget in epochs: what the learning-rate schedule spans and budget=None trains."""
    return round(float(MAX_BUDGET)) if MAX_BUDGET is not None else DEFAULT_EPOCHS


def _epochs(budget: float | None) -> int:
    """The epochs of this trial: the budget rounded, within [1, MAX_BUDGET]; None is the full budget."""
    if budget is None:
        return _full_epochs()
    if math.isnan(float(budget)):
        raise ValueError(f"budget must be a number of epochs or None, got {budget!r}")
    return int(min(max(round(float(budget)), 1), _full_epochs()))


def _device() -> torch.device:
    """The GPU when there is one and AUTOML_DEVICE allows it (auto, cuda), else the CPU."""
    wanted = os.environ.get("AUTOML_DEVICE", "auto")
    if wanted not in DEVICES:
        raise ValueError(f"AUTOML_DEVICE must be one of {DEVICES}, not {wanted!r}")
    return torch.device("cuda" if wanted != "cpu" and torch.cuda.is_available() else "cpu")


def _net_name(cfg: Any) -> str:
    """The network to train: ``algorithm`` as the spaces name it, ``net`` as another space may; else the mlp."""
    for key in ("algorithm", "net"):
        value = cfg.get(key)
        if value is not None:
            return str(value)
    return "mlp"


def _parts(dataset: dict, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit and validation rows: the runner's X_test/y_test when given, else a seeded 80/20 split.

    The split is stratified when every class present has two rows, so each class keeps rows on both sides.
    """
    X = np.asarray(dataset["X"], dtype=np.float32)
    y = np.asarray(dataset["y"])
    if dataset.get("X_test") is not None and dataset.get("y_test") is not None:
        return X, y, np.asarray(dataset["X_test"], dtype=np.float32), np.asarray(dataset["y_test"])
    stratify = y if TASK == "classification" and np.unique(y, return_counts=True)[1].min() >= 2 else None
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=stratify)
    return X_fit, y_fit, X_val, y_val


def _normalization(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the fit rows per channel (images) or feature (flat, sequences), broadcastable to a sample.

    A constant channel or feature keeps std 1, so it becomes zeros instead of dividing by zero.
    """
    axes = {4: (0, 2, 3), 3: (0, 1)}.get(X.ndim, (0,))
    mean, std = X.mean(axis=axes, keepdims=True)[0], X.std(axis=axes, keepdims=True)[0]
    return mean.astype(np.float32), np.where(std > 1e-6, std, 1.0).astype(np.float32)


def _cnn(cfg: Any, shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """Conv-BatchNorm-ReLU blocks with widths doubling, each halving the image while it is 4 pixels or more
    across (8x8 digits keep a 2x2 map after two blocks), then a 2x2 average pool, dropout and a linear head.

    The 2x2 pool keeps where in the image a feature is (a 1x1 global pool would not), and makes the head's
    size independent of the input's side.
    """
    channels, height, width = shape
    layers: list[nn.Module] = []
    current, side = channels, min(height, width)
    for block in range(int(cfg["cnn:depth"])):
        wide = int(cfg["cnn:width"]) * 2**block
        layers += [nn.Conv2d(current, wide, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(wide), nn.ReLU()]
        if side >= 4:
            layers.append(nn.MaxPool2d(kernel_size=2))
            side //= 2
        current = wide
    dropout = nn.Dropout(float(cfg["cnn:dropout"]))
    layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten(), dropout, nn.Linear(current * 4, outputs)]
    return nn.Sequential(*layers)


def _mlp(cfg: Any, shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """Flatten, then ``mlp:depth`` hidden Linear-ReLU-Dropout layers of ``mlp:width`` units and a linear head."""
    width, dropout = int(cfg["mlp:width"]), float(cfg["mlp:dropout"])
    layers: list[nn.Module] = [nn.Flatten()]
    current = math.prod(shape)
    for _ in range(int(cfg["mlp:depth"])):
        layers += [nn.Linear(current, width), nn.ReLU(), nn.Dropout(dropout)]
        current = width
    return nn.Sequential(*layers, nn.Linear(current, outputs))


def _network(algorithm: str, cfg: Any, shape: tuple[int, ...], outputs: int) -> nn.Sequential:
    """The configured network, built only of torch.nn layers so that the saved model unpickles without this file.

    The parameter is named ``algorithm`` like the space's choice, so the verifier sees the tests below guard the
    cnn:* and mlp:* reads of the helpers.
    """
    if algorithm == "cnn":
        if len(shape) != 3:
            raise ValueError(f"the cnn needs images (C, H, W), but the samples have shape {shape}: use the mlp")
        return _cnn(cfg, shape, outputs)
    if algorithm == "mlp":
        return _mlp(cfg, shape, outputs)
    raise ValueError(f"unknown network {algorithm!r}: this train.py trains one of {NETS}")


def _shift(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random offset of up to 1/8 of the side: zero padding, then a random crop."""
    n, _, height, width = batch.shape
    pad = max(1, min(height, width) // 8)
    padded = nn.functional.pad(batch, (pad, pad, pad, pad))
    top, left = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(batch.device)
    rows = top[:, None] + torch.arange(height, device=batch.device)  # (n, H): the padded rows each image keeps
    cols = left[:, None] + torch.arange(width, device=batch.device)
    samples = torch.arange(n, device=batch.device)[:, None, None]
    # Advanced indices around a slice put their dimensions first: (n, H, W, C), back to (n, C, H, W).
    return padded[samples, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2).contiguous()


def _augment(batch: torch.Tensor, how: str, generator: torch.Generator) -> torch.Tensor:
    """Random shifts and, for ``shift_flip``, mirror images; inputs other than images pass unchanged."""
    if how not in AUGMENTS:
        raise ValueError(f"augment must be one of {AUGMENTS}, not {how!r}")
    if how == "none" or batch.ndim != 4:
        return batch
    shifted = _shift(batch, generator)
    if how == "shift_flip":
        flip = (torch.rand(len(batch), generator=generator) < 0.5).to(batch.device)
        shifted = torch.where(flip[:, None, None, None], shifted.flip(3), shifted)
    return shifted


def _learning_rate(base: float, progress: float) -> float:
    """The rate after ``progress`` epochs of the full schedule: the same at the same point in every trial.

    A linear warm-up over the first WARMUP_FRACTION of the full budget keeps AdamW's first, badly scaled
    steps small; then a cosine falls to zero at the full budget.
    """
    full = _full_epochs()
    warm = WARMUP_FRACTION * full
    if progress < warm:
        return base * progress / warm
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (progress - warm) / (full - warm))))


def _identity(cfg: Any, seed: int, X: np.ndarray, y: np.ndarray) -> str:
    """Names the trial a checkpoint belongs to: its configuration, seed, task, full budget and fit rows."""
    values = sorted((str(name), str(value)) for name, value in dict(cfg).items())
    return str(joblib.hash((values, int(seed), TASK, _full_epochs(), X, y)))


def _checkpoint(model_dir: str | None, identity: str, epochs: int) -> NetModel | None:
    """The lower-budget NetModel the runner left in ``model_dir`` for this trial to continue, if there is one."""
    if model_dir is None:
        return None
    model_path, info_path = os.path.join(model_dir, CHECKPOINT_MODEL), os.path.join(model_dir, CHECKPOINT_INFO)
    if not (os.path.isfile(model_path) and os.path.isfile(info_path)):
        return None
    try:
        with open(info_path, encoding="utf-8") as file:
            float(json.load(file)["budget"])
    except (OSError, ValueError, LookupError, TypeError) as error:
        _note(f"{CHECKPOINT_INFO} has no usable budget ({type(error).__name__}: {error})")
        return None
    # A truncated copy, garbage or another version's classes, as the table template names them (the static
    # gate refuses a bare ``except Exception``); torch adds RuntimeError for tensors it cannot restore.
    try:
        checkpoint = joblib.load(model_path)
    except (OSError, EOFError, ValueError, LookupError, TypeError, AttributeError, ImportError, RuntimeError) as error:
        _note(f"{CHECKPOINT_MODEL} cannot be loaded ({type(error).__name__}: {error})")
        return None
    if not isinstance(checkpoint, NetModel):
        _note(f"{CHECKPOINT_MODEL} holds a {type(checkpoint).__name__}, not a NetModel")
        return None
    if checkpoint.identity != identity:
        _note("the checkpoint is not this configuration's network with this seed on these rows")
        return None
    if not 0 < checkpoint.epochs_done < epochs or checkpoint.optimizer_state is None:
        _note(f"the checkpoint holds {checkpoint.epochs_done} of this trial's {epochs} epochs")
        return None
    return checkpoint


def _fit(
    net: nn.Module, optimizer: torch.optim.Optimizer, cfg: Any, data: tuple[torch.Tensor, ...], seed: int, epochs: range
) -> None:
    """Train ``net`` through ``epochs`` (epoch numbers of the full schedule), each drawn from ``(seed, epoch)``.

    Drawing every epoch's shuffling, augmentation and dropout afresh from its number is what makes training
    epochs e..E on a checkpoint of e epochs the same as training 0..E at once.
    """
    inputs, targets = data
    loss_fn: nn.Module = nn.CrossEntropyLoss() if TASK == "classification" else nn.MSELoss()
    batch_size = max(1, min(int(cfg["batch_size"]), len(inputs)))
    steps = math.ceil(len(inputs) / batch_size)
    augment, base = str(cfg.get("augment") or "none"), float(cfg["learning_rate"])
    net.train()
    for epoch in epochs:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        torch.manual_seed(seed * 1_000_003 + epoch)  # dropout's draws: the same epoch, the same masks
        order = torch.randperm(len(inputs), generator=generator).to(inputs.device)
        for step in range(steps):
            rows = order[step * batch_size : (step + 1) * batch_size]
            if len(rows) < 2 <= len(order):  # BatchNorm cannot train on a single sample
                continue
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(base, epoch + (step + 1) / steps)
            outputs = net(_augment(inputs[rows], augment, generator))
            loss = loss_fn(outputs if TASK == "classification" else outputs[:, 0], targets[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


def _predict(net: nn.Module, X: torch.Tensor) -> np.ndarray:
    """The network's outputs on ``X`` in eval mode, in batches, as float64 on the CPU."""
    net.eval()
    with torch.no_grad():
        parts = [net(X[start : start + EVAL_BATCH]).double().cpu() for start in range(0, len(X), EVAL_BATCH)]
    return torch.cat(parts).numpy()


def _to_cpu(value: Any) -> Any:
    """The optimizer's state with every tensor on the CPU, so the checkpoint loads on any machine."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(item) for item in value)
    return value


def train(
    cfg: Any, dataset: dict, seed: int, budget: float | None = None, model_dir: str | None = None
) -> dict[str, float]:
    """Train the configured network for the budget's epochs (continuing this trial's checkpoint if there is one),
    score it on the validation rows and, given ``model_dir``, save it there as a NetModel.

    Returns ``loss`` (log loss for classification, RMSE for regression; lower is better) and the task's
    metrics, always with the same keys for a task (``roc_auc`` only for two classes), plus ``warm_started``
    and ``budget_used`` (see the module docstring).
    """
    _check_settings()
    seed = int(seed)
    torch.set_num_threads(int(os.environ.get("AUTOML_N_JOBS", "1")))
    device = _device()
    X_fit, y_fit, X_val, y_val = _parts(dataset, seed)
    shape = tuple(int(side) for side in X_fit.shape[1:])
    classify = TASK == "classification"
    # n_classes sizes the outputs: the fit rows (a budget's subsample, a split) may miss a class.
    n_classes = int(dataset.get("n_classes") or max(y_fit.max(), y_val.max()) + 1) if classify else None
    mean, std = _normalization(X_fit)
    target = (float(np.mean(y_fit)), float(np.std(y_fit)) or 1.0) if not classify else (0.0, 1.0)
    epochs = _epochs(budget)
    identity = _identity(cfg, seed, X_fit, y_fit)

    torch.manual_seed(seed)
    net = _network(_net_name(cfg), cfg, shape, n_classes or 1).to(device)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=float(cfg["learning_rate"]), weight_decay=float(cfg["weight_decay"])
    )
    checkpoint = _checkpoint(model_dir, identity, epochs)
    if checkpoint is not None:
        net.load_state_dict(checkpoint.net.state_dict())
        optimizer.load_state_dict(checkpoint.optimizer_state)
    inputs = torch.from_numpy((X_fit - mean) / std).to(device)
    if classify:
        targets = torch.from_numpy(y_fit.astype(np.int64)).to(device)
    else:
        targets = torch.from_numpy(((y_fit - target[0]) / target[1]).astype(np.float32)).to(device)
    first = 0 if checkpoint is None else checkpoint.epochs_done
    _fit(net, optimizer, cfg, (inputs, targets), seed, range(first, epochs))

    outputs = _predict(net, torch.from_numpy((X_val - mean) / std).to(device))
    if classify:
        scores = classification_metrics(y_val, torch.softmax(torch.from_numpy(outputs), dim=1).numpy(), n_classes)
    else:
        scores = regression_metrics(y_val, outputs[:, 0] * target[1] + target[0])
    scores["warm_started"] = float(checkpoint is not None)
    scores["budget_used"] = float(epochs)
    if model_dir is not None:
        os.makedirs(model_dir, exist_ok=True)
        model = NetModel(
            net.cpu(),
            task=TASK,
            n_classes=n_classes,
            input_shape=shape,
            mean=mean,
            std=std,
            target_mean=target[0],
            target_std=target[1],
            epochs_done=epochs,
            optimizer_state=_to_cpu(optimizer.state_dict()),
            identity=identity,
        )
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    return scores
