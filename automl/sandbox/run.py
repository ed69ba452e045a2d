"""Run one job of generated code in a confined child process and describe what happened.

The shape follows AIDE's interpreter: a call in, a :class:`TrialOutcome` out, nothing about SMAC.
Children come from a warm fork server (:mod:`automl.sandbox.forkserver`) that imported the heavy
libraries but never computed, so a trial costs a fork, not an interpreter start. Each child gets its
own process group, memory and file-size limits, and a log file; past its wall-clock limit the whole
group is killed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.sandbox import confine
from automl.sandbox.child import LENGTH_FORMAT, PID_FORMAT, SPACE_FILE

LOG_TAIL_CHARS = 4000


@dataclass(frozen=True)
class Limits:
    """Per-job limits: wall clock, address space, largest file, threads."""

    walltime_s: float = 60.0
    memory_mb: int = 4096
    file_size_mb: int = 1024
    n_jobs: int = 1
    log_limit_kb: int = 256


@dataclass(frozen=True)
class TrialOutcome:
    """What one job did: status (success, crashed, timeout or memoryout), the result, costs, output."""

    status: str
    result: dict[str, Any] = field(default_factory=dict)
    wall_time: float = 0.0
    peak_memory_mb: float = 0.0
    log_tail: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "success"


# Environment variables the fork server keeps; everything else (API keys included) is dropped.
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
BWRAP = "bwrap"
SERVER_START_TIMEOUT = 120.0


def _server_environment() -> dict[str, str]:
    """A scrubbed environment for the fork server, where OpenMP threads sleep instead of spinning.

    Spinning threads (OpenMP's default) slow a trial tenfold whenever another process holds a
    core, which on a 2-core machine is the normal case; the policy must be set before OpenMP loads.
    """
    environment = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}
    package_root = str(Path(__file__).resolve().parents[2])
    # One thread per pool from the start: a child then changes a pool only when its job wants more,
    # instead of restarting every BLAS pool (whose idle threads spin) in every trial.
    environment.update(OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), PYTHONPATH=package_root,
                       PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                       MKL_NUM_THREADS="1")  # fmt: skip
    return environment


def _bubblewrap_works() -> bool:
    """Whether bubblewrap is installed and allowed to make namespaces here (containers may forbid it)."""
    binary = shutil.which(BWRAP)
    if binary is None:
        return False
    probe = [binary, "--unshare-net", "--unshare-ipc", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    return False


def _bubblewrap_prefix(writable: list[Path]) -> list[str]:
    """bwrap arguments: the system read-only, no network, writable only beneath ``writable``."""
    prefix = [BWRAP, "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
              "--new-session", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]  # fmt: skip
    for root in writable:
        prefix += ["--bind", str(root), str(root)]
    return prefix


class ForkServer:
    """A handle on one running fork server; jobs from several threads are sent one at a time.

    The server may write only beneath ``writable`` (plus its own scratch directory); under
    bubblewrap that is enforced for the server itself, and every child narrows it further to its
    own work directory with Landlock.
    """

    def __init__(self, writable: frozenset[Path], use_bubblewrap: bool) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="automl-sandbox-"))
        self.writable = writable
        self.bubblewrap = use_bubblewrap
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", "automl.sandbox.forkserver", str(theirs.fileno())]
        if use_bubblewrap:
            command = _bubblewrap_prefix(sorted({*writable, self.scratch})) + command
        self._process = subprocess.Popen(
            command,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=_server_environment(),
            start_new_session=True,  # a Ctrl-C in the terminal reaches the runner, not the server
        )
        theirs.close()
        ours.settimeout(SERVER_START_TIMEOUT)  # bounds the wait for a server that hangs while importing
        self._channel = ours
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def covers(self, path: Path) -> bool:
        """Whether jobs may write beneath ``path`` with this server."""
        return any(path == root or root in path.parents for root in {*self.writable, self.scratch})

    def fork(self, job: dict[str, Any]) -> tuple[int, int, int]:
        """Start ``job`` in a fresh child; return its pid and the read ends of its reply and output pipes."""
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._channel, [json.dumps(job).encode()], [reply_write, output_write])
                answer = self._channel.recv(struct.calcsize(PID_FORMAT))
        except TimeoutError:
            answer = b""
        finally:
            os.close(reply_write)
            os.close(output_write)
        if len(answer) != struct.calcsize(PID_FORMAT):
            os.close(reply_read)
            os.close(output_read)
            raise RuntimeError("the sandbox fork server stopped; see its output above")
        return struct.unpack(PID_FORMAT, answer)[0], reply_read, output_read

    def close(self) -> None:
        self._channel.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        if self._process.poll() is None:
            self._process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


_server: ForkServer | None = None
_server_pid = -1  # the process that started _server: a forked or dask worker needs its own
_bubblewrap: bool | None = None


def warm_up(writable: Path | None = None) -> ForkServer:
    """The process's fork server, (re)started so jobs may write beneath ``writable``.

    Starting it early lets its imports overlap the caller's own work.
    """
    global _server, _server_pid, _bubblewrap
    if _bubblewrap is None:
        _bubblewrap = _bubblewrap_works()
        confine.protect_from_children()
        atexit.register(_shut_down)
    if writable is not None:
        writable.mkdir(parents=True, exist_ok=True)  # bubblewrap can only bind what exists
    wanted = writable.resolve() if writable is not None else None
    current = _server if _server is not None and _server_pid == os.getpid() and _server.alive else None
    if current is not None and (wanted is None or current.covers(wanted)):
        return current
    roots = frozenset(({wanted} if wanted is not None else set()) | (current.writable if current else set()))
    if current is not None:
        current.close()
    _server, _server_pid = ForkServer(roots, _bubblewrap), os.getpid()
    return _server


def _shut_down() -> None:
    """Stop this process's fork server at exit, so its scratch directory does not outlive the run."""
    if _server is not None and _server_pid == os.getpid():
        _server.close()


def isolation_mode() -> str:
    """How generated code is confined here, in words for run records and the console."""
    server = warm_up()
    outer = "bubblewrap (read-only system, no network)" if server.bubblewrap else "no bubblewrap"
    inner = ", ".join(confine_labels()) or "no Landlock/seccomp: rlimits and process groups only"
    return f"{outer}; per trial: {inner}"


def confine_labels() -> list[str]:
    """What each child applies to itself on this kernel and architecture."""
    labels = []
    if confine.landlock_abi() >= 1:
        labels.append(f"landlock v{confine.landlock_abi()}")
    if confine.seccomp_supported():
        labels += ["seccomp", "no capabilities"]
    return labels


class _BoundedLog:
    """Copies a child's output into its log file, keeping the first ``limit`` bytes.

    The parent does the copying while it waits anyway, so a flood of output costs the trial
    nothing and can neither fill the disk nor block the child on a full pipe.
    """

    def __init__(self, path: Path, limit: int) -> None:
        self._handle = path.open("ab")
        self._left = limit

    def write(self, chunk: bytes) -> None:
        if self._left <= 0:
            return
        kept = chunk[: self._left]
        self._handle.write(kept)
        self._left -= len(kept)
        if self._left <= 0:
            self._handle.write(b"\n[automl: output truncated here]\n")

    def close(self) -> None:
        self._handle.close()


def _watch(reply_fd: int, output_fd: int, log: _BoundedLog, deadline: float) -> dict[str, Any] | str | None:
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


def _drain(output_fd: int, log: _BoundedLog) -> None:
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


def run_job(job: dict[str, Any], limits: Limits, work_dir: Path, log_path: Path) -> TrialOutcome:
    """Run ``job`` (see :mod:`automl.sandbox.child`) in a child confined by ``limits``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    job = {**job, "limits": asdict(limits), "work_dir": str(work_dir), "log_path": str(log_path)}
    server = warm_up(work_dir.parent)  # the parent, so sibling jobs (other trials) reuse the server
    log = _BoundedLog(log_path, limits.log_limit_kb * 1024)
    pid, reply_fd, output_fd = server.fork(job)  # may wait for a new server's imports: not the job's time
    started = time.monotonic()
    try:
        reply = _watch(reply_fd, output_fd, log, started + limits.walltime_s)
    finally:
        _kill_group(pid)
        _drain(output_fd, log)
        for fd in (reply_fd, output_fd):
            os.close(fd)
        log.close()
    wall_time = time.monotonic() - started
    log_tail = _tail(log_path)
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
        reply.get("error", ""),
    )


def _tail(path: Path) -> str:
    """The end of a log file, bounded, for reports and repair messages."""
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - LOG_TAIL_CHARS))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def run_train(
    train_path: Path,
    space_path: Path,
    data_path: Path,
    config: dict[str, Any],
    seed: int,
    budget: float | None,
    model_dir: Path,
    limits: Limits,
) -> TrialOutcome:
    """Call the generated ``train()`` once with a configuration, inside the sandbox."""
    config = {name: value.item() if isinstance(value, np.generic) else value for name, value in config.items()}
    job = {
        "kind": "train",
        "train_path": str(train_path.resolve()),  # absolute: the child works in model_dir
        "space_path": str(space_path.resolve()),
        "data_path": str(data_path.resolve()),
        "config": config,
        "seed": int(seed),
        "budget": budget,
        "model_dir": str(model_dir.resolve()),
    }
    return run_job(job, limits, model_dir, model_dir / "trial.log")


def run_space(code_path: Path, work_dir: Path, limits: Limits) -> tuple[TrialOutcome, Path | None]:
    """Call a generated ``get_configspace()`` inside the sandbox; on success, the JSON file of the space it built.

    The space comes back as ConfigSpace JSON, which the parent parses as data: nothing the code built is unpickled.
    """
    job = {"kind": "space", "code_path": str(code_path.resolve())}
    outcome = run_job(job, limits, work_dir, work_dir / "space.log")
    space_path = work_dir / SPACE_FILE
    return outcome, space_path if outcome.ok and space_path.is_file() else None


@dataclass(frozen=True)
class Predictions:
    """Predictions of a saved model read back without unpickling: values, and class probabilities."""

    values: np.ndarray
    proba: np.ndarray | None


def run_predict(
    model_path: Path, features: pd.DataFrame, limits: Limits, want_proba: bool = True
) -> tuple[TrialOutcome, Predictions | None]:
    """Load a model saved by generated code and predict ``features``, inside the sandbox."""
    with tempfile.TemporaryDirectory(prefix="predict-", dir=warm_up().scratch) as scratch:
        work_dir = Path(scratch)
        features_path = work_dir / "features.pkl"
        features.to_pickle(features_path)
        job = {
            "kind": "predict",
            "model_path": str(model_path.resolve()),
            "features_path": str(features_path),
            "proba": want_proba,
        }
        outcome = run_job(job, limits, work_dir, work_dir / "predict.log")
        if not outcome.ok:
            return outcome, None
        values = np.load(work_dir / "predictions.npy", allow_pickle=False)
        proba_path = work_dir / "proba.npy"
        proba = np.load(proba_path, allow_pickle=False) if proba_path.exists() else None
        return outcome, Predictions(values, proba)
