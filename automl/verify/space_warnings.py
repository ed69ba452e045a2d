"""Findings in a generated config space that SMAC can search but should not have to: warnings, never rejections.

- A hyperparameter named for one algorithm (``gb_max_depth`` when ``algorithm`` offers
  ``gradient_boosting``) with no condition on that choice is active for every algorithm: SMAC then
  spends trials varying a value that changes nothing (a wasted search dimension).
- ConfigSpace 1.x builds a space with ``space.add(...)``; the older ``add_hyperparameters`` and
  friends only warn today and will be removed, so a space built with them breaks on an upgrade.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict

from ConfigSpace import ConfigurationSpace
from ConfigSpace.hyperparameters import CategoricalHyperparameter

# The ConfigSpace 0.x calls that ``space.add(...)`` replaced.
DEPRECATED_CALLS = ("add_hyperparameters", "add_hyperparameter", "add_conditions", "add_condition",
                    "add_forbidden_clauses", "add_forbidden_clause")  # fmt: skip
# Words of a choice: snake_case, kebab-case and CamelCase parts ("HistGradientBoosting" -> hist, gradient, boosting).
WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# What separates an algorithm's prefix from the rest of a hyperparameter's name.
SEPARATORS = ("_", ":")


def _prefixes(choice: str) -> set[str]:
    """Name prefixes that mark a hyperparameter as the choice's: the choice itself, and its initials
    when it has several words (``gb`` for ``gradient_boosting``, ``rf`` for ``RandomForest``)."""
    words = [word.lower() for word in WORDS.findall(choice)]
    return {choice.lower()} | ({"".join(word[0] for word in words)} if len(words) >= 2 else set())


def _owner(name: str, choices: list[str]) -> str | None:
    """The choice whose prefix ``name`` starts with (``gb_max_depth``: ``gradient_boosting``), if any."""
    lowered = name.lower()
    for choice in choices:
        if any(lowered.startswith(prefix + separator) for prefix in _prefixes(choice) for separator in SEPARATORS):
            return choice
    return None


def _top_choices(space: ConfigurationSpace) -> dict[str, list[str]]:
    """The choices of each categorical that no condition switches off (an ``algorithm`` choice is one)."""
    return {
        name: [str(choice) for choice in hp.choices]
        for name, hp in space.items()
        if isinstance(hp, CategoricalHyperparameter) and len(hp.choices) > 1 and not space.parents_of[name]
    }


def unconditioned_hyperparameters(space: ConfigurationSpace) -> list[str]:
    """Hyperparameters without any condition whose name says they belong to a choice of a top-level categorical.

    One conditioned on anything is left alone: its writer thought of conditions, and a chain ends at
    an unconditioned one, which is reported.
    """
    tops = _top_choices(space)
    found = []
    for name in space:
        if space.parents_of[name]:
            continue
        owners = [(top, choice) for top, choices in tops.items()
                  if top != name and (choice := _owner(name, choices)) is not None]  # fmt: skip
        if owners:
            top, choice = owners[0]
            found.append(f"hyperparameter '{name}' belongs to {top}='{choice}' by its name but has no condition on "
                         f"'{top}': it is active for every {top}, so SMAC spends trials varying it where it changes "
                         f"nothing (a wasted search dimension). Make it conditional: "
                         f"space.add(EqualsCondition(space['{name}'], space['{top}'], '{choice}'))")  # fmt: skip
    return found


def deprecated_calls(source: str) -> list[str]:
    """The ConfigSpace 0.x calls in ``source``, with their line numbers (a static scan: nothing runs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # the static gate reports it
        return []
    lines: dict[str, list[int]] = defaultdict(list)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DEPRECATED_CALLS:
            lines[node.func.attr].append(node.lineno)
    if not lines:
        return []
    listed = "; ".join(f"{call}() on line{'s' if len(numbers) > 1 else ''} {', '.join(map(str, sorted(numbers)))}"
                       for call, numbers in sorted(lines.items(), key=lambda item: min(item[1])))  # fmt: skip
    return [f"deprecated ConfigSpace calls: {listed}. ConfigSpace 1.x adds hyperparameters, conditions and "
            "forbidden clauses with space.add(...), one or a list at a time; the old calls will go"]  # fmt: skip
