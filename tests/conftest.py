"""Shared fixtures: small tables written to disk the way users hand them to automl."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

# Before numpy and scikit-learn load OpenMP: in-process fits share the cores with the other test worker, and
# OpenMP threads that spin while idle (its default) slow every process on the machine tenfold, which is why
# the sandbox's fork server sets the same (automl/sandbox/server.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd
import pytest


def load_source(source: str, path: Path, name: str) -> ModuleType:
    """Write ``source`` to ``path`` and import it as module ``name``, in-process (for template tests)."""
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def process_parents() -> dict[int, int]:
    """Every process's parent pid, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


def descendants(pid: int) -> set[int]:
    """Every living process started (directly or not) by ``pid``."""
    parents = process_parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def mixed_table(n_rows: int = 240, task: str = "classification", seed: int = 0) -> pd.DataFrame:
    """A table with numeric, categorical and boolean columns, missing values and a learnable target."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n_rows)
    colour = rng.choice(["red", "green", "blue"], size=n_rows)
    flag = rng.random(n_rows) > 0.5
    noise = rng.normal(size=n_rows)
    signal = 1.5 * size + (colour == "red") * 1.2 - flag * 0.8 + 0.3 * rng.normal(size=n_rows)
    frame = pd.DataFrame({"size": size, "colour": colour, "flag": flag, "noise": noise})
    frame.loc[rng.random(n_rows) < 0.1, "size"] = np.nan
    frame.loc[rng.random(n_rows) < 0.1, "colour"] = None
    if task == "classification":
        frame["label"] = np.where(signal > 0.3, "yes", "no")
    else:
        frame["label"] = 10 + 3 * signal
    return frame


@pytest.fixture
def classification_csv(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.csv"
    mixed_table().to_csv(path, index=False)
    return path


@pytest.fixture
def regression_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.parquet"
    mixed_table(task="regression").to_parquet(path)
    return path


@pytest.fixture
def fake_llm():
    """A running OpenAI-compatible server on 127.0.0.1 (see tests/fake_llm.py), stopped after the test."""
    from fake_llm import FakeLLMServer

    with FakeLLMServer() as server:
        yield server
