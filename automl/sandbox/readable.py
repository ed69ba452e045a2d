"""What a sandbox child may read: the system and Python it runs on, and its own job's files.

Generated code runs with the user's file permissions, and a run directory is meant to be shared:
anything a child can read, it can copy into its ``model_dir`` or print into its log. So Landlock's
read rights (see :func:`automl.sandbox.confine.apply_landlock`) allow only what a Python process
needs to start and import (the system's libraries, the Python installation and its
site-packages, a few files under ``/etc``, ``/proc`` and ``/sys`` that the C library and thread
pools read) and the job's own inputs and ``model_dir``. The user's home directory (beyond a Python
installed there), other runs, the user's data files (``--test-data`` among them) and the rest of
``/etc`` stay out of reach.
"""

from __future__ import annotations

import functools
import os
import pwd
import site
import sys
from pathlib import Path

# System trees every dynamically linked process reads from (libraries, the loader, locales, time zones).
SYSTEM_TREES = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
# Single files and small trees libraries read: the loader's cache, time zone and user lookups (no
# passwords: /etc/passwd holds none), CPU and memory counts for thread pools, randomness.
SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
    "/dev/random",
)
# The process's own /proc entry, resolved in the child that applies the rules (its own pid only).
OWN_PROC = "/proc/self"


@functools.cache
def python_paths() -> tuple[str, ...]:
    """The Python installation (venv and base), its site-packages and automl's own package directory.

    Only install trees: a ``sys.path`` entry such as the current directory or an editable
    project's root (which may hold runs and data) is left out, as is any prefix that is the root,
    the home directory or above it.
    """
    homes = {Path(pwd.getpwuid(os.getuid()).pw_dir).resolve(), Path.home().resolve()}  # HOME may be a scratch
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    user_site = site.getusersitepackages()
    if user_site in sys.path:
        candidates.add(user_site)
    candidates.add(str(Path(__file__).resolve().parents[1]))  # automl itself
    kept: list[str] = []
    for candidate in sorted(candidates):
        path = Path(candidate).resolve()
        if path == Path("/") or any(path == home or path in home.parents for home in homes) or not path.exists():
            continue
        # The path as Python names it too, when a link leads there (a symlinked venv): the interpreter is
        # started by that name and finds its pyvenv.cfg beside it.
        named = Path(os.path.abspath(candidate))
        kept += [str(path), *([str(named)] if named != path and named.is_symlink() else [])]
    return tuple(kept)


python_paths()  # in the fork server, before a child points HOME at its scratch folder


def _system_paths() -> list[str]:
    return [path for path in (*SYSTEM_TREES, *SYSTEM_FILES) if os.path.exists(path)]


def child_readable(job_inputs: list[str]) -> list[str]:
    """Every path a child may read: the system's, Python's, its own /proc entry and ``job_inputs``."""
    return [*_system_paths(), *python_paths(), OWN_PROC, *job_inputs]


def server_view() -> list[str]:
    """What bubblewrap shows the fork server (and so its children) of the machine: the system's and Python's
    paths a child may read, without ``/dev`` and ``/proc``, which bubblewrap makes anew."""
    return [path for path in (*_system_paths(), *python_paths()) if not path.startswith(("/dev/", "/proc/"))]
