"""Whole runs written by a model: a loopback OpenAI-compatible server, litellm's real client, the CLI.

The server's replies are realistic (chatty, fenced, one train.py that fails its checks and a repair),
so these tests cover extraction, the repair loop, records, replay, fallback and secrets end to end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automl.writers.extract import extract_code
from tests.fake_llm import FakeLLMServer, invalid_key

pytestmark = pytest.mark.e2e

REPLIES = Path(__file__).parent / "fixtures" / "llm_run"
KEY = "sk-automl-test-7f3c9a1e5d2b8c4f"
MODEL = "openai/fake-model"


def reply(name: str) -> str:
    return (REPLIES / f"{name}.txt").read_text()


def automl(*args: str | Path, cwd: Path, key: bool = True) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}
    if key:
        env["OPENAI_API_KEY"] = KEY
    command = [sys.executable, "-m", "automl.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def model_run(server: FakeLLMServer, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """A model-written run on wine, kept short: one validation split (not the small-data folds), no bags."""
    return automl("run", "--data", "sklearn:wine", "--llm", MODEL, "--api-base", server.api_base, "--trials", "8",
                  "--walltime", "300", "--cv", "1", "--no-bag", "--out", out, *extra, cwd=out.parent)  # fmt: skip


def files_containing(root: Path, text: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


def test_a_model_run_repairs_train_records_every_call_and_replays_identically(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with FakeLLMServer() as server:
        server.script(reply("plan"), reply("space"), reply("scenario"), reply("train_broken"), reply("train_fixed"))
        done = model_run(server, run)
        requests = server.chat_requests
    assert done.returncode == 0, done.stderr

    # The repaired train.py is what runs; the rejected one is kept with its errors.
    assert (run / "train.py").read_text() == extract_code(reply("train_fixed"), "train")
    assert (run / "attempts" / "train-1.py").read_text() == extract_code(reply("train_broken"), "train")
    errors = (run / "attempts" / "train-1.errors.txt").read_text()
    assert "default_configuration" in errors and "n_estimators" in errors and "train.py" in errors
    assert json.loads((run / "verify.json").read_text())["accepted"]
    assert (run / "config_space.py").is_file()
    assert set(json.loads((run / "config_space.json").read_text())["hyperparameters"][0]) >= {"name", "type"}

    # Every call is recorded, in order, and the repair request carried the draft and its errors.
    records = [json.loads(path.read_text()) for path in sorted((run / "llm").glob("*.json"))]
    assert [(r["stage"], r["attempt"]) for r in records] == [
        ("plan", 1), ("space", 1), ("scenario", 1), ("train", 1), ("train", 2)]  # fmt: skip
    assert len(requests) == 5
    assert all(r["model"] == MODEL and r["tokens"]["total"] > 0 and r["latency_s"] >= 0 for r in records)
    repair = records[-1]["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert "RandomForestClassifier(n_estimators=n_trees" in repair[2]["content"]
    assert "n_estimators" in repair[3]["content"] and "default_configuration" in repair[3]["content"]
    assert "NO try/except" in repair[1]["content"]  # the whole contract travels with the repair

    result = json.loads((run / "result.json").read_text())
    assert result["writer"] == f"llm:{MODEL}" and result["fallback"] is None
    assert result["rejected_drafts"] == 1
    assert result["llm"]["calls"] == 5 and not result["llm"]["replayed"]
    notes = " ".join(result["scenario_notes"])
    assert "n_trials" in notes and "crash_cost" in notes  # the model asked for more than the user allowed
    scenario = json.loads((run / "scenario.json").read_text())
    assert scenario["n_trials"] == 8 and scenario["trial_walltime_limit"] == 30 and scenario["crash_cost"] > 1
    assert result["test_metrics"]["accuracy"] > 0.85

    # The plan chose the metric (no --metric): that loss is the one every prompt, file and line names.
    assert json.loads((run / "plan.json").read_text())["metric"] == "balanced_accuracy"
    assert (result["metric"], result["loss"]) == ("balanced_accuracy", "1 - balanced_accuracy")
    assert "balanced_accuracy" in result["test_metrics"]
    scenario_request, train_request = records[2]["messages"][1]["content"], records[3]["messages"][1]["content"]
    assert "`1 - balanced_accuracy`" in scenario_request and "the loss is `1 - balanced_accuracy`" in train_request
    assert "metric: balanced_accuracy, the plan's choice" in done.stdout
    assert "balanced_accuracy" in (run / "report.html").read_text()

    # The key reached the server but no file of the run, and no output.
    assert all(request.headers.get("authorization") == f"Bearer {KEY}" for request in requests)
    assert files_containing(run, KEY) == []
    assert KEY not in done.stdout + done.stderr

    # With the server gone and no key, the records alone reproduce the run.
    again = tmp_path / "again"
    replayed = automl("run", "--replay", run, "--out", again, cwd=tmp_path, key=False)
    assert replayed.returncode == 0, replayed.stderr
    for name in ("train.py", "config_space.json", "plan.json", "scenario.json"):
        assert (again / name).read_text() == (run / name).read_text(), name
    second = json.loads((again / "result.json").read_text())
    for field in ("incumbent", "validation_loss", "test_metrics", "n_trials", "writer"):
        assert second[field] == result[field], field
    assert [t["config"] for t in json.loads((again / "trials.json").read_text())] == [
        t["config"] for t in json.loads((run / "trials.json").read_text())
    ]
    assert second["llm"]["replayed"] and second["llm"]["calls"] == 5


def test_replay_names_the_stage_whose_record_is_missing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with FakeLLMServer() as server:
        server.script(reply("plan"), "I am not able to help with that.", reply("space"), reply("scenario"))
        server.script(reply("train_fixed"))
        assert model_run(server, run).returncode == 0
    assert (run / "attempts" / "space-1.reply.txt").read_text() == "I am not able to help with that."
    next(iter(sorted((run / "llm").glob("*-train.json")))).unlink()
    failed = automl("run", "--replay", run, "--out", tmp_path / "again", cwd=tmp_path, key=False)
    assert failed.returncode == 2
    assert "stage 'train'" in failed.stderr and "Traceback" not in failed.stderr


def test_when_attempts_run_out_the_run_stops_or_falls_back_to_offline(tmp_path: Path) -> None:
    refusal = "Sorry, I can't produce that plan."
    with FakeLLMServer() as server:
        server.script(refusal, refusal)
        stopped = model_run(server, tmp_path / "stopped", "--attempts", "2")
        assert stopped.returncode == 2
        message = stopped.stderr.strip()
        assert "plan was rejected 2 times" in message and "--fallback offline" in message
        assert "Traceback" not in message and len(message.splitlines()) <= 3  # one line, wrapped at most
        assert (tmp_path / "stopped" / "attempts" / "plan-2.reply.txt").read_text() == refusal

        server.script(refusal)
        fell_back = model_run(server, tmp_path / "fell", "--attempts", "1", "--fallback", "offline")
    assert fell_back.returncode == 0, fell_back.stderr
    result = json.loads((tmp_path / "fell" / "result.json").read_text())
    assert result["writer"] == "offline"
    assert result["fallback"]["from"] == f"llm:{MODEL}" and "plan" in result["fallback"]["reason"]
    assert "fallback" in fell_back.stdout


def test_a_rejected_key_is_one_line_without_the_key(tmp_path: Path) -> None:
    with FakeLLMServer() as server:
        server.script(invalid_key())
        done = model_run(server, tmp_path / "run")
    assert done.returncode == 2
    assert "API key" in done.stderr and "OPENAI_API_KEY" in done.stderr
    assert KEY not in done.stderr and "Traceback" not in done.stderr
    assert files_containing(tmp_path / "run", KEY) == []
