"""automl bench's report: the Friedman test and Nemenyi critical difference, and the model's token and cost columns."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import friedmanchisquare

from automl.bench import bench_report, run_bench
from automl.bench import frameworks as registry
from automl.bench.frameworks import Outcome, Task
from automl.bench.metrics import Predictions
from automl.bench.ranking import rank, rank_markdown
from automl.bench.stats import significance, significance_markdown
from automl.bench.store import ResultStore
from automl.result import ModelUsage

# Ranks of frameworks a, b, c on five datasets (RMSE = the rank, so lower is better and the ranks are these).
RANKS = [(1, 2, 3), (1, 2, 3), (1, 3, 2), (2, 1, 3), (1, 2, 3)]
Q_005_K3 = 2.343  # the Nemenyi test's q at alpha 0.05 for k = 3 (Demšar 2006, table 5a)


def _row(dataset: str, framework: str, value: float, seed: int = 0, **extra: Any) -> dict[str, Any]:
    return {"dataset": dataset, "seed": seed, "framework": framework, "main_metric": "rmse", "main_value": value,
            "status": "ok", "seconds": 1.0, "over_budget": 0, "task": "regression", "r2": 0.0, **extra}  # fmt: skip


def _rows(ranks: list[tuple[int, ...]], names: str = "abc") -> list[dict[str, Any]]:
    return [
        _row(f"d{i}", name, float(value))
        for i, order in enumerate(ranks)
        for name, value in zip(names, order, strict=True)
    ]


def test_friedman_and_nemenyi_match_the_hand_computed_example() -> None:
    rows = _rows(RANKS)
    found = significance(rows, rank(rows))
    assert found.blocks == 5 and found.mean_ranks == {"a": 1.2, "b": 2.0, "c": 2.8}
    # chi2_F = 12 N / (k (k+1)) * (sum R_j^2 - k (k+1)^2 / 4) = 5 * (1.44 + 4 + 7.84 - 12) = 6.4
    assert found.statistic == pytest.approx(6.4)
    by_scipy = friedmanchisquare(*np.asarray(RANKS, dtype=float).T)
    assert found.statistic == pytest.approx(by_scipy.statistic) and found.p_value == pytest.approx(by_scipy.pvalue)
    assert found.p_value == pytest.approx(math.exp(-6.4 / 2))  # chi2 with k - 1 = 2 degrees of freedom
    assert found.critical_difference == pytest.approx(Q_005_K3 * math.sqrt(3 * 4 / (6 * 5)), abs=1e-3)  # 1.482
    # a-b differ by 0.8 and b-c by 0.8 (< CD), a-c by 1.6 (>= CD): two overlapping groups.
    assert found.groups == (("a", "b"), ("b", "c")) and found.like_the_best == ("b",)
    text = significance_markdown(found)
    assert "Friedman test over 5 datasets" in text and "χ² = 6.40, p = 0.04076" in text
    assert "CD = 1.48 (k = 3, N = 5)" in text and "Not significantly different from the best (a): b." in text


def test_seeds_are_averaged_into_one_block_per_dataset() -> None:
    rows = _rows(RANKS)
    # d0's second seed reverses a and c; averaged over its seeds, d0's RMSEs are a 2, b 2, c 2: a three-way tie.
    rows += [_row("d0", "a", 3.0, seed=1), _row("d0", "b", 2.0, seed=1), _row("d0", "c", 1.0, seed=1)]
    found = significance(rows, rank(rows))
    assert found.blocks == 5
    assert found.mean_ranks == pytest.approx({"a": (2 + 1 + 1 + 2 + 1) / 5, "b": 2.0, "c": (2 + 3 + 2 + 3 + 3) / 5})


def test_without_a_significant_friedman_test_everyone_is_like_the_best() -> None:
    rows = _rows([(1, 2, 3), (3, 2, 1), (2, 1, 3)])
    found = significance(rows, rank(rows))
    assert found.p_value is not None and found.p_value > 0.05
    assert found.groups == (tuple(found.mean_ranks),) and len(found.like_the_best) == 2
    assert "No significant difference (p ≥ 0.05)" in significance_markdown(found)


@pytest.mark.parametrize(
    ("rows", "here"),
    [
        (_rows(RANKS[:1]), "(here 3 and 1)"),  # one dataset
        (_rows([order[:2] for order in RANKS], names="ab"), "(here 2 and 5)"),  # two: scipy's test needs three
        ([], "(here 0 and 0)"),
    ],
)
def test_too_few_blocks_or_frameworks_is_a_note(rows: list[dict[str, Any]], here: str) -> None:
    found = significance(rows, rank(rows))
    assert found.statistic is None and found.critical_difference is None and found.groups == ()
    assert significance_markdown(found) == (
        f"Friedman test skipped: it needs at least 3 ranked frameworks and 2 datasets every one has a result on {here}."
    )


def test_ties_everywhere_is_a_note() -> None:
    rows = _rows([(1, 1, 1), (2, 2, 2)])
    assert significance_markdown(significance(rows, rank(rows))) == (
        "Friedman test skipped: every framework ties on every dataset."
    )


def test_the_report_has_the_test_and_its_plot(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "bench.db")
    base = {"suite": "mine", "budget": 5.0, "cores": 1, "versions": {}, "metrics": {}, "info": {}, "error": "",
            "timestamp": "2026-01-01T00:00:00+00:00"}  # fmt: skip
    for row in _rows(RANKS):
        store.put({**base, **row})
    text, plots = bench_report(tmp_path / "bench.db", tmp_path / "out")
    assert "| framework | mean rank |" in text and "CD = 1.48" in text and "model calls" not in text
    assert [path.name for path in plots] == ["scores.png", "ranks.png", "critical_difference.png"]
    assert plots[-1].read_bytes()[:4] == b"\x89PNG"


def test_token_columns_appear_only_when_a_framework_used_a_model() -> None:
    rows = _rows(RANKS[:2])
    assert "model calls" not in rank_markdown(rank(rows))
    usage = {"llm_calls": 4, "llm_tokens": 1500, "llm_cost_usd": 0.0125}
    rows = [{**row, **usage} if row["framework"] == "b" else row for row in rows]
    text = rank_markdown(rank(rows))
    assert "| over budget | model calls | tokens | cost USD |" in text
    assert "| b | 2.00 | 0 | 0 | 2 | 1.0 | 0 | 8 | 3000 | 0.0250 |" in text  # summed over its two runs
    assert "| a | 1.00 | 2 | 0 | 2 | 1.0 | 0 | — | — | — |" in text


def _with_model(task: Task) -> Outcome:
    """A fast stand-in framework that says it asked a model."""
    values = np.full(len(task.X_test), float(np.mean(task.y_train)))
    return Outcome(Predictions(values=values), 0.01, {}, ModelUsage("m", 3, 900, 0.002, 1.0, False))


def _without_model(task: Task) -> Outcome:
    return Outcome(Predictions(values=np.full(len(task.X_test), float(task.y_train[0]))), 0.01, {})


def test_the_harness_keeps_a_models_usage_per_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.FRAMEWORKS, "asks", _with_model)
    monkeypatch.setitem(registry.FRAMEWORKS, "plain", _without_model)
    db = tmp_path / "bench.db"
    run_bench("smoke", 1.0, 1, ["asks", "plain"], db, cores=1, datasets=["regression_300"])
    stored = {row["framework"]: row for row in ResultStore(db).rows()}
    columns = ("llm_calls", "llm_tokens", "llm_cost_usd")
    assert [stored["asks"][column] for column in columns] == [3, 900, 0.002]
    assert [stored["plain"][column] for column in columns] == [None, None, None]


def test_a_database_from_before_the_token_columns_still_resumes_and_reports(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    shutil.copy(Path(__file__).parents[1] / "docs" / "benchmark" / "bench.db", db)
    before = db.read_bytes()
    rows = ResultStore(db).rows()  # read as empty, the file unchanged
    assert rows and all(row["llm_calls"] is None for row in rows) and db.read_bytes() == before
    assert "model calls" not in rank_markdown(rank(rows))
    ResultStore(db).put({**rows[0], "framework": "asks", "llm_calls": 2, "llm_tokens": 10, "llm_cost_usd": None})
    assert ResultStore(db).get(rows[0]["suite"], rows[0]["dataset"], "asks", 0, rows[0]["budget"])["llm_calls"] == 2
