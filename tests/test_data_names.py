"""Column names of the user's table written into generated code are found by line, before any code runs."""

from __future__ import annotations

from pathlib import Path

from automl.verify.data_names import hard_coded_columns

COLUMNS = ["colour", "shape", "size", "weight", "task", "X"]

HARD_CODED = """
def train(cfg, dataset, seed, budget=None, model_dir=None):
    X = dataset["X"]
    kind = dataset["task"]
    categorical = ["colour", "shape"]
    doubled = X["size"] * 2
    pair = X_train.loc[:, ["size", "weight"]]
    depth = cfg["size"]
    mixed = ("colour", "mean")
    return {"loss": 1.0}
"""


def test_every_hard_coded_column_is_named_in_one_finding_with_its_lines() -> None:
    findings = hard_coded_columns(HARD_CODED, COLUMNS)
    assert len(findings) == 1
    message = str(findings[0])
    assert message.startswith("line 5: 'colour' (line 5), 'shape' (line 5), 'size' (lines 6, 7), 'weight' (line 7)")
    assert "select columns by dtype" in message and 'include=["category", "object"]' in message
    # The dataset's own keys, configuration reads and a list mixing a column with other words are not columns.
    assert "'task'" not in message and "line 8" not in message and "line 9" not in message


def test_the_offline_train_py_names_no_column_whatever_the_table_calls_them() -> None:
    """Words of our own code (algorithm and parameter names) that a table may share are not flagged."""
    source = (Path(__file__).parents[1] / "automl" / "writers" / "offline_train.py").read_text()
    awkward = ["model", "alpha", "budget", "weights", "gamma", "C", "numeric", "categorical", "hgb", "learning_rate"]
    assert hard_coded_columns(source, awkward) == []
    assert hard_coded_columns("def train(:", COLUMNS) == []  # a syntax error is the static check's to report
