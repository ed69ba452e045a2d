"""Code that runs inside a sandbox child process: load generated code, run one job, report JSON.

The fork server (:mod:`automl.verify.forkserver`) forks and calls :func:`main`. Results go back
as length-prefixed JSON bytes on a pipe (never pickles), predictions as ``.npy`` files read without
pickle, so the parent trusts nothing the generated code built.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import resource
import signal
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

# Imported here so the fork server preloads them; generated code imports them again for free.
import joblib
import numpy as np
import pandas as pd

MEGABYTE = 1024 * 1024
# The reply's length prefix: an unsigned 64-bit big-endian integer.
LENGTH_FORMAT = "!Q"
# The fork server answers a job with the child's pid in this format.
PID_FORMAT = "!i"


def main(job: dict[str, Any], reply_fd: int) -> None:
    """Entry point of the child: confine, run ``job``, send one JSON message, exit."""
    os.setsid()  # own process group, so the parent can kill everything this child starts
    reply: dict[str, Any]
    try:
        _confine(job)
        started = time.perf_counter()
        if job["kind"] == "train":
            reply = {"status": "success", "result": _run_train(job)}
        else:
            reply = {"status": "success", "result": _run_predict(job)}
        reply["seconds"] = time.perf_counter() - started
    except MemoryError:
        reply = {"status": "memoryout", "error": "MemoryError: the trial passed its memory limit"}
    except BaseException as error:  # report every failure of generated code to the parent
        reply = {"status": "crashed", "error": format_error(error, job.get("train_path"))}
    reply["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.flush()
    sys.stderr.flush()
    payload = json.dumps(reply, default=str).encode()
    with os.fdopen(reply_fd, "wb") as pipe:
        pipe.write(struct.pack(LENGTH_FORMAT, len(payload)) + payload)
    os._exit(0)  # skip atexit handlers and leaked threads of generated code


def _confine(job: dict[str, Any]) -> None:
    """Apply the per-job limits and send output to the job's log file."""
    limits = job["limits"]
    memory = int(limits["memory_mb"]) * MEGABYTE
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    file_size = int(limits["file_size_mb"]) * MEGABYTE
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    log = os.open(job["log_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ["AUTOML_N_JOBS"] = str(limits["n_jobs"])
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(limits["n_jobs"])
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(limits["n_jobs"]))
    os.chdir(job["work_dir"])


def _load_train(path: str) -> Any:
    """Import the generated file as a fresh module and return its ``train``."""
    spec = importlib.util.spec_from_file_location("automl_generated_train", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pickling a model that refers to its classes needs this
    spec.loader.exec_module(module)
    return module.train


def _run_train(job: dict[str, Any]) -> dict[str, float]:
    """Call train() with a real Configuration and check its reply is a dict of finite-loss numbers."""
    from ConfigSpace import Configuration, ConfigurationSpace

    space = ConfigurationSpace.from_json(job["space_path"])
    config = Configuration(space, values=job["config"])
    dataset = joblib.load(job["data_path"])
    train = _load_train(job["train_path"])
    result = train(config, dataset, job["seed"], job["budget"], job["model_dir"])
    return contract_result(result)


def contract_result(result: Any) -> dict[str, float]:
    """The train() return value as plain floats; a violation of the contract raises with the reason."""
    if not isinstance(result, dict):
        raise TypeError(f"train() must return a dict with a 'loss' key, got {type(result).__name__}")
    if "loss" not in result:
        raise KeyError(f"train() returned no 'loss' key (keys: {sorted(map(str, result))})")
    plain = {}
    for key, value in result.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise TypeError(f"train() returned {key!r} = {value!r}: every value must be a number")
        plain[str(key)] = float(value)
    if not math.isfinite(plain["loss"]):
        raise ValueError(f"train() returned a non-finite loss ({plain['loss']}): the loss must be a finite float")
    return plain


def _run_predict(job: dict[str, Any]) -> dict[str, Any]:
    """Load a saved model, predict the features, save plain float arrays for the parent."""
    model = joblib.load(job["model_path"])
    features = pd.read_pickle(job["features_path"])
    predictions = np.asarray(model.predict(features), dtype=np.float64).reshape(-1)
    if predictions.shape[0] != len(features):
        raise ValueError(f"predict() returned {predictions.shape[0]} values for {len(features)} rows")
    output = Path(job["work_dir"])
    np.save(output / "predictions.npy", predictions, allow_pickle=False)
    has_proba = bool(job["proba"]) and hasattr(model, "predict_proba")
    if has_proba:
        proba = np.asarray(model.predict_proba(features), dtype=np.float64)
        if proba.ndim != 2 or proba.shape[0] != len(features):
            raise ValueError(f"predict_proba() returned shape {proba.shape} for {len(features)} rows")
        np.save(output / "proba.npy", proba, allow_pickle=False)
    return {"proba": has_proba}


def format_error(error: BaseException, generated_path: str | None) -> str:
    """The traceback cut to the frames in generated code plus the failing library call and message.

    That is what a writer needs to repair the code; frames of our own harness are noise to it.
    """
    frames = traceback.extract_tb(error.__traceback__)
    keep = [index for index, frame in enumerate(frames) if generated_path and frame.filename == generated_path]
    if keep:
        chosen = [frames[i] for i in keep]
        if keep[-1] != len(frames) - 1:
            chosen.append(frames[-1])  # where inside the library it failed
    else:
        chosen = frames[-1:]
    lines = ["Traceback (most recent call last, generated code only):"]
    for frame in chosen:
        name = "train.py" if frame.filename == generated_path else frame.filename
        lines.append(f'  File "{name}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines.append("".join(traceback.format_exception_only(type(error), error)).rstrip())
    return "\n".join(lines)
