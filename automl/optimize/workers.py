"""Where trials run: in this process, on N local dask workers, or on an existing dask cluster.

Each dask worker unpickles the trial target, loads train.py from the run directory and starts its
own sandbox fork server, so trials run side by side exactly as they would alone. The cluster is
always closed when the search ends: SMAC's own dask runner can otherwise keep the process alive for a
minute at exit.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl.errors import ConfigError

# Seconds to wait for an existing scheduler to answer before giving up with a clear error.
CONNECT_TIMEOUT_S = 20
logger = logging.getLogger(__name__)


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None, local_directory: Path, trials_dir: Path) -> Iterator[Any]:
    """A dask ``Client`` for SMAC (None for a single local worker), closed on exit.

    ``workers`` > 1 starts a local cluster of that many single-threaded worker processes;
    ``scheduler`` connects to a running one (``tcp://host:8786`` or a scheduler file's path).
    Every worker is warmed up first (imports, its sandbox fork server for ``trials_dir``), so the
    search's time goes to trials rather than to each worker's start.
    """
    if workers <= 1 and not scheduler:
        yield None
        return
    import dask
    from distributed import Client, LocalCluster

    # Worker processes must be allowed children: each starts a sandbox fork server.
    dask.config.set({"distributed.worker.daemon": False, "distributed.logging.distributed": "error"})
    with contextlib.ExitStack() as stack:
        if scheduler:
            client = _connect(Client, scheduler)
        else:
            with _ctrl_c_ignored():  # the worker processes inherit it: Ctrl-C stops the search, not them
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, local_directory=str(local_directory),
                                       silence_logs=logging.ERROR)  # fmt: skip
            stack.callback(cluster.close)
            client = Client(cluster)
        stack.callback(client.close)
        client.run(_warm_worker, str(trials_dir))
        yield client


def _warm_worker(trials_dir: str) -> None:
    """On a worker: import what a trial needs and start the sandbox that will run it."""
    import automl.optimize.target  # noqa: F401  (SMAC's pickled target lives here)
    from automl import sandbox

    sandbox.warm_up(Path(trials_dir))


@contextlib.contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    """Ignore SIGINT while worker processes start, so a Ctrl-C in the terminal reaches only the runner.

    An ignored signal stays ignored in a child, even across exec (and Python keeps it so). The
    runner then stops the search gracefully instead of the workers dying under their running trials.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _connect(client_class: type, scheduler: str) -> Any:
    """A client of the scheduler at ``scheduler``; one clear line if it cannot be reached."""
    is_file = Path(scheduler).is_file()
    try:
        if is_file:
            return client_class(scheduler_file=scheduler, timeout=CONNECT_TIMEOUT_S)
        return client_class(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise ConfigError(
            f"--dask-scheduler '{scheduler}' cannot be reached ({type(error).__name__}): start the scheduler "
            "(dask scheduler) and its workers first, or check the address"
        ) from None
