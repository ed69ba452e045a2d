"""Find the table's column names written into generated code.

A model that saw the dataset description (or a plan that named columns) may write ``X["colour"]``
or ``["age", "income"]`` into train(). That code runs on this table and fails, or silently drops
columns, on the next one, and on the runner's own copies of the data (a column removed, a
subsample). The smoke test that removes a column only catches the name it happens to remove; this
scan finds every one, by line, before any code runs.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection

from automl.verify.static import Finding

# A string that short is too likely to be a word of the code (an axis, a unit) to call it a column.
MIN_NAME_CHARS = 2
# Variables that hold a table of features, by the names code gives them: X, X_train, x_val, df, data, frame2...
FRAME_NAMES = re.compile(r"^(x|df|data|frame|features?|train|test|valid|val)(_|\d|$)", re.IGNORECASE)
# The keys of the dataset dict train() gets: reading them is the contract, whatever the columns are called.
DATASET_KEYS = frozenset({"X", "y", "X_test", "y_test", "task", "n_classes"})


def hard_coded_columns(source: str, columns: Collection[str]) -> list[Finding]:
    """One finding naming every column the code writes as a subscript key or in a list, with its lines."""
    names = {str(column) for column in columns if len(str(column)) >= MIN_NAME_CHARS} - DATASET_KEYS
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the static check reports it
    lines: dict[str, set[int]] = {}
    for node in ast.walk(tree):
        for constant in _column_like_strings(node, names):
            lines.setdefault(constant.value, set()).add(constant.lineno)
    if not lines:
        return []
    ordered = sorted(lines.items(), key=lambda item: min(item[1]))
    listed = ", ".join(f"{name!r} ({_lines(found)})" for name, found in ordered)
    return [Finding(min(min(found) for _, found in ordered), _message(listed, len(ordered)))]


def _column_like_strings(node: ast.AST, names: set[str]) -> list[ast.Constant]:
    """The column ``names`` a node writes: ``X["name"]`` or ``df.loc[:, "name"]`` on a frame, and a list
    or tuple of two or more strings that are all columns (``["age", "income"]``).

    Other string keys (``params["alpha"]``, a tuple of algorithm names) are the code's own words,
    which a table may share by chance; counting them would reject sound code.
    """
    if isinstance(node, ast.Subscript) and _is_frame(node.value):
        key = node.slice
        if isinstance(key, ast.Tuple) and len(key.elts) == 2:  # .loc[rows, columns]
            key = key.elts[1]
        return [constant for constant in ([key] if _is_string(key) else _strings_in(key)) if constant.value in names]
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and len(node.elts) >= 2:
        found = [element for element in _strings_in(node) if element.value in names]
        return found if len(found) == len(node.elts) else []
    return []


def _is_frame(node: ast.AST) -> bool:
    """An expression that names a table of features by the usual names (X, X_train, df, data, ...)."""
    if isinstance(node, ast.Attribute) and node.attr in ("loc", "iloc"):
        node = node.value
    return isinstance(node, ast.Name) and FRAME_NAMES.match(node.id) is not None


def _strings_in(node: ast.AST) -> list[ast.Constant]:
    return [element for element in getattr(node, "elts", []) if _is_string(element)]


def _is_string(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _lines(lines: set[int]) -> str:
    return f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, sorted(lines)))}"


def _message(listed: str, count: int) -> str:
    these = "is a column" if count == 1 else "are columns"
    return (
        f"{listed} {these} of this table, written into the code: train() must work on any table (the runner "
        "checks it on copies with other columns), so select columns by dtype, e.g. "
        'X.select_dtypes(include="number") and X.select_dtypes(include=["category", "object"]), never by name'
    )
