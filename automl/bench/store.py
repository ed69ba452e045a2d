"""The benchmark's results database: one SQLite row per (suite, dataset, framework, seed, budget).

A benchmark takes hours, so every result is committed the moment it exists; a killed or extended
run continues where it stopped (rows already there are skipped, new frameworks and seeds are
added). SQLite needs no server and one file is easy to keep next to the docs it produced.

A model-written run's calls (its ``llm/NNN-stage.json`` records, secrets already redacted) are kept in
the same file, in ``model_calls``, written in the same transaction as their row: a final row always has
its calls, so the database alone replays its bench (``automl bench --replay DB``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

# Rows with these statuses are final; an "unavailable" row is retried once the framework is installed.
DONE_STATUSES = ("ok", "failed")
KEY = ("suite", "dataset", "framework", "seed", "budget")
SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    suite TEXT NOT NULL,
    dataset TEXT NOT NULL,
    framework TEXT NOT NULL,
    seed INTEGER NOT NULL,
    budget REAL NOT NULL,
    task TEXT,
    main_metric TEXT,
    main_value REAL,
    roc_auc REAL,
    log_loss REAL,
    rmse REAL,
    accuracy REAL,
    r2 REAL,
    metrics TEXT,
    status TEXT NOT NULL,
    seconds REAL,
    predict_seconds REAL,
    over_budget INTEGER NOT NULL DEFAULT 0,
    cores INTEGER,
    trials INTEGER,
    n_train INTEGER,
    n_test INTEGER,
    error TEXT NOT NULL DEFAULT '',
    info TEXT,
    llm_calls INTEGER,
    llm_tokens INTEGER,
    llm_cost_usd REAL,
    versions TEXT,
    timestamp TEXT NOT NULL,
    PRIMARY KEY (suite, dataset, framework, seed, budget)
)
"""
# Made by the first write, so reading a database from before it leaves the file as it was.
CALLS_SCHEMA = """
CREATE TABLE IF NOT EXISTS model_calls (
    suite TEXT NOT NULL,
    dataset TEXT NOT NULL,
    framework TEXT NOT NULL,
    seed INTEGER NOT NULL,
    budget REAL NOT NULL,
    name TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (suite, dataset, framework, seed, budget, name)
)
"""
COLUMNS = (
    *KEY,
    "task",
    "main_metric",
    "main_value",
    "roc_auc",
    "log_loss",
    "rmse",
    "accuracy",
    "r2",
    "metrics",
    "status",
    "seconds",
    "predict_seconds",
    "over_budget",
    "cores",
    "trials",
    "n_train",
    "n_test",
    "error",
    "info",
    "llm_calls",
    "llm_tokens",
    "llm_cost_usd",
    "versions",
    "timestamp",
)
JSON_COLUMNS = ("metrics", "info", "versions")
KEY_MATCH = " AND ".join(f"{column}=?" for column in KEY)
# Columns added after the first databases were written (docs/benchmark/*.sqlite): added to an older file by
# its first new row, so a bench resumes into it; read as None from rows without them, so a report of it reads
# as before without changing the file.
ADDED_COLUMNS = {"llm_calls": "INTEGER", "llm_tokens": "INTEGER", "llm_cost_usd": "REAL", "trials": "INTEGER"}


class ResultStore:
    """Reads and writes benchmark rows; each write is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per operation: nothing stays open between results, so a kill loses nothing."""
        with closing(sqlite3.connect(self.path, timeout=30.0)) as connection, connection:
            connection.row_factory = sqlite3.Row
            yield connection

    def is_done(self, suite: str, dataset: str, framework: str, seed: int, budget: float) -> bool:
        """Whether this combination already has a final (ok or failed) result."""
        with self._connect() as connection:
            found = connection.execute(
                f"SELECT 1 FROM results WHERE {KEY_MATCH} AND status IN ({', '.join('?' * len(DONE_STATUSES))})",
                (suite, dataset, framework, seed, float(budget), *DONE_STATUSES),
            ).fetchone()
        return found is not None

    def put(self, row: dict[str, Any]) -> None:
        """Insert or replace the row with this key, and its ``model_calls`` if it has any; JSON columns may be
        given as dicts."""
        values = [json.dumps(row.get(column)) if column in JSON_COLUMNS else row.get(column) for column in COLUMNS]
        values[KEY.index("budget")] = float(row["budget"])
        key = values[: len(KEY)]
        with self._connect() as connection:
            present = {found["name"] for found in connection.execute("PRAGMA table_info(results)")}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    connection.execute(f"ALTER TABLE results ADD COLUMN {column} {kind}")
            connection.execute(CALLS_SCHEMA)
            connection.execute(
                f"INSERT OR REPLACE INTO results ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                values,
            )
            connection.execute(f"DELETE FROM model_calls WHERE {KEY_MATCH}", key)
            connection.executemany(
                f"INSERT INTO model_calls ({', '.join(KEY)}, name, record) VALUES ({', '.join('?' * (len(KEY) + 2))})",
                [(*key, name, json.dumps(record)) for name, record in sorted((row.get("model_calls") or {}).items())],
            )

    def calls(self, suite: str, dataset: str, framework: str, seed: int, budget: float) -> dict[str, dict[str, Any]]:
        """The model calls kept with this key's row, by record file name (empty: none, or no such row)."""
        with self._connect() as connection:
            if not connection.execute("SELECT 1 FROM sqlite_master WHERE name='model_calls'").fetchone():
                return {}
            found = connection.execute(
                f"SELECT name, record FROM model_calls WHERE {KEY_MATCH} ORDER BY name",
                (suite, dataset, framework, seed, float(budget)),
            ).fetchall()
        return {row["name"]: json.loads(row["record"]) for row in found}

    def rows(self, suite: str | None = None, budget: float | None = None) -> list[dict[str, Any]]:
        """Every stored row (optionally of one suite and budget), JSON columns decoded."""
        query, arguments = "SELECT * FROM results WHERE 1=1", []
        if suite is not None:
            query, arguments = query + " AND suite=?", [*arguments, suite]
        if budget is not None:
            query, arguments = query + " AND budget=?", [*arguments, float(budget)]
        with self._connect() as connection:
            found = connection.execute(query + " ORDER BY suite, budget, dataset, seed, framework", arguments)
            rows = [dict(row) for row in found.fetchall()]
        for row in rows:
            for column in JSON_COLUMNS:
                row[column] = json.loads(row[column]) if row[column] else {}
            for column in ADDED_COLUMNS:
                row.setdefault(column, None)
        return rows

    def get(self, suite: str, dataset: str, framework: str, seed: int, budget: float) -> dict[str, Any] | None:
        """The row with this key, or None."""
        for row in self.rows(suite, budget):
            if (row["dataset"], row["framework"], row["seed"]) == (dataset, framework, seed):
                return row
        return None
