"""The warm fork server: imports the heavy libraries once, then forks one child per job.

It runs as its own interpreter (``python -m automl.verify.forkserver FD``), started by
:mod:`automl.verify.sandbox`, so no user script is re-imported the way multiprocessing's fork
server re-imports ``__main__``. It imports but never computes: a process forked after OpenMP or
BLAS work can hang. Protocol over a SOCK_SEQPACKET socket: the parent sends a job as JSON with the
write end of a reply pipe attached; the server forks, answers with the child's pid (4 bytes) and
closes its copy of the pipe; the child runs :func:`automl.verify.child.main` and writes its reply.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import socket
import struct
import sys

# Imported once here, so every forked child starts with them loaded.
PRELOAD = (
    "numpy",
    "pandas",
    "joblib",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.neighbors",
    "sklearn.svm",
    "sklearn.neural_network",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.calibration",
    "pyarrow.pandas_compat",  # pandas' own imports on first use, repaid by every child otherwise
    "ConfigSpace",
    "threadpoolctl",
    "automl.verify.child",
)
MAX_JOB_BYTES = 1 << 20


def serve(channel: socket.socket) -> None:
    """Fork a child per received job until the parent closes the channel."""
    for name in PRELOAD:
        importlib.import_module(name)
    from automl.verify import child
    from automl.verify.child import PID_FORMAT

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    cache: dict[tuple, dict] = {}
    while True:
        message, fds, _, _ = socket.recv_fds(channel, MAX_JOB_BYTES, 1)
        if not message:
            return
        job = json.loads(message)
        preloaded = _inputs(job, cache) if job["kind"] == "train" else None
        pid = os.fork()
        if pid == 0:
            channel.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            child.main(job, fds[0], preloaded)  # never returns
        os.close(fds[0])
        channel.sendall(struct.pack(PID_FORMAT, pid))


def _inputs(job: dict, cache: dict[tuple, dict]) -> dict | None:
    """A train job's dataset and space, read once per file version and shared with every child.

    They are files the runner wrote (never generated code's output), and reading them is parsing,
    not numeric work, so the server stays safe to fork. A file that cannot be read is left for the
    child to fail on, with its error in the trial's log.
    """
    from automl.verify.child import load_inputs

    try:
        key = tuple((path, os.stat(path).st_mtime_ns) for path in (job["data_path"], job["space_path"]))
        if key not in cache:
            cache.clear()  # one run's inputs at a time
            cache[key] = load_inputs(job)
    except Exception:
        return None
    return cache[key]


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
