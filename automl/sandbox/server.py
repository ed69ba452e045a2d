"""The fork server a process runs its sandbox jobs in: starting it, talking to it, owning it.

:class:`ForkServer` is a handle on one server interpreter (:mod:`automl.sandbox.forkserver`);
:class:`SandboxHost` is the one per process that keeps it, so that a forked process or a dask
worker, which inherits the object, notices it is not the owner and starts its own.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from automl.sandbox import confine
from automl.sandbox.child import PID_FORMAT
from automl.sandbox.readable import server_view

# Environment variables the fork server keeps; everything else (API keys included) is dropped.
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
BWRAP = "bwrap"
# What the server and its children see under bubblewrap, in words for the console and run records.
BUBBLEWRAP_VIEW = "only the system and Python, read-only; no network"
SERVER_START_TIMEOUT = 120.0
# Seconds a closed server gets to exit by itself: an idle one takes milliseconds, one still importing its
# libraries (a restart just before a Ctrl-C) would take seconds and has nothing left to do, so it is killed.
SERVER_EXIT_WAIT = 0.5


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


def bubblewrap_works() -> bool:
    """Whether bubblewrap is installed and allowed to make namespaces here (containers may forbid it)."""
    binary = shutil.which(BWRAP)
    if binary is None:
        return False
    probe = [binary, "--unshare-net", "--unshare-ipc", "--die-with-parent", "--ro-bind", "/", "/", "true"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    return False


def bubblewrap_prefix(writable: list[Path], readable: list[Path]) -> list[str]:
    """bwrap arguments: a new root that holds only what a child may read, no network, writable only beneath
    ``writable``.

    The view is built from :func:`automl.sandbox.readable.server_view` (the system's libraries, the Python
    installation, a few files under ``/etc``) plus ``readable``, so the home directory, other runs and the
    user's data are not there at all: on a kernel without Landlock this is what keeps them out of reach.
    """
    prefix = [BWRAP, "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent",
              "--new-session", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--chdir", "/"]  # fmt: skip
    shown = [*server_view(), *map(str, readable)]
    real_trees = [Path(path) for path in shown if not os.path.islink(path)]
    for path in shown:
        target = Path(path).resolve()
        if os.path.islink(path) and any(target == tree or tree in target.parents for tree in real_trees):
            prefix += ["--symlink", os.readlink(path), path]  # merged /usr: /lib -> usr/lib stays a link
        else:
            prefix += ["--ro-bind", path, path]
    for root in writable:  # after the read-only binds: a trial folder inside a readable one stays writable
        prefix += ["--bind", str(root), str(root)]
    return prefix


class ForkServer:
    """A handle on one running fork server; jobs from several threads are sent one at a time.

    The server may write only beneath ``writable`` (plus its own scratch directory) and, under bubblewrap,
    sees of the machine only the system, Python, ``writable`` and ``readable``; every child narrows both
    further to its own job with Landlock.
    """

    def __init__(self, writable: frozenset[Path], readable: frozenset[Path], use_bubblewrap: bool) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="automl-sandbox-"))
        self.writable = writable
        self.readable = readable
        self.bubblewrap = use_bubblewrap
        # What jobs can see, fixed for the server's life (None: the whole machine): asked before every job.
        self._bound = (frozenset({*writable, self.scratch, *readable, *map(Path, server_view())})
                       if use_bubblewrap else None)  # fmt: skip
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", "automl.sandbox.forkserver", str(theirs.fileno())]
        if use_bubblewrap:
            command = bubblewrap_prefix(sorted({*writable, self.scratch}), sorted(readable)) + command
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
        return _beneath(path, {*self.writable, self.scratch})

    def shows(self, path: Path) -> bool:
        """Whether jobs can see ``path`` with this server: always without bubblewrap, whose view is the
        machine's (Landlock then decides per child), else when it lies beneath a bound folder."""
        return self._bound is None or _beneath(path, self._bound)

    def fork(self, message: dict[str, Any]) -> tuple[int, int, int]:
        """Start the job ``message`` describes in a child; return its pid and its reply and output pipes' read ends."""
        reply_read, reply_write = os.pipe()
        output_read, output_write = os.pipe()
        try:
            with self._lock:
                socket.send_fds(self._channel, [json.dumps(message).encode()], [reply_write, output_write])
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
            self._process.wait(timeout=SERVER_EXIT_WAIT)
        if self._process.poll() is None:
            self._process.kill()
        shutil.rmtree(self.scratch, ignore_errors=True)


