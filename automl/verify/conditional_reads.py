"""Reads of conditional hyperparameters that fail when inactive, and the message that teaches the fix.

A conditional hyperparameter has no value while its condition does not hold: ``cfg["svm_degree"]`` raises
KeyError in every configuration that did not choose the SVM. A trial shows one such read; the same mistake a
few lines below would cost another draft, so the message lists every read this scan finds unguarded.

The scan only enriches a message, so it errs towards calling a read guarded: a read is guarded when it sits
in a branch (``if``/``elif``/``else``, a conditional expression, ``and``/``or``, a ``match`` case, or after an
``if`` that returns) whose test mentions one of the name's parents or the name itself, in a lambda (it runs
who knows when), or in a helper that is only called from guarded places, or not called by name at all.
``cfg.get(name)`` never raises, so only ``cfg[name]`` counts as a read that can fail.
"""

from __future__ import annotations

import ast
import re

from ConfigSpace import AndConjunction, ConfigurationSpace
from ConfigSpace.conditions import Conjunction

from automl.verify.static import config_reads, entry_function

# The name a failing read names: cfg["x"] of an inactive x, or ConfigSpace refusing to set one.
_MISSING = (re.compile(r"KeyError: '([^']+)'"), re.compile(r"is inactive but has a value set as .*\n(\S+), Type:"))
# Statements after which the rest of their block does not run.
_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
Function = ast.FunctionDef | ast.AsyncFunctionDef


def inactive_read_hint(error: str, source: str, space: ConfigurationSpace, filename: str = "train.py") -> str:
    """What a trial's ``error`` means when it names a conditional hyperparameter of ``space``, and every other
    unguarded read in ``source`` (empty when the error names none)."""
    conditional = set(space.conditional_hyperparameters)
    names = [name for pattern in _MISSING for name in pattern.findall(error) if name in conditional]
    if not names:
        return ""
    name = names[0]
    failed_at = re.findall(rf'File "{re.escape(filename)}", line (\d+)', error)
    others = [(line, other) for line, other in unguarded_reads(source, space)
              if not (other == name and failed_at and line == int(failed_at[-1]))]  # fmt: skip
    hint = (f"{name!r} is a conditional hyperparameter, active only when {active_when(space, name)}: in any other "
            f"configuration it has no value (cfg[{name!r}] raises KeyError) and cannot be given one. Read it only "
            f"inside the branch where that holds; cfg.get({name!r}) is None while it is inactive.")  # fmt: skip
    if others:
        listed = ", ".join(f"line {line} cfg[{other!r}] (active only when {active_when(space, other)})"
                           for line, other in others)  # fmt: skip
        hint += f" The same mistake elsewhere in {filename}, fix it there too: {listed}."
    return hint


def active_when(space: ConfigurationSpace, name: str) -> str:
    """The conditions under which ``name`` is active, as the space states them (``algorithm == 'svm'``)."""
    return " and ".join(_condition_text(condition) for condition in space.parent_conditions_of[name])


def _condition_text(condition: object) -> str:
    """A condition without ConfigSpace's ``child |`` prefix; conjunctions spelled with and/or."""
    if not isinstance(condition, Conjunction):
        return str(condition).split(" | ", 1)[-1]
    joiner = " and " if isinstance(condition, AndConjunction) else " or "
    parts = [(part, _condition_text(part)) for part in condition.components]
    return joiner.join(f"({text})" if isinstance(part, Conjunction) else text for part, text in parts)


