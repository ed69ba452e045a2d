"""Where the bundled config spaces (``configs/``) and scenario presets (``scenarios/``) live.

In a source checkout or an editable install they are the top-level folders of the repository, where
users edit them; a wheel carries copies inside the package (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

from automl.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent


def bundled_dir(kind: str) -> Path:
    """The folder of bundled ``configs`` or ``scenarios``."""
    for candidate in (_PACKAGE.parent / kind, _PACKAGE / "_bundled" / kind):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"the bundled '{kind}' folder is missing from this installation: reinstall automl")


def resolve_file(name_or_path: str | Path, kind: str, suffixes: tuple[str, ...]) -> Path:
    """A user's file path, or the name of a bundled file (``quick`` -> ``scenarios/quick.yaml``)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.suffix == "" and path.parent == Path("."):
        for suffix in suffixes:
            bundled = bundled_dir(kind) / f"{path.name}{suffix}"
            if bundled.is_file():
                return bundled
        known = sorted(p.stem for p in bundled_dir(kind).iterdir() if p.suffix in suffixes)
        raise ConfigError(f"no {kind[:-1]} named '{name_or_path}': pass a file path or one of {known}")
    raise ConfigError(f"{kind[:-1]} file '{name_or_path}' does not exist: check the path")
