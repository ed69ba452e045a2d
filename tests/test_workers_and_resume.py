"""Dask workers (local and an external scheduler), a killed run resumed, Ctrl-C, and what makes them safe, end to
end through the CLI. Their runs tune on one validation split without bags: folds and bagging are tested in
``test_search_modes.py`` and ``test_e2e.py``, and here they would only make each trial five times dearer."""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ConfigSpace import ConfigurationSpace, Float, Integer, Normal
from smac.runhistory import StatusType, TrialInfo

from automl.optimize.pickling import NUMERIC_HYPERPARAMETERS  # importing it registers what dask relies on
from automl.optimize.smac_run import LAST_GOOD
from tests.conftest import descendants
from tests.test_search_modes import automl, read

pytestmark = pytest.mark.e2e
ONE_SPLIT = ("--cv", "1", "--no-bag")


def start(*args: str | Path, cwd: Path, **options: Any) -> subprocess.Popen:
    command = [sys.executable, "-m", "automl.cli", *map(str, args)]
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def as_a_background_job() -> None:
    """What a shell without job control does to a command started with ``&``: its own process group, and
    SIGINT ignored (which Python then inherits instead of installing its handler)."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def smac_history(run: Path) -> list[dict]:
    """SMAC's saved run history (configuration, instance, seed, budget, cost): what a killed run keeps."""
    path = next((run / "smac").glob("smac/*/runhistory.json"))
    try:
        data = json.loads(path.read_text())
    except ValueError:  # read mid-write, or a kill mid-write: SMAC's last complete copy is kept aside
        data = json.loads((path.parent / LAST_GOOD / path.name).read_text())
    return [{"key": [data["configs"][str(entry["config_id"])], entry["instance"], entry["seed"], entry["budget"]],
             "cost": entry["cost"], "finished": entry["status"] != StatusType.RUNNING.value}
            for entry in data["data"]]  # fmt: skip


def test_two_local_workers_finish_promptly_and_keep_the_walltime(tmp_path: Path) -> None:
    run = tmp_path / "run"
    began = time.monotonic()
    done = automl("run", "--data", "sklearn:breast_cancer", "--workers", "2", "--trials", "500", "--walltime", "25",
                  "--out", run, cwd=tmp_path)  # fmt: skip
    elapsed = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    result = read(run, "result.json")
    # What this checks is the walltime and a clean shutdown; of 25 s, writing, verifying, the refit's
    # reserve and the report leave the search 5-7 s on 2 cores, a handful of trials (3 on a loaded machine).
    assert result["workers"] == 2 and result["n_trials"] >= 2
    assert result["timings"]["total"] <= 25 * 1.1  # the whole run keeps its walltime within 10%
    assert elapsed - result["timings"]["total"] < 15  # interpreter start and a clean cluster shutdown, no hang
    assert len({trial["model_dir"] for trial in read(run, "trials.json")}) == result["n_trials"]


