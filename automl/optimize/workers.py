"""Where trials run: in this process, on N local dask workers, or on an existing dask cluster.

Each dask worker unpickles the trial target, loads train.py from the run directory and starts its
own sandbox fork server, so trials run side by side exactly as they would alone. The cluster is
always closed when the search ends: SMAC's own dask runner can otherwise keep the process alive for a
minute at exit.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import signal
import sys
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
            check_main_guard()
            with _ctrl_c_ignored():  # the worker processes inherit it: Ctrl-C stops the search, not them
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, local_directory=str(local_directory),
                                       silence_logs=logging.ERROR)  # fmt: skip
            stack.callback(cluster.close)
            client = Client(cluster)
        stack.callback(client.close)
        client.run(_warm_worker, str(trials_dir))
        yield client


def check_main_guard() -> None:
    """Refuse to start local worker processes from the unguarded top level of a script.

    dask starts its workers with multiprocessing's ``spawn``, which imports the user's script again in
    every worker: an unguarded ``fit(...)`` at its top level would run the whole search once more per
    worker and then fail with "Nanny failed to start". The call's line in the script is looked up in the
    script's syntax tree; interactive sessions and notebooks have no script and are not checked.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path is None or not Path(path).is_file():
        return
    line = _top_level_line(path)
    if line is None:
        return
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return
    if not any(is_main_guard(node) and node.lineno <= line <= (node.end_lineno or node.lineno)
               for node in ast.walk(tree)):  # fmt: skip
        raise ConfigError(f"workers > 1 started from the top level of '{Path(path).name}' (line {line}) without "
                          "the guard dask's worker processes need: put that code under "
                          "`if __name__ == \"__main__\":`")  # fmt: skip


def _top_level_line(path: str) -> int | None:
    """The line of the script's module-level code that led to this call, if the script is on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and Path(code.co_filename).resolve() == Path(path).resolve():
            return frame.f_lineno
        frame = frame.f_back
    return None


def is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (either operand order)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.comparators) != 1:
        return False
    operands = [node.test.left, node.test.comparators[0]]
    names = [op.id for op in operands if isinstance(op, ast.Name)]
    strings = [op.value for op in operands if isinstance(op, ast.Constant)]
    return isinstance(node.test.ops[0], ast.Eq) and names == ["__name__"] and strings == ["__main__"]


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
