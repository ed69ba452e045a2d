"""Run one job of generated code in a confined child process and describe what happened.

The shape follows AIDE's interpreter: a call in, a :class:`TrialOutcome` out, nothing about SMAC.
Children come from a warm fork server (:mod:`automl.sandbox.forkserver`) that imported the heavy
libraries but never computed, so a trial costs a fork, not an interpreter start. Each child gets its
own process group, memory and file-size limits, and a log file; past its wall-clock limit the whole
group is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.sandbox import confine
from automl.sandbox.child import EXPORT_FILE, LENGTH_FORMAT, MAX_WARNINGS, SPACE_FILE, VALIDATION_PREFIX, WARNING_CHARS
from automl.sandbox.jobs import ExportJob, Job, PredictJob, SpaceJob, TrainJob, job_inputs
from automl.sandbox.log import BoundedLog, tail
from automl.sandbox.review import redact_secrets, review_job_output
from automl.sandbox.server import warm_up


@dataclass(frozen=True)
class Limits:
    """Per-job limits: wall clock, address space, largest file, threads."""

    walltime_s: float = 60.0
    memory_mb: int = 4096
    file_size_mb: int = 1024
    n_jobs: int = 1
    log_limit_kb: int = 256
    device: str = "cpu"  # where a tensor job's code may compute: "cpu" or "cuda" (as AUTOML_DEVICE)


@dataclass(frozen=True)
class CodeWarning:
    """A Python warning raised while a job ran generated code (a deprecated argument, a model that did not
    converge), with the line of the generated file it came from when the job could tell."""

    category: str
    message: str
    line: int | None = None


@dataclass(frozen=True)
class TrialOutcome:
    """What one job did: status (success, crashed, timeout or memoryout), the result, costs, output, and the
    distinct warnings it raised."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    peak_memory_mb: float = 0.0
    log_tail: str = ""
    error: str = ""
    warnings: tuple[CodeWarning, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def reason(self) -> str:
        """The status and the error's last line: why a job failed, for a one-line message."""
        return f"{self.status}: {self.error.splitlines()[-1] if self.error else 'no reply'}"


def _watch(reply_fd: int, output_fd: int, log: BoundedLog, deadline: float) -> dict[str, Any] | str | None:
    """Read the reply while copying output; None if the child died without one, ``"timeout"`` past the deadline."""
    buffer = b""
    header = struct.calcsize(LENGTH_FORMAT)
    open_fds = [reply_fd, output_fd]
    while True:
        if len(buffer) >= header:
            size = struct.unpack(LENGTH_FORMAT, buffer[:header])[0]
            if len(buffer) >= header + size:
                return json.loads(buffer[header : header + size].decode())
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        if reply_fd not in open_fds:
            return None
        ready, _, _ = select.select(open_fds, [], [], left)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if fd == output_fd:
                if chunk:
                    log.write(chunk)
                else:
                    open_fds.remove(fd)
            elif chunk:
                buffer += chunk
            else:
                open_fds.remove(fd)


def _drain(output_fd: int, log: BoundedLog) -> None:
    """Copy what the (now killed) child left in its output pipe, without waiting for more."""
    while True:
        ready, _, _ = select.select([output_fd], [], [], 0)
        if not ready:
            return
        chunk = os.read(output_fd, 65536)
        if not chunk:
            return
        log.write(chunk)


def _kill_group(pid: int) -> None:
    """Kill the child and everything it started (they share its process group).

    The child itself is killed by pid too: it may not have made its own group yet.
    """
    for kill in (os.kill, os.killpg):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


# The children of jobs running now, in any thread: an interrupted caller kills them (see stop_running_jobs).
_RUNNING: set[int] = set()
_RUNNING_LOCK = threading.Lock()


def stop_running_jobs() -> None:
    """Kill every job running now, in any thread of this process.

    A Ctrl-C reaches only the main thread; jobs that other threads wait on (the smoke tests run side by
    side) live in their own process groups and would run to their time limit, and the interpreter waits
    for those threads before it exits. Killed, their threads see the child gone and return at once.
    """
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for pid in running:
        _kill_group(pid)


def run_job(job: Job, limits: Limits, work_dir: Path, log_path: Path) -> TrialOutcome:
    """Run ``job`` (see :mod:`automl.sandbox.child`) in a child confined by ``limits``, writing beneath ``work_dir``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    message = {**job.to_message(), "limits": asdict(limits), "work_dir": str(work_dir), "log_path": str(log_path)}
    # The parent, so sibling jobs (other trials) reuse the server.
    server = warm_up(work_dir.parent, _folders(job_inputs(job)))
    log = BoundedLog(log_path, limits.log_limit_kb * 1024)
    pid, reply_fd, output_fd = server.fork(message)  # may wait for a new server's imports: not the job's time
    started = time.monotonic()
    with _RUNNING_LOCK:
        _RUNNING.add(pid)
    try:
        reply = _watch(reply_fd, output_fd, log, started + limits.walltime_s)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(pid)
        _kill_group(pid)
        _drain(output_fd, log)
        for fd in (reply_fd, output_fd):
            os.close(fd)
        log.close()
    wall_time = time.monotonic() - started
    findings = review_job_output(work_dir, log_path, reads_confined=confine.landlock_abi() >= 1)
    log_tail = redact_secrets(tail(log_path))
    if findings:
        return TrialOutcome("crashed", wall_time=wall_time, log_tail=log_tail,
                            error=f"the generated code wrote secret-shaped content: {'; '.join(findings)}. Never "
                                  "read credentials, keys or the environment, nor copy them into output")  # fmt: skip
    if reply == "timeout":
        return TrialOutcome(
            "timeout",
            wall_time=wall_time,
            log_tail=log_tail,
            error=f"stopped after the trial wall-clock limit of {limits.walltime_s:g} s",
        )
    if not isinstance(reply, dict):
        return TrialOutcome(
            "crashed", wall_time=wall_time, log_tail=log_tail, error="the worker process died without a reply"
        )
    return TrialOutcome(
        reply["status"],
        reply.get("result", {}),
        wall_time,
        float(reply.get("peak_memory_mb", 0)),
        log_tail,
        redact_secrets(reply.get("error", "")),
        _code_warnings(reply.get("warnings")),
    )


def _code_warnings(entries: Any) -> tuple[CodeWarning, ...]:
    """The reply's warnings as plain, bounded, redacted data: the child ran generated code, so its reply is
    read like any other input it made."""
    entries = [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
    return tuple(CodeWarning(str(entry.get("category", "Warning"))[:100],
                             redact_secrets(str(entry.get("message", ""))[:WARNING_CHARS]),
                             entry["line"] if type(entry.get("line")) is int else None)
                 for entry in entries[:MAX_WARNINGS])  # fmt: skip


def run_train(
    train_path: Path,
    space_path: Path,
    data_path: Path,
    config: dict[str, Any],
    seed: int,
    budget: float | None,
    model_dir: Path,
    limits: Limits,
    validation: str = "",
) -> TrialOutcome:
    """Call the generated ``train()`` once with a configuration, inside the sandbox.

    ``validation`` (``"values"`` or ``"proba"``) has the saved model predict the validation rows in the
    same job; :func:`read_validation_predictions` reads them back.
    """
    config = {name: value.item() if isinstance(value, np.generic) else value for name, value in config.items()}
    job = TrainJob(
        train_path=train_path.resolve(),  # absolute: the child works in model_dir
        space_path=space_path.resolve(),
        data_path=data_path.resolve(),
        config=config,
        seed=int(seed),
        budget=budget,
        model_dir=model_dir.resolve(),
        validation=validation,
    )
    return run_job(job, limits, model_dir, model_dir / "trial.log")


def run_space(code_path: Path, work_dir: Path, limits: Limits) -> tuple[TrialOutcome, Path | None]:
    """Call a generated ``get_configspace()`` inside the sandbox; on success, the JSON file of the space it built.

    The space comes back as ConfigSpace JSON, which the parent parses as data: nothing the code built is unpickled.
    """
    outcome = run_job(SpaceJob(code_path.resolve()), limits, work_dir, work_dir / "space.log")
    space_path = work_dir / SPACE_FILE
    return outcome, space_path if outcome.ok and space_path.is_file() else None


@dataclass(frozen=True)
class ModelOutput:
    """What a saved model predicted, read back without unpickling: values, and class probabilities."""

    values: np.ndarray
    proba: np.ndarray | None


def run_predict(
    model_path: Path,
    features: pd.DataFrame | np.ndarray,
    limits: Limits,
    want_proba: bool = True,
    more_models: Sequence[Path] = (),
    n_classes: int | None = None,
) -> tuple[TrialOutcome, ModelOutput | None]:
    """Load a model saved by generated code and predict ``features``, inside the sandbox; with ``more_models``
    (a bagged member) the mean of every model's predictions, in the same job. ``n_classes`` (K) widens a
    classifier that never saw some class to K probability columns (see ``child.model_predictions``)."""
    models = [model_path, *map(Path, more_models)]
    # Shown before the scratch folder is made in the server: a restart to show them would delete it.
    with tempfile.TemporaryDirectory(prefix="predict-", dir=warm_up(readable=_folders(models)).scratch) as scratch:
        work_dir = Path(scratch)
        if isinstance(features, np.ndarray):  # tensors go as a plain array, loaded without pickle
            features_path = work_dir / "features.npy"
            np.save(features_path, features, allow_pickle=False)
        else:
            features_path = work_dir / "features.pkl"
            features.to_pickle(features_path)
        job = PredictJob(model_path=model_path.resolve(), features_path=features_path, proba=want_proba,
                         more_models=tuple(str(path.resolve()) for path in more_models),
                         n_classes=n_classes)  # fmt: skip
        outcome = run_job(job, limits, work_dir, work_dir / "predict.log")
        return outcome, read_predictions(work_dir) if outcome.ok else None


def run_export(model_path: Path, limits: Limits, more_models: Sequence[Path] = ()) -> tuple[TrialOutcome, bytes | None]:
    """Load a model saved by generated code (and a bag's ``more_models``) inside the sandbox and have it written
    with skops; on success that file's bytes, as a list of the models, which the caller must check for
    untrusted types before it loads them (``skops.io.get_untrusted_types``)."""
    models = [model_path, *map(Path, more_models)]
    with tempfile.TemporaryDirectory(prefix="export-", dir=warm_up(readable=_folders(models)).scratch) as scratch:
        work_dir = Path(scratch)
        job = ExportJob(model_path=model_path.resolve(), more_models=tuple(str(path.resolve()) for path in more_models))
        outcome = run_job(job, limits, work_dir, work_dir / "export.log")
        exported = work_dir / EXPORT_FILE
        return outcome, exported.read_bytes() if outcome.ok and exported.is_file() else None


def _folders(paths: Sequence[str | Path]) -> list[Path]:
    """The folders holding ``paths`` (a folder itself for a folder): what a job's server must show under bubblewrap,
    so that neighbours (a bag's other models) need no second start."""
    return [Path(path) if Path(path).is_dir() else Path(path).parent for path in paths]


def read_predictions(work_dir: Path, prefix: str = "") -> ModelOutput | None:
    """The arrays a sandbox job saved in ``work_dir`` (plain ``.npy``, never a pickle); None if it saved none."""
    values_path, proba_path = work_dir / f"{prefix}predictions.npy", work_dir / f"{prefix}proba.npy"
    if not values_path.is_file():
        return None
    proba = np.load(proba_path, allow_pickle=False) if proba_path.is_file() else None
    return ModelOutput(np.load(values_path, allow_pickle=False), proba)


def read_validation_predictions(model_dir: Path) -> ModelOutput | None:
    """What a train job's model predicted for the validation rows (``run_train(..., validation=...)``)."""
    return read_predictions(model_dir, VALIDATION_PREFIX)