class SandboxHost:
    """This process's fork server, the pid that started it, and whether bubblewrap works here.

    ``bubblewrap`` is probed on first use; setting it beforehand (False, as on a machine without
    bubblewrap) skips the probe.
    """

    def __init__(self) -> None:
        self.bubblewrap: bool | None = None
        self._server: ForkServer | None = None
        self._owner_pid = -1  # the process that started _server: a forked or dask worker needs its own
        self._prepared = False

    def warm_up(self, writable: Path | None = None, readable: Iterable[Path] = ()) -> ForkServer:
        """The process's fork server, (re)started so jobs may write beneath ``writable`` and read ``readable``.

        Starting it early lets its imports overlap the caller's own work. A restart keeps what the
        previous server allowed, so a caller that names its folders once (a model's run directory)
        costs one start, not one per job.
        """
        if self.bubblewrap is None:
            self.bubblewrap = bubblewrap_works()
        if not self._prepared:
            confine.protect_from_children()
            atexit.register(self.shut_down)
            self._prepared = True
        if writable is not None:
            writable.mkdir(parents=True, exist_ok=True)  # bubblewrap can only bind what exists
        wanted = writable.resolve() if writable is not None else None
        shown = {Path(path).resolve() for path in readable}
        current = self._current()
        if current is not None and (wanted is None or current.covers(wanted)) and all(map(current.shows, shown)):
            return current
        # A restart keeps what the previous server allowed that still exists: bubblewrap cannot bind a deleted
        # folder (a run directory removed after its model was exported).
        roots = frozenset({path for path in (current.writable if current else ()) if path.exists()}
                          | ({wanted} if wanted is not None else set()))  # fmt: skip
        seen = frozenset(path for path in shown | (current.readable if current else set()) if path.exists())
        if current is not None:
            current.close()
        self._server, self._owner_pid = ForkServer(roots, seen, self.bubblewrap), os.getpid()
        return self._server

    def _current(self) -> ForkServer | None:
        """The server this process started, if it still runs."""
        if self._server is not None and self._owner_pid == os.getpid() and self._server.alive:
            return self._server
        return None

    def shut_down(self) -> None:
        """Stop this process's fork server (at exit), so its scratch directory does not outlive the run."""
        if self._server is not None and self._owner_pid == os.getpid():
            self._server.close()

    def isolation_mode(self) -> str:
        """How generated code is confined here, in words for run records and the console."""
        server = self.warm_up()
        outer = f"bubblewrap ({BUBBLEWRAP_VIEW})" if server.bubblewrap else "no bubblewrap"
        inner = ", ".join(confine_labels())
        return f"{outer}; per trial: {inner}"


HOST = SandboxHost()


def warm_up(writable: Path | None = None, readable: Iterable[Path] = ()) -> ForkServer:
    """This process's fork server, (re)started so jobs may write beneath ``writable`` and read ``readable`` (see
    :class:`SandboxHost`)."""
    return HOST.warm_up(writable, readable)


def _beneath(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def isolation_mode() -> str:
    """How generated code is confined in this process, in words for run records and the console."""
    return HOST.isolation_mode()


def confine_labels() -> list[str]:
    """What each child applies to itself on this kernel and architecture."""
    abi = confine.landlock_abi()
    labels = [f"landlock v{abi} (reads, writes)" if abi >= 1 else "no Landlock: reads and writes unconfined"]
    labels += ["seccomp", "no capabilities"] if confine.seccomp_supported() else ["no seccomp"]
    return labels
