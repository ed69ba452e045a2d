"""``automl bench`` with a model-written framework (``llm:MODEL``): a live bench against a loopback server,
then the same bench replayed from the calls stored in its database, with the server gone and no key."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from automl.bench import frameworks as registry
from automl.bench import run_bench
from automl.bench.frameworks import ModelAccess, Outcome, Task
from automl.bench.harness import process_scratch, run_one, split
from automl.bench.lanes import pinned
from automl.bench.store import ResultStore
from automl.bench.suites import SMOKE
from automl.errors import ConfigError
from tests.fake_llm import FakeLLMServer
from tests.test_bench import guess_first_label

pytestmark = pytest.mark.e2e

REPLIES = Path(__file__).parent / "fixtures" / "llm_run"
KEY = "sk-automl-bench-test-2b7e1f9c4a6d"
FRAMEWORK = "llm:openai/fake-model"
DATASET = "breast_cancer_300"
BUDGET, TRIALS = 60.0, 4
# What a replay must reproduce: everything but the clock's columns (seconds, predict_seconds, timestamp,
# over_budget) and the error text (none here).
SAME = ("status", "main_metric", "main_value", "metrics", "info", "trials", "n_train", "n_test", "llm_calls",
        "llm_tokens", "llm_cost_usd")  # fmt: skip


def reply(name: str) -> str:
    return (REPLIES / f"{name}.txt").read_text()


@dataclass(frozen=True)
class Benches:
    live_db: Path
    live: list[dict[str, Any]]
    requests: int
    replay_db: Path
    replayed: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def benches(tmp_path_factory: pytest.TempPathFactory) -> Benches:
    """One live bench of the model-written framework on one smoke table, then its replay through the CLI.

    Both run on the last CPU: a one-core bench keeps to the first CPU it may use, which another test file's
    one-core bench, on the other test worker, holds already."""
    root = tmp_path_factory.mktemp("bench_llm")
    live_db, replay_db = root / "live.sqlite", root / "replay.sqlite"
    with pytest.MonkeyPatch.context() as patch, FakeLLMServer() as server, last_cpu():
        patch.setenv("OPENAI_API_KEY", KEY)
        server.script(reply("plan"), reply("space"), reply("scenario"), reply("train_fixed"))
        live = run_bench("smoke", BUDGET, 1, [FRAMEWORK], live_db, cores=1, datasets=[DATASET], trials=TRIALS,
                         model_access=ModelAccess(server.api_base, timeout=60))  # fmt: skip
        requests = len(server.chat_requests)
    env = {name: value for name, value in os.environ.items() if not name.endswith("_API_KEY")}
    with last_cpu():
        replayed = cli("bench", "--suite", "smoke", "--datasets", DATASET, "--budget", BUDGET, "--frameworks",
                       FRAMEWORK, "--trials", TRIALS, "--cores", 1, "--db", replay_db, "--replay", live_db,
                       cwd=root, env=env)  # fmt: skip
    return Benches(live_db, live, requests, replay_db, replayed)


def cli(*args: object, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "automl.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def last_cpu() -> contextlib.AbstractContextManager[None]:
    """This process (and what it starts) on the last CPU it may use, where the platform can pin."""
    if not hasattr(os, "sched_getaffinity"):
        return contextlib.nullcontext()
    return pinned((max(os.sched_getaffinity(0)),))


def test_a_live_bench_keeps_each_runs_model_calls_with_its_row(benches: Benches) -> None:
    (row,) = benches.live
    assert row["status"] == "ok", row["error"]
    assert row["framework"] == FRAMEWORK and row["trials"] == TRIALS and row["info"]["n_trials"] == TRIALS
    assert row["llm_calls"] == benches.requests == 4 and row["llm_tokens"] > 0
    assert row["info"]["model_wait_s"] >= 0 and row["seconds"] < BUDGET  # the wait is kept, off the fit time
    calls = ResultStore(benches.live_db).calls("smoke", DATASET, FRAMEWORK, 0, BUDGET)
    assert [record["stage"] for record in calls.values()] == ["plan", "space", "scenario", "train"]
    assert all(name.endswith(f"-{record['stage']}.json") for name, record in calls.items())
    dump = "\n".join(sqlite3.connect(benches.live_db).iterdump())
    assert KEY not in dump  # the key reached the server, never the database


def test_the_replayed_bench_gives_the_same_rows_with_no_server_and_no_key(benches: Benches) -> None:
    assert benches.replayed.returncode == 0, benches.replayed.stderr[-3000:]
    (live,) = ResultStore(benches.live_db).rows()
    (again,) = ResultStore(benches.replay_db).rows()
    assert {column: again[column] for column in SAME} == {column: live[column] for column in SAME}
    # The replayed calls are kept too, marked as replayed, so the replay can itself be replayed.
    calls = ResultStore(benches.replay_db).calls("smoke", DATASET, FRAMEWORK, 0, BUDGET)
    assert len(calls) == 4 and all(record.get("replayed_from") for record in calls.values())
    report = " ".join(benches.replayed.stdout.split())
    assert FRAMEWORK in report and f"budget {BUDGET:g} s, at most {TRIALS} trials per automl run" in report


def test_the_bench_commands_report_and_name_what_is_wrong(benches: Benches, tmp_path: Path) -> None:
    """``automl bench`` printed its rank table (above); ``automl bench report`` writes the table and plots of a
    database, and a wrong name is one line."""
    assert (benches.replay_db.parent / "ranks.md").is_file()  # beside --db, as the bench command writes it
    report = cli("bench", "report", "--db", benches.replay_db, "--out", tmp_path / "out", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "mean rank" in report.stdout.lower() and any((tmp_path / "out").glob("*.png"))
    unknown = cli("bench", "--suite", "nope", "--db", tmp_path / "b.sqlite", cwd=tmp_path)
    said = " ".join(unknown.stderr.split())
    assert unknown.returncode == 2 and "choose one of smoke" in said and "Traceback" not in said


def test_a_replay_needs_stored_calls_for_every_model_run_and_another_db(benches: Benches, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with pytest.raises(ConfigError, match=r"has no model calls for llm:openai/other on smoke/breast_cancer_300 seed 0"):
        run_bench("smoke", BUDGET, 1, ["llm:openai/other"], other, cores=1, datasets=[DATASET], trials=TRIALS,
                  replay=benches.live_db)  # fmt: skip
    with pytest.raises(ConfigError, match="is also the --db"):
        run_bench("smoke", BUDGET, 1, [FRAMEWORK], benches.live_db, 1, datasets=[DATASET], replay=benches.live_db)
    with pytest.raises(ConfigError, match="no such benchmark database"):
        run_bench("smoke", BUDGET, 1, [FRAMEWORK], tmp_path / "new.sqlite", 1, datasets=[DATASET],
                  replay=tmp_path / "missing.sqlite")  # fmt: skip
    assert not ResultStore(other).rows() and not (tmp_path / "new.sqlite").exists()


def test_trial_capped_and_uncapped_rows_do_not_mix(benches: Benches) -> None:
    with pytest.raises(ConfigError, match=r"holds smoke at 60 s with --trials 4; this bench asks for no trial cap"):
        run_bench("smoke", BUDGET, 1, ["default"], benches.live_db, 1, datasets=[DATASET])


def test_model_framework_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'llm:' names no model: write llm:MODEL"):
        run_bench("smoke", 1, 1, ["llm:"], tmp_path / "b.sqlite", 1)
    with pytest.raises(ConfigError, match=r"or llm:MODEL for a model-written run"):
        run_bench("smoke", 1, 1, ["gpt"], tmp_path / "b.sqlite", 1)


def test_time_spent_waiting_on_the_model_is_not_charged_to_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def waits_a_second(task: Task) -> Outcome:
        time.sleep(1.1)  # 1 s of it on the model's answer
        return dataclasses.replace(guess_first_label(task), fit_seconds=1.1, waited_s=1.0)

    monkeypatch.setitem(registry.FRAMEWORKS, "waits", waits_a_second)
    dataset = next(candidate for candidate in SMOKE if candidate.name == DATASET)
    X_train, X_test, y_train, y_test = split(dataset, 0)
    task = Task(X_train, y_train, X_test, dataset.task, 1.0, 0, 1, process_scratch(), "waits")
    row = run_one("waits", task, y_test)
    assert row["status"] == "ok" and row["seconds"] == pytest.approx(0.1)
    assert -0.01 <= row["predict_seconds"] < 0.5  # the whole call took over a second: the wait is off both
