"""Installed library versions, recorded with every run and benchmark row so a result can be traced."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from importlib import metadata


def library_versions(names: Iterable[str]) -> dict[str, str]:
    """Python's version and each named distribution's (``not installed`` where it is missing)."""
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