def unguarded_reads(source: str, space: ConfigurationSpace) -> list[tuple[int, str]]:
    """(line, name) of every ``cfg["name"]`` of a conditional hyperparameter that no test of its parents guards,
    sorted; none when the source does not parse (the static check reports that)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    scan = _Scan(tree)
    found = set()
    for node, name in config_reads(tree):
        if isinstance(node, ast.Subscript) and name in space.conditional_hyperparameters:
            mentions = {name, *(parent.name for parent in space.parents_of[name])}
            if not scan.guarded(node, mentions):
                found.add((node.lineno, name))
    return sorted(found)


def unoffered_choice_reads(source: str, space: ConfigurationSpace) -> set[tuple[int, str]]:
    """(line, name) of every read of a ``<choice>:<name>`` hyperparameter the space lacks, in code that only runs
    after a test of ``<choice>`` when no categorical hyperparameter of the space offers that choice.

    One train.py may serve several spaces (the offline writer's networks): ``cfg["cnn:depth"]`` in the branch
    for ``algorithm == "cnn"`` never runs under a space whose algorithms are only ``mlp``, so it misreads
    nothing; the static check leaves such reads alone. Any other read of an unknown name stays an error.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    offered = {str(choice) for hyperparameter in space.values() for choice in getattr(hyperparameter, "choices", ())}
    scan = _Scan(tree, after_exits=False)  # the code after `if algorithm == "cnn": return` is what runs otherwise
    return {(node.lineno, name) for node, name in config_reads(tree)
            if name not in space and ":" in name and (choice := name.split(":", 1)[0]) not in offered
            and scan.guarded(node, {choice})}  # fmt: skip


class _Scan:
    """One source's syntax tree with what guard tests need: parents, the entry, and variables holding config
    values (``algorithm = cfg["algorithm"]`` makes ``if algorithm == ...`` a test of the parent)."""

    def __init__(self, tree: ast.Module, after_exits: bool = True) -> None:
        self.tree = tree
        self.after_exits = after_exits  # whether the statements after an if that exits count as tested by it
        self.parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        self.entry = entry_function(tree, "train")
        self.holds: dict[str, set[str]] = {}
        for node, name in config_reads(tree):
            statement = self._statement(node)
            if isinstance(statement, ast.Assign | ast.AnnAssign):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.holds.setdefault(target.id, set()).add(name)

    def _statement(self, node: ast.AST) -> ast.AST | None:
        while node is not None and not isinstance(node, ast.stmt):
            node = self.parents.get(node)
        return node

    def guarded(self, node: ast.AST, mentions: set[str], calls_up: int = 1) -> bool:
        """Whether ``node`` only runs after a test that mentions one of ``mentions``; a helper's callers are
        looked at ``calls_up`` levels up."""
        child, parent = node, self.parents.get(node)
        while parent is not None:
            if isinstance(parent, ast.Lambda) or self._tests(parent, child, mentions):
                return True
            if isinstance(parent, Function):
                return parent is not self.entry and calls_up > 0 and self._callers_guarded(parent, mentions, calls_up)
            child, parent = parent, self.parents.get(parent)
        return False

    def _tests(self, parent: ast.AST, child: ast.AST, mentions: set[str]) -> bool:
        """Whether reaching ``child`` inside ``parent`` means a test mentioning ``mentions`` was evaluated."""
        if isinstance(parent, ast.If | ast.IfExp | ast.While) and child is not parent.test:
            return self._mentions(parent.test, mentions)
        if isinstance(parent, ast.BoolOp) and child in parent.values:
            return any(self._mentions(value, mentions) for value in parent.values[: parent.values.index(child)])
        if isinstance(parent, ast.Match) and child is not parent.subject:
            return self._mentions(parent.subject, mentions)
        if not self.after_exits:
            return False
        block = next((statements for _, statements in ast.iter_fields(parent)
                      if isinstance(statements, list) and child in statements), [])  # fmt: skip
        earlier = block[: block.index(child)] if child in block else []
        return any(isinstance(statement, ast.If) and isinstance(statement.body[-1], _EXITS)
                   and self._mentions(statement.test, mentions) for statement in earlier)  # fmt: skip

    def _mentions(self, test: ast.AST, mentions: set[str]) -> bool:
        """The test names one of ``mentions``: as a string (cfg["algorithm"], "x" in cfg), a variable of that
        name, or a variable assigned from reading it."""
        for node in ast.walk(test):
            if isinstance(node, ast.Constant) and node.value in mentions:
                return True
            if isinstance(node, ast.Name) and (node.id in mentions or self.holds.get(node.id, set()) & mentions):
                return True
        return False

    def _callers_guarded(self, function: Function, mentions: set[str], calls_up: int) -> bool:
        """A helper is guarded when every call of it by name is; used any other way (a dispatch table, an
        argument) or not at all, it cannot be told, so it counts as guarded."""
        uses = [node for node in ast.walk(self.tree) if isinstance(node, ast.Name) and node.id == function.name]
        calls = [use for use in uses if isinstance(self.parents.get(use), ast.Call) and self.parents[use].func is use]
        if len(calls) < len(uses):
            return True
        return all(self.guarded(self.parents[call], mentions, calls_up - 1) for call in calls)
