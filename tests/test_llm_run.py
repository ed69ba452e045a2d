"""Whole runs written by a model: a loopback OpenAI-compatible server, litellm's real client, the CLI.

The server's replies are realistic (chatty, fenced, one train.py that fails its checks and a repair),
so these tests cover extraction, the repair loop, records, replay, fallback and secrets end to end.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ConfigSpace import Configuration, ConfigurationSpace
from sklearn.datasets import load_wine

from automl.writers.extract import extract_code
from automl.writers.space import load_space
from tests.fake_llm import FakeLLMServer, invalid_key

pytestmark = pytest.mark.e2e

REPLIES = Path(__file__).parent / "fixtures" / "llm_run"
KEY = "sk-automl-test-7f3c9a1e5d2b8c4f"
MODEL = "openai/fake-model"
ESTIMATOR_SPACE = Path(__file__).parent / "fixtures" / "estimator_checks" / "linear_classification.json"


def reply(name: str) -> str:
    return (REPLIES / f"{name}.txt").read_text()


def automl(*args: str | Path, cwd: Path, key: bool = True) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "OPENAI_API_KEY"}
    if key:
        env["OPENAI_API_KEY"] = KEY
    command = [sys.executable, "-m", "automl.cli", *map(str, args)]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def model_run(server: FakeLLMServer, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """A model-written run on wine, kept short: one validation split (not the small-data folds), no bags, and a
    minute of walltime (verification's smoke tests get 3% of it)."""
    return automl("run", "--data", "sklearn:wine", "--llm", MODEL, "--api-base", server.api_base, "--trials", "8",
                  "--walltime", "60", "--cv", "1", "--no-bag", "--out", out, *extra, cwd=out.parent)  # fmt: skip


def files_containing(root: Path, text: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


REFUSAL = "I am not able to help with that."


@dataclass(frozen=True)
class ModelRun:
    """One model-written run shared by the tests that inspect it: a refused space and a broken train.py, each
    answered again, two rounds of search with a revision between them, then a replay of its records with
    the server gone and no key."""

    run: Path
    done: subprocess.CompletedProcess
    requests: list
    again: Path
    replayed: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def model_written(tmp_path_factory: pytest.TempPathFactory) -> ModelRun:
    root = tmp_path_factory.mktemp("model_run")
    run = root / "run"
    with FakeLLMServer() as server:
        server.script(reply("plan"), REFUSAL, reply("space"), reply("scenario"), reply("train_broken"),
                      reply("train_fixed"), reply("revise"))  # fmt: skip
        done = model_run(server, run, "--rounds", "2")
        requests = server.chat_requests
    again = root / "again"
    replayed = automl("run", "--replay", run, "--out", again, cwd=root, key=False)
    return ModelRun(run, done, requests, again, replayed)


def test_a_model_run_repairs_train_records_every_call_and_replays_identically(model_written: ModelRun) -> None:
    run, done, requests = model_written.run, model_written.done, model_written.requests
    assert done.returncode == 0, done.stderr

    # The repaired train.py is what runs; the rejected one is kept with its errors, the refusal as it came.
    assert (run / "train.py").read_text() == extract_code(reply("train_fixed"), "train")
    assert (run / "attempts" / "train-1.py").read_text() == extract_code(reply("train_broken"), "train")
    assert (run / "attempts" / "space-1.reply.txt").read_text() == REFUSAL
    errors = (run / "attempts" / "train-1.errors.txt").read_text()
    assert "default_configuration" in errors and "n_estimators" in errors and "train.py" in errors
    assert json.loads((run / "verify.json").read_text())["accepted"]
    assert (run / "config_space.py").is_file()
    assert set(json.loads((run / "config_space.json").read_text())["hyperparameters"][0]) >= {"name", "type"}

    # Every call is recorded, in order, and the repair request carried the draft and its errors.
    records = [json.loads(path.read_text()) for path in sorted((run / "llm").glob("*.json"))]
    assert [(r["stage"], r["attempt"]) for r in records] == [
        ("plan", 1), ("space", 1), ("space", 2), ("scenario", 1), ("train", 1), ("train", 2),
        ("revise", 1)]  # fmt: skip
    assert len(requests) == 7
    assert all(r["model"] == MODEL and r["tokens"]["total"] > 0 and r["latency_s"] >= 0 for r in records)
    repair = records[5]["messages"]
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert "RandomForestClassifier(n_estimators=n_trees" in repair[2]["content"]
    assert "n_estimators" in repair[3]["content"] and "default_configuration" in repair[3]["content"]
    assert "NO try/except" in repair[1]["content"]  # the whole contract travels with the repair

    result = json.loads((run / "result.json").read_text())
    assert result["writer"] == f"llm:{MODEL}" and result["fallback"] is None
    assert result["rejected_drafts"] == 2
    assert result["llm"]["calls"] == 7 and not result["llm"]["replayed"]
    notes = " ".join(result["scenario_notes"])
    assert "n_trials" in notes and "crash_cost" in notes  # the model asked for more than the user allowed
    scenario = json.loads((run / "scenario.json").read_text())
    assert scenario["n_trials"] == 8 and scenario["trial_walltime_limit"] == 30 and scenario["crash_cost"] > 1
    # The model's starting points: the valid one runs right after the default, the other is dropped, saying why.
    assert scenario["initial_configurations"] == [{"algorithm": "logreg", "logreg_C": 3.0}]
    assert "dropped proposed configuration 2 {'algorithm': 'svm'" in notes and "'svm'" in done.stdout
    trials = json.loads((run / "trials.json").read_text())
    assert [t["config"] for t in trials[:2]] == [{"algorithm": "rf", "rf_max_features": 0.5, "rf_n_estimators": 100},
                                                 {"algorithm": "logreg", "logreg_C": 3.0}]  # fmt: skip
    assert result["test_metrics"]["accuracy"] > 0.85

    # The plan chose the metric (no --metric): that loss is the one every prompt, file and line names.
    assert json.loads((run / "plan.json").read_text())["metric"] == "balanced_accuracy"
    assert (result["metric"], result["loss"]) == ("balanced_accuracy", "1 - balanced_accuracy")
    assert "balanced_accuracy" in result["test_metrics"]
    scenario_request, train_request = records[3]["messages"][1]["content"], records[4]["messages"][1]["content"]
    assert "`1 - balanced_accuracy`" in scenario_request and "the loss is `1 - balanced_accuracy`" in train_request
    assert "metric: balanced_accuracy, the plan's choice" in done.stdout
    assert "balanced_accuracy" in (run / "report.html").read_text()

    # The key reached the server but no file of the run, and no output.
    assert all(request.headers.get("authorization") == f"Bearer {KEY}" for request in requests)
    assert files_containing(run, KEY) == []
    assert KEY not in done.stdout + done.stderr

    # With the server gone and no key, the records alone reproduce the run.
    again, replayed = model_written.again, model_written.replayed
    assert replayed.returncode == 0, replayed.stderr
    for name in ("train.py", "config_space.json", "plan.json", "scenario.json"):
        assert (again / name).read_text() == (run / name).read_text(), name
    second = json.loads((again / "result.json").read_text())
    for field in ("incumbent", "validation_loss", "test_metrics", "n_trials", "writer"):
        assert second[field] == result[field], field
    assert [t["config"] for t in json.loads((again / "trials.json").read_text())] == [
        t["config"] for t in json.loads((run / "trials.json").read_text())
    ]
    assert second["llm"]["replayed"] and second["llm"]["calls"] == 7


def test_round_two_narrows_the_space_and_starts_from_round_ones_valid_trials(model_written: ModelRun) -> None:
    run, again = model_written.run, model_written.again
    result = json.loads((run / "result.json").read_text())
    first, second = result["rounds"]
    assert (first["round"], first["carried_over"], first["revision"]) == (1, 0, "")
    assert second["round"] == 2 and "revised the space and train.py" in second["revision"]
    assert first["trials"] + second["trials"] == result["n_trials"] == 8  # --trials is the whole run's cap

    # The model was shown the search and its code, and answered with a narrower space and a new train.py.
    revise = json.loads(sorted((run / "llm").glob("*-revise.json"))[0].read_text())["messages"][1]["content"]
    assert '"by_algorithm"' in revise and '"top_configurations"' in revise and "def train(cfg" in revise
    narrowed = load_space(run / "rounds" / "2" / "config_space.json")
    assert narrowed["logreg_C"].lower == pytest.approx(2.0) and narrowed["rf_max_features"].lower == pytest.approx(0.3)
    assert (run / "rounds" / "2" / "train.py").read_text() == extract_code(reply("revise"), "train")
    revision = json.loads((run / "rounds" / "2" / "revision.json").read_text())
    assert revision["account"]["trials"]["finished"] == first["trials"]

    # Round 2's SMAC was told exactly the round-1 trials valid in the narrowed space, before its own.
    trials = json.loads((run / "trials.json").read_text())
    round_one = [t["config"] for t in trials if t["round"] == 1]
    valid = [config for config in round_one if valid_in(narrowed, config)]
    history = json.loads((run / "smac" / "round-2" / "0" / "runhistory.json").read_text())
    told = [history["configs"][str(row["config_id"])] for row in history["data"]]
    assert len(round_one) > len(valid) == second["carried_over"] >= 2 and told[: len(valid)] == valid
    assert (
        f"{len(round_one) - len(valid)} of {len(round_one)} earlier trials are not valid" in model_written.done.stdout
    )
    round_two = [t for t in trials if t["round"] == 2]
    assert len(round_two) == second["trials"] and all(valid_in(narrowed, t["config"]) for t in round_two)
    assert all(t["model_dir"].startswith("r2-") for t in round_two)
    members = json.loads((run / "model" / "metadata.json").read_text())["members"]
    assert {member["round"] for member in members} <= {1, 2}

    # The replay takes the same two rounds.
    assert (again / "rounds" / "2" / "train.py").read_text() == (run / "rounds" / "2" / "train.py").read_text()
    assert json.loads((again / "result.json").read_text())["rounds"][1]["carried_over"] == second["carried_over"]


def test_a_model_can_start_from_the_offline_search_and_revise_it(tmp_path: Path) -> None:
    """--start offline: round 1 is the offline writer's (no model call), the model's one call revises it."""
    run = tmp_path / "run"
    with FakeLLMServer() as server:
        server.script(reply("revise_offline"))
        done = model_run(server, run, "--start", "offline", "--rounds", "2", "--trials", "10")
        requests = server.chat_requests
    assert done.returncode == 0, done.stderr
    assert len(requests) == 1 and f"offline writer; llm:{MODEL} revises them" in " ".join(done.stdout.split())
    revise = requests[0].json["messages"][1]["content"]
    assert "lgbm:learning_rate" in revise and "def train(" in revise  # the offline space and train.py, shown
    result = json.loads((run / "result.json").read_text())
    assert result["writer"] == f"llm:{MODEL}" and result["llm"]["calls"] == 1
    second = result["rounds"][1]
    assert "algorithm: dropped" in second["revision"] and second["carried_over"] >= 1
    assert (run / "rounds" / "2" / "train.py").read_text() == (run / "train.py").read_text()  # the offline one
    families = {t["config"]["algorithm"] for t in json.loads((run / "trials.json").read_text()) if t["round"] == 2}
    assert families <= {"lgbm", "rf"} and result["test_metrics"]["accuracy"] > 0.85


def valid_in(space: ConfigurationSpace, values: dict) -> bool:
    try:
        Configuration(space, values=values).check_valid_configuration()
    except (ValueError, TypeError):
        return False
    return True


def test_replay_names_the_stage_whose_record_is_missing(model_written: ModelRun, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(model_written.run / "llm", run / "llm")  # the records are all a replay reads
    shutil.copy(model_written.run / "run.json", run / "run.json")
    next(iter(sorted((run / "llm").glob("*-train.json")))).unlink()
    failed = automl("run", "--replay", run, "--out", tmp_path / "again", cwd=tmp_path, key=False)
    assert failed.returncode == 2
    assert "stage 'train'" in failed.stderr and "Traceback" not in failed.stderr


def hostile_train(targets: dict[str, str]) -> str:
    """The accepted train.py of these runs, made to read ``targets`` first (as a model persuaded by a hostile
    table would), print what it got and keep it in ``model_dir``; its errors are caught, so nothing but the
    sandbox stands between it and the files."""
    code = extract_code(reply("train_fixed"), "train")
    peek = ("\n\nTARGETS = " + repr(targets) + "\n\n\ndef _peek(path):\n    try:\n"
            "        with open(path) as handle:\n            return handle.read()\n"
            "    except OSError as error:\n        return type(error).__name__\n")  # fmt: skip
    steal = ("    stolen = {name: _peek(path) for name, path in TARGETS.items()}\n    print('found', stolen)\n"
             "    if model_dir:\n        with open(os.path.join(model_dir, 'stolen.txt'), 'w') as handle:\n"
             "            handle.write(repr(stolen))\n")  # fmt: skip
    signature = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n"
    code = code.replace(signature, signature + steal).replace("\n\n\ndef train(", peek + "\n\ndef train(")
    return f"Here is train.py:\n\n```python\n{code}```\n"


def test_a_model_written_train_that_reads_the_users_files_gets_nothing_out(tmp_path: Path) -> None:
    """The bar of the read confinement: a token in a credentials file of a home directory and the user's
    --test-data file, both named in the code, reach neither the run directory nor the console. The run has
    two rounds and the model refuses to revise: the second round goes on with the first one's code."""
    token = "ghp-planted-hostile-51f0c2d9e8"
    credentials = tmp_path / "home" / ".config" / "app" / "credentials"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(f"token = {token}\n")
    table = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=0)  # wine is sorted by class
    table.iloc[:140].to_csv(tmp_path / "train.csv", index=False)
    table.iloc[140:].to_csv(tmp_path / "test.csv", index=False)
    targets = {"credentials": str(credentials), "test_data": str(tmp_path / "test.csv")}
    run = tmp_path / "run"
    with FakeLLMServer() as server:
        server.script(reply("plan"), reply("space"), reply("scenario"), hostile_train(targets), *[REFUSAL] * 3)
        done = automl("run", "--data", tmp_path / "train.csv", "--target", "target", "--test-data",
                      tmp_path / "test.csv", "--llm", MODEL, "--api-base", server.api_base, "--trials", "4",
                      "--walltime", "60", "--cv", "1", "--no-bag", "--rounds", "2", "--out", run,
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The model refused every revision: round 2 went on with round 1's space and train.py, the refusals kept.
    revision = json.loads((run / "result.json").read_text())["rounds"][1]["revision"]
    assert revision.startswith("kept round 1's space and train.py: the revision failed"), revision
    assert (run / "attempts" / "round-2" / "revise-3.reply.txt").read_text() == REFUSAL
    assert (run / "rounds" / "2" / "train.py").read_text() == (run / "train.py").read_text()
    logs = [path.read_text() for path in run.rglob("trial.log")]
    assert any("found {" in log for log in logs)  # the code did run, and printed what it found
    kept = [ast.literal_eval(path.read_text()) for path in run.rglob("stolen.txt")]
    assert kept and all(set(found.values()) <= {"PermissionError", "FileNotFoundError"} for found in kept), kept
    assert files_containing(run, token) == [] and token not in done.stdout + done.stderr
    test_row = (tmp_path / "test.csv").read_text().splitlines()[1]  # a whole row of the held-out labels
    assert files_containing(run, test_row) == []


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
        # The offline writer's search is tested elsewhere: here it runs two trials of a one-family space.
        fell_back = model_run(server, tmp_path / "fell", "--attempts", "1", "--fallback", "offline", "--trials", "2",
                              "--space", str(ESTIMATOR_SPACE))  # fmt: skip
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
