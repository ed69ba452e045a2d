"""Code that runs inside a sandbox child process: load generated code, run one job, report JSON.

The fork server (:mod:`automl.sandbox.forkserver`) forks and calls :func:`main`. Results go back
as length-prefixed JSON bytes on a pipe (never pickles), predictions as ``.npy`` files read without
pickle, so the parent trusts nothing the generated code built.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import random
import resource
import signal
import struct
import sys
import tempfile
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import CodeType
from typing import Any

# Imported here so the fork server preloads them; generated code imports them again for free.
import joblib
import numpy as np
import pandas as pd

from automl.sandbox import confine
from automl.sandbox.jobs import ExportJob, Job, PredictJob, SpaceJob, TrainJob, job_from_message, job_inputs
from automl.sandbox.readable import child_readable

MEGABYTE = 1024 * 1024
GENERATED_MODULE = "automl_generated_train"
# The only environment generated code sees (besides thread counts and its scratch directory).
SAFE_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_WAIT_POLICY": "PASSIVE"}
# Where a space job leaves the space it built, as ConfigSpace JSON, in its work directory.
SPACE_FILE = "config_space.json"
# Where an export job writes a member's models with skops, in its work directory.
EXPORT_FILE = "models.skops"
# The file train() saves its model to (the contract's; automl.rundir.MODEL_FILE outside the sandbox).
SAVED_MODEL = "model.joblib"
# Where a train job leaves its model's predictions of the validation rows (the prefix of the .npy files).
VALIDATION_PREFIX = "validation_"
# Where POSIX semaphores and shared memory live; the only place outside model_dir a trial may write.
SHARED_MEMORY = "/dev/shm"
# The reply's length prefix: an unsigned 64-bit big-endian integer.
LENGTH_FORMAT = "!Q"
# The fork server answers a job with the child's pid in this format.
PID_FORMAT = "!i"
# How many chained exceptions an error report lists beneath the one that ended the job.
MAX_CHAIN = 5
# How many distinct Python warnings a job reports, and how much of each message.
MAX_WARNINGS = 10
WARNING_CHARS = 400


def main(message: dict[str, Any], fds: list[int], preloaded: dict[str, Any] | None = None) -> None:
    """Entry point of the child: confine, run the job ``message`` describes, send one JSON reply, exit.

    ``fds`` are the reply pipe and the output pipe (stdout and stderr go there; the parent keeps
    a bounded copy in the job's log). ``preloaded`` holds the dataset, space and compiled code the
    fork server already read for this job, so a trial does not pay to load them again. A message
    of an unknown kind is a crash with that reason, never run as some other kind.
    """
    reply_fd, output_fd = fds
    os.setsid()  # own process group, so the parent can kill everything this child starts
    reply: dict[str, Any] = {}
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    job: Job | None = None
    reply["warnings"] = []
    try:
        job = job_from_message(message)
        reply["protections"] = _confine(message, job)
        started = time.perf_counter()
        with recorded_warnings(job.generated_path, reply["warnings"]):
            reply["result"] = RUNNERS[job.kind](job, Path(message["work_dir"]), preloaded or {})
        reply.update(status="success", seconds=time.perf_counter() - started)
    except MemoryError:
        reply.update(status="memoryout", error="MemoryError: the trial passed its memory limit")
    except BaseException as error:  # report every failure of generated code to the parent
        generated = job.generated_path if job is not None else None
        reply.update(status="crashed", error=format_error(error, str(generated) if generated else None))
    reply["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    payload = json.dumps(reply, default=str).encode()
    with os.fdopen(reply_fd, "wb") as pipe:
        pipe.write(struct.pack(LENGTH_FORMAT, len(payload)) + payload)
    os._exit(0)  # skip atexit handlers and leaked threads of generated code


@contextlib.contextmanager
def recorded_warnings(generated: Path | None, found: list[dict[str, Any]]) -> Iterator[None]:
    """Add each distinct Python warning the job raises to ``found``, with the line of ``generated`` it came from.

    A deprecated argument or a model that did not converge is worth fixing, but a warning only printed to a
    trial's log never reaches the writer. Warnings still print; deprecations raised by generated code itself
    print too (Python hides them outside ``__main__``). Costs nothing until a warning is shown.
    """
    show, path = warnings.showwarning, str(generated) if generated else None

    def record(message: Warning | str, category: type[Warning], *where: Any) -> None:
        entry = {"category": category.__name__, "message": " ".join(str(message).split())[:WARNING_CHARS],
                 "line": _generated_line(path)}  # fmt: skip
        if entry not in found and len(found) < MAX_WARNINGS:
            found.append(entry)
        show(message, category, *where)

    with warnings.catch_warnings():
        warnings.filterwarnings("default", category=DeprecationWarning, module=GENERATED_MODULE)
        warnings.showwarning = record
        yield


def _generated_line(generated: str | None) -> int | None:
    """The line of the generated file the running code was called from (innermost), if it was."""
    return next((line for frame, line in traceback.walk_stack(None) if frame.f_code.co_filename == generated), None)


@functools.cache
def _threadpools() -> Any:
    """The loaded thread pools (BLAS, OpenMP), found once in the fork server: finding them costs ~10 ms."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _confine(message: dict[str, Any], job: Job) -> list[str]:
    """Apply the envelope's limits, scrub the environment, then lock the process down before generated code loads.

    Writes go only beneath the work directory (and /dev/shm); reads only to what
    :func:`automl.sandbox.readable.child_readable` lists: the system, Python and ``job``'s own files.
    """
    limits = message["limits"]
    memory = int(limits["memory_mb"]) * MEGABYTE
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    file_size = int(limits["file_size_mb"]) * MEGABYTE
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing us
    work_dir = message["work_dir"]
    scratch = os.path.join(work_dir, ".tmp")
    os.makedirs(scratch, exist_ok=True)
    threads = str(limits["n_jobs"])
    os.environ.clear()  # no secret of the parent's reaches generated code
    os.environ.update(SAFE_ENVIRONMENT)
    os.environ.update(AUTOML_N_JOBS=threads, AUTOML_DEVICE=str(limits.get("device", "cpu")), OMP_NUM_THREADS=threads,
                      OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads, TMPDIR=scratch, HOME=scratch)  # fmt: skip
    tempfile.tempdir = scratch
    pools = _threadpools()
    if any(info["num_threads"] != int(threads) for info in pools.info()):
        pools.limit(limits=int(threads))  # restarting a pool is costly: only when the job wants another size
    os.chdir(work_dir)
    # Fresh global random state, as a new process would have: a forked child otherwise repeats the
    # server's, which would make unseeded code look deterministic.
    fresh = int.from_bytes(os.urandom(8), "little")
    random.seed(fresh)
    np.random.seed(fresh % 2**32)
    # /dev/shm holds POSIX semaphores, which thread pools need (joblib's threading backend, scikit-learn's
    # n_jobs); under bubblewrap it is the sandbox's own tmpfs, not the machine's.
    writable = [work_dir, *([SHARED_MEMORY] if os.path.isdir(SHARED_MEMORY) else [])]
    readable = child_readable(job_inputs(job))
    protections = [confine.apply_landlock(writable, readable), confine.drop_capabilities(), confine.apply_seccomp()]
    return [label for label in protections if label]


def compile_train(path: str) -> CodeType:
    """The generated file's code object: compiling only parses, so the fork server may do it once."""
    return compile(Path(path).read_bytes(), path, "exec", dont_inherit=True)


def _load_entry(path: str, code: CodeType | None, entry: str = "train") -> Any:
    """Run the generated module's code as a fresh module (here, confined) and return its function ``entry``."""
    module = types.ModuleType(GENERATED_MODULE)
    module.__file__ = path
    sys.modules[GENERATED_MODULE] = module  # pickling a model that refers to its classes needs this
    exec(code or compile_train(path), module.__dict__)
    return getattr(module, entry)


def load_inputs(job: TrainJob) -> dict[str, Any]:
    """The dataset and config space a train job reads: parent-written files, safe to load early."""
    from ConfigSpace import ConfigurationSpace

    return {"space": ConfigurationSpace.from_json(job.space_path), "dataset": joblib.load(job.data_path),
            "code": compile_train(str(job.train_path))}  # fmt: skip


def _run_train(job: TrainJob, work_dir: Path, preloaded: dict[str, Any]) -> dict[str, float]:
    """Call train() with a real Configuration and check its reply is a dict of finite-loss numbers."""
    from ConfigSpace import Configuration

    inputs = preloaded or load_inputs(job)
    config = Configuration(inputs["space"], values=job.config)
    dataset = dict(inputs["dataset"])  # a fresh dict: generated code may add or remove keys
    # The validation rows as the runner wrote them: train() may change the frames it was given.
    validation_rows = dataset["X_test"].copy() if job.validation and "X_test" in dataset else None
    n_classes = dataset.get("n_classes")
    train = _load_entry(str(job.train_path), inputs.get("code"))
    result = contract_result(train(config, dataset, job.seed, job.budget, str(job.model_dir)))
    model_path = job.model_dir / SAVED_MODEL
    if validation_rows is not None and model_path.is_file():
        save_predictions(joblib.load(model_path), validation_rows, job.validation == "proba", work_dir,
                         VALIDATION_PREFIX, n_classes)  # fmt: skip
    return result


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


def _run_space(job: SpaceJob, work_dir: Path, preloaded: dict[str, Any]) -> dict[str, int]:
    """Call generated get_configspace() and save what it built as ConfigSpace JSON for the parent."""
    from ConfigSpace import ConfigurationSpace

    space = _load_entry(str(job.code_path), None, "get_configspace")()
    if not isinstance(space, ConfigurationSpace):
        raise TypeError(f"get_configspace() must return a ConfigSpace.ConfigurationSpace, got {type(space).__name__}")
    space.to_json(work_dir / SPACE_FILE)
    return {"hyperparameters": len(space)}


def _run_predict(job: PredictJob, work_dir: Path, preloaded: dict[str, Any]) -> dict[str, Any]:
    """Load the saved model(s), predict the features, save plain float arrays for the parent."""
    features = (np.load(job.features_path, allow_pickle=False) if job.features_path.suffix == ".npy"
                else pd.read_pickle(job.features_path))  # fmt: skip
    models = (joblib.load(path) for path in (job.model_path, *map(Path, job.more_models)))
    return {"proba": save_arrays(work_dir, *bag_predictions(models, features, job.proba, job.n_classes))}


def _run_export(job: ExportJob, work_dir: Path, preloaded: dict[str, Any]) -> dict[str, int]:
    """Load a member's saved models and write them as a list with skops, whose file names every type it holds.

    Unpickling runs whatever code the pickle names, so generated code's joblib files are only loaded here; the
    parent reads the skops file's types as data and loads only what it trusts.
    """
    import skops.io  # only exports need it: the fork server does not preload it

    models = [joblib.load(path) for path in (job.model_path, *map(Path, job.more_models))]
    skops.io.dump(models, work_dir / EXPORT_FILE)
    return {"models": len(models)}


def bag_predictions(
    models: Iterable[Any], features: pd.DataFrame, proba: bool, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """What a member predicts: its model's predictions, or with a bag's fold models the mean of their values,
    or of their class probabilities with the codes of the mean's most probable class.

    The child runs it on models it unpickled; a loaded export (:mod:`automl.export`) runs it in-process on
    models whose types were checked, so both predict alike. Each model is predicted as it comes, so a lazy
    ``models`` holds one model at a time.
    """
    outputs = [model_predictions(model, features, proba, n_classes) for model in models]
    if len(outputs) == 1:
        return outputs[0]
    if all(probabilities is not None for _, probabilities in outputs):
        mean = np.mean([probabilities for _, probabilities in outputs], axis=0)
        return mean.argmax(axis=1).astype(np.float64), mean
    return np.mean([values for values, _ in outputs], axis=0), None


def model_predictions(
    model: Any, features: pd.DataFrame, proba: bool, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """What ``model`` predicts for ``features`` as plain floats, with class probabilities when asked for
    and the model has ``predict_proba``; a wrong shape raises ValueError.

    A classifier fitted on rows that miss a class (a fold, a budget's fraction) has fewer probability
    columns than the table's ``n_classes``; when it says which classes its columns are (scikit-learn's
    ``classes_``), they are put in place and the missing classes get probability 0.
    """
    predictions = np.asarray(model.predict(features), dtype=np.float64).reshape(-1)
    if predictions.shape[0] != len(features):
        raise ValueError(f"predict() returned {predictions.shape[0]} values for {len(features)} rows")
    if not (proba and hasattr(model, "predict_proba")):
        return predictions, None
    probabilities = np.asarray(model.predict_proba(features), dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] != len(features):
        raise ValueError(f"predict_proba() returned shape {probabilities.shape} for {len(features)} rows")
    if n_classes is not None and probabilities.shape[1] < n_classes:
        probabilities = _every_class(probabilities, getattr(model, "classes_", None), n_classes)
    return predictions, probabilities


def _every_class(probabilities: np.ndarray, classes: Any, n_classes: int) -> np.ndarray:
    """``probabilities`` widened to ``n_classes`` columns by the model's class codes; unchanged (for the
    caller's shape check to reject) when the codes do not say where each column goes."""
    try:
        codes = np.asarray(classes, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError):
        return probabilities
    if (
        len(codes) != probabilities.shape[1]
        or len(set(codes)) != len(codes)
        or not np.all((codes >= 0) & (codes < n_classes))
    ):
        return probabilities
    widened = np.zeros((len(probabilities), n_classes))
    widened[:, codes] = probabilities
    return widened


def save_arrays(work_dir: Path, values: np.ndarray, probabilities: np.ndarray | None, prefix: str = "") -> bool:
    """Save predictions as ``.npy`` files for the parent (``predictions.npy``, ``proba.npy``); whether
    probabilities were saved."""
    np.save(work_dir / f"{prefix}predictions.npy", values, allow_pickle=False)
    if probabilities is not None:
        np.save(work_dir / f"{prefix}proba.npy", probabilities, allow_pickle=False)
    return probabilities is not None


def save_predictions(
    model: Any, features: pd.DataFrame, proba: bool, work_dir: Path, prefix: str = "", n_classes: int | None = None
) -> bool:
    """Save what ``model`` predicts for ``features`` (see :func:`model_predictions`, :func:`save_arrays`)."""
    return save_arrays(work_dir, *model_predictions(model, features, proba, n_classes), prefix)


# How the child runs each kind of job: (job, work directory, what the fork server preloaded) -> result.
RUNNERS: dict[str, Callable[[Any, Path, dict[str, Any]], dict[str, Any]]] = {
    TrainJob.kind: _run_train,
    SpaceJob.kind: _run_space,
    PredictJob.kind: _run_predict,
    ExportJob.kind: _run_export,
}


def format_error(error: BaseException, generated_path: str | None) -> str:
    """The traceback cut to the frames in generated code plus the failing library call and message,
    then the messages of the exceptions it was chained from.

    That is what a writer needs to repair the code; frames of our own harness are noise to it. A library
    often re-raises a vague error (ConfigSpace's "illegal settings") from the one that names the problem.
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
        name = Path(frame.filename).name if frame.filename == generated_path else frame.filename
        lines.append(f'  File "{name}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line.strip()}")
    lines.append(_exception_line(error))
    return "\n".join(lines + _chain(error, generated_path))


def _exception_line(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).rstrip()


def _chain(error: BaseException, generated_path: str | None) -> list[str]:
    """One line per exception ``error`` was chained from, deepest last, with its line in generated code if any.

    No frames: the message is what says what went wrong, and the line where generated code raised it.
    """
    lines: list[str] = []
    seen = {id(error)}
    how, cause = _chained_from(error)
    while cause is not None and id(cause) not in seen and len(lines) < MAX_CHAIN:
        where = [line for frame, line in traceback.walk_tb(cause.__traceback__)
                 if generated_path and frame.f_code.co_filename == generated_path]  # fmt: skip
        at = f" (line {where[-1]} of {Path(generated_path or '').name})" if where else ""
        lines.append(f"{how}{at}: {_exception_line(cause)}")
        seen.add(id(cause))
        how, cause = _chained_from(cause)
    return lines


def _chained_from(error: BaseException) -> tuple[str, BaseException | None]:
    """The exception ``error`` came from, and how: an explicit cause (``raise ... from``) is the root of the
    problem, an implicit context the error being handled when this one happened (unless suppressed)."""
    if error.__cause__ is not None:
        return "caused by", error.__cause__
    return "raised while handling", None if error.__suppress_context__ else error.__context__
