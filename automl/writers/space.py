"""Read, write and narrow ConfigSpace search spaces stored in ConfigSpace's own JSON format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ConfigSpace import ConfigurationSpace

from automl._io import write_text
from automl.errors import ConfigError

# Keys under which ConfigSpace's JSON names a hyperparameter inside a condition or forbidden clause.
_NAME_KEYS = ("child", "parent", "name", "left", "right")


def load_space(path: Path) -> ConfigurationSpace:
    """Load a ConfigSpace JSON file; an unreadable or invalid one is a ConfigError naming it."""
    try:
        return space_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ConfigError(f"config-space file '{path}' does not exist: check the path") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"config-space file '{path}' is not a valid ConfigSpace JSON file ({error}): "
            "write it with ConfigurationSpace.to_json"
        ) from None


def space_from_dict(data: dict[str, Any]) -> ConfigurationSpace:
    """Build a space from ConfigSpace's serialized dictionary."""
    return ConfigurationSpace.from_serialized_dict(data)


def space_to_dict(space: ConfigurationSpace) -> dict[str, Any]:
    return space.to_serialized_dict()


def save_space(space: ConfigurationSpace, path: Path) -> None:
    """Write the space as ConfigSpace JSON, atomically."""
    write_text(path, json.dumps(space_to_dict(space), indent=2) + "\n")


def _names(entry: Any) -> set[str]:
    """Every hyperparameter name a condition or forbidden clause (nested or not) refers to."""
    found: set[str] = set()
    if isinstance(entry, dict):
        found.update(str(entry[key]) for key in _NAME_KEYS if isinstance(entry.get(key), str))
        for value in entry.values():
            if isinstance(value, list | dict):
                found |= _names(value)
    elif isinstance(entry, list):
        for item in entry:
            found |= _names(item)
    return found


def restrict_choices(space: ConfigurationSpace, name: str, allowed: tuple[str, ...]) -> ConfigurationSpace:
    """Keep only ``allowed`` values of categorical ``name``, dropping what hangs off removed values.

    Hyperparameters active only under a removed value go, transitively, with every condition and
    forbidden clause that mentions them; the default moves to the first allowed value if needed.
    """
    data = space_to_dict(space)
    choice = next((hp for hp in data["hyperparameters"] if hp["name"] == name), None)
    if choice is None or choice.get("type") != "categorical":
        raise ConfigError(f"the config space has no categorical hyperparameter '{name}' to restrict")
    kept = [value for value in choice["choices"] if value in allowed]
    if not kept:
        raise ConfigError(f"none of {list(allowed)} is a choice of '{name}' in the config space")
    if choice.get("weights"):
        choice["weights"] = [
            w for value, w in zip(choice["choices"], choice["weights"], strict=True) if value in allowed
        ]
    choice["choices"] = kept
    if choice["default_value"] not in kept:
        choice["default_value"] = kept[0]

    removed: set[str] = set()
    changed = True
    while changed:
        changed = False
        for condition in data["conditions"]:
            child = condition.get("child")
            if child in removed:
                continue
            if _dead(condition, name, kept, removed):
                removed.add(child)
                changed = True
    data["hyperparameters"] = [hp for hp in data["hyperparameters"] if hp["name"] not in removed]
    data["conditions"] = [c for c in data["conditions"] if not (_names(c) & removed)]
    data["forbiddens"] = [f for f in data["forbiddens"] if not (_names(f) & removed)]
    for condition in data["conditions"]:
        _narrow(condition, name, kept)
    return space_from_dict(data)


def drop_hyperparameters(space: ConfigurationSpace, names: Iterable[str]) -> ConfigurationSpace:
    """The space without ``names``, e.g. a count that a multi-fidelity budget sets instead of the search.

    Hyperparameters that can only be active through a dropped one go too, transitively. A condition that
    still holds through another parent (an OR) keeps its other parts; a forbidden clause that mentions a
    dropped name goes, since it can no longer match.
    """
    data = space_to_dict(space)
    known = {hp["name"] for hp in data["hyperparameters"]}
    removed = set(names)
    if removed - known:
        raise ConfigError(f"the config space has no hyperparameter(s) {sorted(removed - known)} to drop")
    changed = True
    while changed:
        alive = [c for c in data["conditions"] if c["child"] not in removed]
        newly = {c["child"] for c in alive if _prune(c, removed) is None}
        removed |= newly
        changed = bool(newly)
    data["hyperparameters"] = [hp for hp in data["hyperparameters"] if hp["name"] not in removed]
    data["conditions"] = [_prune(c, removed) for c in data["conditions"] if c["child"] not in removed]
    data["forbiddens"] = [f for f in data["forbiddens"] if not (_names(f) & removed)]
    return space_from_dict(data)


def _prune(condition: dict[str, Any], removed: set[str]) -> dict[str, Any] | None:
    """``condition`` without its parts on ``removed`` parents, or None when it can no longer hold."""
    kind = condition.get("type")
    if kind not in {"AND", "OR"}:
        return None if condition.get("parent") in removed else condition
    parts = [_prune(part, removed) for part in condition["conditions"]]
    alive = [part for part in parts if part is not None]
    if not alive or (kind == "AND" and len(alive) < len(parts)):
        return None
    if len(alive) == 1:  # ConfigSpace's conjunctions need two parts
        return {**alive[0], "child": condition["child"]}
    return {**condition, "conditions": alive}


def _dead(condition: dict[str, Any], name: str, kept: list[str], removed: set[str]) -> bool:
    """Whether a condition can no longer hold: its parent is gone or it needs a removed value."""
    kind = condition.get("type")
    if kind == "AND":
        return any(_dead(part, name, kept, removed) for part in condition["conditions"])
    if kind == "OR":
        return all(_dead(part, name, kept, removed) for part in condition["conditions"])
    if condition.get("parent") in removed:
        return True
    if condition.get("parent") != name:
        return False
    if kind == "EQ":
        return condition["value"] not in kept
    if kind == "IN":
        return not any(value in kept for value in condition["values"])
    return False


def _narrow(condition: dict[str, Any], name: str, kept: list[str]) -> None:
    """Drop removed values from IN conditions on ``name`` so the space stays valid."""
    if condition.get("type") in {"AND", "OR"}:
        for part in condition["conditions"]:
            _narrow(part, name, kept)
    elif condition.get("type") == "IN" and condition.get("parent") == name:
        condition["values"] = [value for value in condition["values"] if value in kept]
