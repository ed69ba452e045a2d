"""The warm fork server: imports the heavy libraries once, then forks one child per job.

It runs as its own interpreter (``python -m automl.sandbox.forkserver FD``), started by
:mod:`automl.sandbox.run`, so no user script is re-imported the way multiprocessing's fork
server re-imports ``__main__``. It imports but never computes: a process forked after OpenMP or
BLAS work can hang. Protocol over a SOCK_SEQPACKET socket: the parent sends a job as JSON with the
write ends of a reply pipe and an output pipe attached; the server forks (or wakes its spare child),
answers with the child's pid (4 bytes) and closes its copies of the pipes; the child runs
:func:`automl.sandbox.child.main`, printing into the output pipe and writing its reply.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable

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
    "lightgbm",  # the offline train.py imports it on every trial, whichever family the trial fits
    "pyarrow.pandas_compat",  # pandas' own imports on first use, repaid by every child otherwise
    "pyarrow.vendored.version",
    "narwhals._pandas_like.dataframe",  # scikit-learn's DataFrame handling, imported on first fit
    "narwhals._pandas_like.namespace",
    "multiprocessing.dummy",  # joblib's thread backend (n_jobs in forests and k-NN)
    "ConfigSpace",
    "threadpoolctl",
    "automl.sandbox.child",
)
# Imported in the server once a train job's code imports the key library at its top, if installed: PyTorch
# takes seconds to import, which every tensor trial would pay again, and table runs should not pay at all.
# torch._dynamo is what torch.optim imports on a trial's first optimizer (over a second, sympy included).
ON_DEMAND = {"torch": ("torch", "torch._dynamo")}
MAX_JOB_BYTES = 1 << 20
# How many runs' (or cross-validation folds') inputs stay loaded at once.
CACHED_INPUTS = 10


def serve(channel: socket.socket) -> None:
    """Start a child per received job until the parent closes the channel.

    After each train job a spare child is forked ahead of time with that run's inputs, so the next
    trial of the run starts without waiting for fork().
    """
    for name in PRELOAD:
        importlib.import_module(name)
    from automl.sandbox import child

    child._threadpools()  # introspect the loaded libraries once, here, instead of in every child
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    cache: dict[tuple, dict] = {}
    spare: _Spare | None = None
    while True:
        message, fds, _, _ = socket.recv_fds(channel, MAX_JOB_BYTES, 2)
        if not message:
            return
        job = json.loads(message)
        key, preloaded = _inputs(job, cache)
        if key is not None and spare is not None and spare.key == key:
            pid = spare.start(message, fds)
            spare = None
        else:
            pid = _fork(channel, lambda job=job, fds=fds, inputs=preloaded: child.main(job, fds, inputs))
        for fd in fds:
            os.close(fd)
        try:
            channel.sendall(struct.pack(child.PID_FORMAT, pid))
        except (BrokenPipeError, ConnectionResetError):  # the parent went away (a Ctrl-C) while this job started:
            os.kill(pid, signal.SIGKILL)  # it never learnt the child's pid to stop it, so the server does
            return
        if key is not None:
            if spare is not None:
                spare.discard()
            spare = _Spare(channel, key, preloaded)


def _fork(channel: socket.socket, run: Callable[[], None]) -> int:
    """Fork a child that calls ``run`` (which never returns) with the server's own state dropped."""
    gc.freeze()  # children then leave the shared objects' pages alone instead of copying them
    pid = os.fork()
    if pid == 0:
        channel.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        run()
    return pid


class _Spare:
    """A child forked ahead of its job, waiting on a socket for it (or for the socket to close)."""

    def __init__(self, channel: socket.socket, key: tuple, preloaded: dict | None) -> None:
        from automl.sandbox import child

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

        def wait_for_job() -> None:
            ours.close()
            message, fds, _, _ = socket.recv_fds(theirs, MAX_JOB_BYTES, 2)
            if not message:
                os._exit(0)
            theirs.close()
            child.main(json.loads(message), fds, preloaded)

        self.key = key
        self.pid = _fork(channel, wait_for_job)
        theirs.close()
        self._link = ours

    def start(self, message: bytes, fds: list[int]) -> int:
        """Hand the job and its reply and output pipes to the waiting child; returns its pid."""
        socket.send_fds(self._link, [message], fds)
        self._link.close()
        return self.pid

    def discard(self) -> None:
        self._link.close()  # the child reads end-of-file and exits


def _inputs(message: dict, cache: dict[tuple, dict]) -> tuple[tuple | None, dict | None]:
    """A train job's dataset, space and compiled code, read once per file version and shared.

    They are files the runner wrote or generated code it has not run (compiling only parses), and
    reading them is parsing, not numeric work, so the server stays safe to fork. Other kinds share
    no inputs. A file that cannot be read, or a message that is no valid job, is left for the child
    to fail on, with its error in the job's log.
    """
    from automl.sandbox.child import load_inputs
    from automl.sandbox.jobs import TrainJob, job_from_message

    try:
        job = job_from_message(message)
        if not isinstance(job, TrainJob):
            return None, None
        paths = (job.data_path, job.space_path, job.train_path)
        key = tuple((path, os.stat(path).st_mtime_ns) for path in paths)
        if key not in cache:
            if len(cache) >= CACHED_INPUTS:  # the oldest goes: dicts keep insertion order
                del cache[next(iter(cache))]
            cache[key] = load_inputs(job)
            _import_on_demand(cache[key]["code"].co_names)
    except Exception:
        return None, None
    return key, cache[key]


def _import_on_demand(names: tuple[str, ...]) -> None:
    """Import the :data:`ON_DEMAND` libraries among a generated module's top-level ``names`` (importing, not
    computing: the server stays safe to fork)."""
    for name, modules in ON_DEMAND.items():
        if name in names and name not in sys.modules and importlib.util.find_spec(name) is not None:
            for module in modules:
                importlib.import_module(module)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
    # The server holds nothing to tear down, and tearing down the libraries it preloaded takes half a second
    # that every run and every prediction would wait at exit (the parent waits for the server to end).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