def test_an_external_dask_scheduler_runs_the_trials(tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    python = [sys.executable, "-m"]
    scheduler = subprocess.Popen([*python, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                                  "--no-dashboard", "--scheduler-file", scheduler_file], cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    worker = None
    try:
        for _ in range(100):
            if scheduler_file.is_file():
                break
            time.sleep(0.2)
        worker = subprocess.Popen([*python, "distributed.cli.dask_worker", "--scheduler-file", scheduler_file,
                                   "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        run = tmp_path / "run"
        done = automl("run", "--data", "sklearn:iris", "--dask-scheduler", scheduler_file, "--trials", "10",
                      "--walltime", "60", *ONE_SPLIT, "--out", run, cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = read(run, "result.json")
        assert result["workers"] == str(scheduler_file) and result["n_trials"] >= 5
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


@dataclass(frozen=True)
class KilledRun:
    """A two-worker run killed after a few trials, then resumed to its end (one run shared by the tests)."""

    run: Path
    before: list[dict]  # SMAC's history at the kill
    started: list[int]  # the killed run's worker, fork-server and trial processes
    changed: subprocess.CompletedProcess  # a resume that asked for another trial count
    survivors: list[int]  # those of ``started`` still alive a while after the kill
    resumed: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory: pytest.TempPathFactory) -> KilledRun:
    folder = tmp_path_factory.mktemp("killed")
    run = folder / "run"
    process = start("run", "--data", "sklearn:breast_cancer", "--workers", "2", "--trials", "12", "--walltime", "120",
                    *ONE_SPLIT, "--out", run, cwd=folder)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (list((run / "smac").glob("smac/*/runhistory.json"))
                                                   and len(smac_history(run)) >= 4):  # fmt: skip
            time.sleep(0.5)
        started = descendants(process.pid)  # dask workers, fork servers, trial processes
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    before = smac_history(run)
    changed = automl("run", "--resume", run, "--trials", "50", cwd=folder)
    deadline = time.monotonic() + 60  # the killed run's workers and sandboxes notice their parent is gone
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(1)
    survivors = [pid for pid in started if alive(pid)]
    resumed = automl("run", "--resume", run, "--workers", "2", cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    return KilledRun(run, before, started, changed, survivors, resumed)


def test_a_killed_run_with_two_workers_resumes_without_losing_a_finished_trial(killed_run: KilledRun) -> None:
    run, before = killed_run.run, killed_run.before
    assert 4 <= len(before) < 12
    assert killed_run.changed.returncode == 2 and "leave out --trials" in killed_run.changed.stderr
    assert killed_run.started, "the run had started no worker processes"
    assert killed_run.survivors == [], "processes of the killed run outlived it"
    after = smac_history(run)
    costs = {json.dumps(row["key"]): row["cost"] for row in after}
    for row in before:
        if row["finished"]:
            assert costs[json.dumps(row["key"])] == row["cost"]  # every finished trial kept, unchanged
    # Trials still running at the kill were not kept as "running" forever: the resume ran the search to its
    # limit with finished trials alone.
    assert all(row["finished"] for row in after) and len(after) == 12
    result = read(run, "result.json")
    assert result["n_trials"] == 12 and len(read(run, "trials.json")) == 12
    assert all(trial["status"] != "running" for trial in read(run, "trials.json"))
    assert "resumed" in read(run, "run.json")


def test_a_resumed_runs_bar_counts_and_ranks_the_whole_run(killed_run: KilledRun) -> None:
    run, resumed = killed_run.run, killed_run.resumed
    result, trials = read(run, "result.json"), read(run, "trials.json")
    best = min(trial["cost"] for trial in trials if trial["status"] == "success")
    bar = re.findall(r"(\d+)/(\d+) best loss ([\d.]+)", resumed.stdout)
    assert bar, resumed.stdout
    done, total, shown = bar[-1]
    assert int(done) == int(total) == result["n_trials"] == len(trials) == 12  # the trials before the kill count
    assert shown == f"{best:.4f}" == f"{result['validation_loss']:.4f}"  # the run's best, on the bar and in result.json
    assert re.search(rf"│ validation log_loss +│ {best:.4f}", resumed.stdout)  # and in the summary table


def test_resuming_a_finished_run_says_so_and_changes_nothing(killed_run: KilledRun) -> None:
    run = killed_run.run
    before = {name: (run / name).read_bytes() for name in ("result.json", "run.json", "trials.json")}
    again = automl("run", "--resume", run, cwd=run.parent)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"'{run}' has finished: there is nothing to resume, and nothing was changed"
    assert {name: (run / name).read_bytes() for name in before} == before


def test_ctrl_c_stops_gracefully_with_the_best_so_far(tmp_path: Path) -> None:
    run = tmp_path / "run"
    process = start("run", "--data", "sklearn:breast_cancer", "--trials", "200", "--walltime", "120", *ONE_SPLIT,
                    "--out", run, cwd=tmp_path)  # fmt: skip
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (list((run / "smac").glob("smac/*/runhistory.json"))
                                               and len(smac_history(run)) >= 4):  # fmt: skip
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and stderr.strip().splitlines()[-1] == "interrupted", stderr
    result = read(run, "result.json")
    assert result["interrupted"] is True and 4 <= result["n_trials"] < 200
    assert (run / "model" / "members" / "00" / "model.joblib").is_file()
    assert "stopping after the running trial" in stdout
    assert re.search(r"│ interrupted +│ yes", stdout), stdout  # the summary table says so


def test_ctrl_c_to_the_process_group_during_verification_stops_at_once(tmp_path: Path) -> None:
    run = tmp_path / "run"
    # A long walltime gives the smoke tests 18 s (3%): SIGINT lands while they run side by side.
    process = start("run", "--data", "sklearn:iris", "--trials", "5", "--walltime", "600", *ONE_SPLIT, "--out", run,
                    cwd=tmp_path, preexec_fn=as_a_background_job)  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "verifying train.py" in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    sent = time.monotonic()
    stdout, stderr = process.communicate(timeout=5)  # raises past 5 s
    latency = time.monotonic() - sent
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["interrupted"] and "optimizing" not in stdout
    assert not (run / "verify.json").exists() and not (run / "result.json").exists()
    print(f"SIGINT to exit: {latency:.2f} s")


def test_configurations_survive_a_pickle_round_trip() -> None:
    space = ConfigurationSpace()
    space.add([Integer("n", (1, 500), log=True), Float("lr", (1e-4, 1.0), log=True),
               Float("mu", (0.0, 10.0), distribution=Normal(5, 2))])  # fmt: skip
    assert NUMERIC_HYPERPARAMETERS
    for config in space.sample_configuration(20):
        assert pickle.loads(pickle.dumps(config)) == config
    assert pickle.loads(pickle.dumps(space)) == space


def test_a_state_file_broken_by_a_kill_is_restored_from_its_last_complete_copy(tmp_path: Path) -> None:
    from automl.optimize.smac_run import STATE_FILES, keep_last_good, restore_last_good

    for name in STATE_FILES:
        (tmp_path / name).write_text(json.dumps({"file": name, "trials": 3}))
    keep_last_good(tmp_path)
    (tmp_path / "runhistory.json").write_text("")  # what a SIGKILL during SMAC's plain write leaves
    assert restore_last_good(tmp_path) == ["runhistory.json"]
    assert json.loads((tmp_path / "runhistory.json").read_text()) == {"file": "runhistory.json", "trials": 3}
    assert restore_last_good(tmp_path) == []  # intact files are left alone


def test_trials_running_at_a_kill_are_dropped_so_the_resume_runs_them_again(tmp_path: Path) -> None:
    from smac.runhistory import RunHistory

    from automl.optimize.smac_run import drop_unfinished

    space = ConfigurationSpace(seed=0)
    space.add(Float("x", (0.0, 1.0)))
    first, second, third = space.sample_configuration(3)
    history = RunHistory()
    history.add(first, cost=0.5, seed=0)
    history.add_running_trial(TrialInfo(second, seed=0))  # what SMAC saves for trials a kill interrupts
    history.add(third, cost=0.25, seed=0)
    history.save(tmp_path / "runhistory.json")
    assert drop_unfinished(tmp_path) == 1
    restored = RunHistory()
    restored.load(tmp_path / "runhistory.json", space)
    assert (restored.submitted, restored.finished, restored.running) == (2, 2, 0)
    assert sorted(value.cost for value in restored.values()) == [0.25, 0.5]
    assert drop_unfinished(tmp_path) == 0  # nothing left to drop
