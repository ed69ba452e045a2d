"""Hostile train() functions: each attack is blocked or contained, and nothing outside the run changes.

Every test writes a train.py that attacks in one way, runs it through the sandbox like a trial,
and checks the outcome, the machine (files, connections, processes) and that the sandbox still
serves the next trial.
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from ConfigSpace import ConfigurationSpace, Float

from automl.sandbox import Limits, TrialOutcome, confine, run_train
from automl.sandbox.readable import server_view
from automl.sandbox.server import bubblewrap_prefix, bubblewrap_works
from tests.conftest import descendants

PRELUDE = "import os, sys, time, signal, socket, subprocess, threading\nimport numpy as np\n"
SIGNATURE = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n"
HONEST = SIGNATURE + "    return {'loss': 0.5}\n"
ROOT = str(Path(__file__).resolve().parents[1])  # automl's checkout, for a bare interpreter's imports


class Arena:
    """A run directory with a space and data, and an 'outside' folder that must stay untouched."""

    def __init__(self, root: Path) -> None:
        self.run = root / "run"
        self.outside = root / "outside"
        self.run.mkdir()
        self.outside.mkdir()
        (self.outside / "precious.txt").write_text("keep me")
        space = ConfigurationSpace()
        space.add(Float("x", (0.0, 1.0), default=0.5))
        space.to_json(self.run / "space.json")
        joblib.dump({"X": pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "y": np.array([0, 1, 0])}, self.run / "data.joblib")
        self.count = 0

    def trial(self, source: str, limits: Limits | None = None) -> TrialOutcome:
        self.count += 1
        train_path = self.run / f"train_{self.count}.py"
        train_path.write_text(PRELUDE + source)
        model_dir = self.run / "trials" / str(self.count)
        limits = limits or Limits(walltime_s=15, memory_mb=2048)
        return run_train(train_path, self.run / "space.json", self.run / "data.joblib", {"x": 0.5}, 0, None,
                         model_dir, limits)  # fmt: skip

    def attack(self, lines: str) -> TrialOutcome:
        """A trial whose train() runs ``lines`` (which may use OUT, the outside folder) then returns."""
        return self.trial(f"OUT = {str(self.outside)!r}\n" + SIGNATURE + lines + "    return {'loss': 0.0}\n")

    def untouched(self) -> bool:
        return sorted(p.name for p in self.outside.iterdir()) == ["precious.txt"] and (
            (self.outside / "precious.txt").read_text() == "keep me"
        )

    def still_serves(self) -> bool:
        return self.trial(HONEST).result == {"loss": 0.5}


@pytest.fixture
def arena(tmp_path: Path) -> Arena:
    return Arena(tmp_path)


@pytest.mark.parametrize(
    "attack",
    [
        "    subprocess.run(['touch', OUT + '/made_by_program'])\n",
        "    os.system('touch ' + OUT + '/made_by_shell')\n",
        "    os.execv('/bin/sh', ['sh', '-c', 'touch ' + OUT + '/made_by_exec'])\n",
        "    os.posix_spawn('/bin/touch', ['touch', OUT + '/made_by_spawn'], {})\n",
    ],
)
def test_starting_programs_is_refused(arena: Arena, attack: str) -> None:
    outcome = arena.attack(attack)
    if outcome.status != "crashed":  # os.system reports the refusal as a status instead of raising
        assert "os.system" in attack, outcome
    assert arena.untouched() and arena.still_serves()


def test_forking_is_refused(arena: Arena) -> None:
    outcome = arena.trial(SIGNATURE + "    pid = os.fork()\n    return {'loss': float(pid)}\n")
    assert outcome.status == "crashed" and "Operation not permitted" in outcome.error


def test_no_network_connection_is_made(arena: Arena) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    attack = f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
    outcome = arena.trial(SIGNATURE + attack + "    return {'loss': 0.0}\n")
    assert outcome.status == "crashed"
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()


@pytest.mark.parametrize(
    "attack",
    [
        "    open(OUT + '/written.txt', 'w').write('x')\n",
        "    os.remove(OUT + '/precious.txt')\n",
        "    open(OUT + '/precious.txt', 'w').write('overwritten')\n",
        "    os.rename(OUT + '/precious.txt', model_dir + '/stolen.txt')\n",
        "    os.makedirs(OUT + '/newdir')\n",
        "    os.symlink('/etc/passwd', OUT + '/link')\n",
    ],
)
def test_writes_and_deletes_outside_model_dir_are_refused(arena: Arena, attack: str) -> None:
    outcome = arena.attack(attack)
    assert outcome.status == "crashed"
    assert arena.untouched()


def test_writing_inside_model_dir_and_tmp_works(arena: Arena) -> None:
    body = (
        "    import tempfile, joblib\n"
        "    os.makedirs(model_dir, exist_ok=True)\n"
        "    joblib.dump({'a': 1}, os.path.join(model_dir, 'model.joblib'))\n"
        "    with tempfile.NamedTemporaryFile() as handle:\n"
        "        handle.write(b'scratch')\n"
        "    return {'loss': 0.25}\n"
    )
    outcome = arena.trial(SIGNATURE + body)
    assert outcome.status == "success", outcome.error
    assert (arena.run / "trials" / "1" / "model.joblib").is_file()


@pytest.mark.parametrize(
    "attack",
    ["    while True:\n        pass\n", "    time.sleep(600)\n",
     "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n    time.sleep(600)\n"],
)  # fmt: skip
def test_busy_loops_sleeps_and_ignored_sigterm_are_stopped(arena: Arena, attack: str) -> None:
    started = time.monotonic()
    outcome = arena.trial(SIGNATURE + attack, Limits(walltime_s=1.5))
    assert outcome.status == "timeout"
    assert time.monotonic() - started < 6
    assert arena.still_serves()


def test_memory_hogs_get_memoryout(arena: Arena) -> None:
    outcome = arena.trial(SIGNATURE + "    hog = np.ones(2**31 // 8 * 2)\n    return {'loss': float(hog[0])}\n",
                          Limits(walltime_s=15, memory_mb=1024))  # fmt: skip
    assert outcome.status == "memoryout"
    assert arena.still_serves()


def test_unix_sockets_outside_cannot_be_reached(arena: Arena) -> None:
    path = arena.outside / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(0.5)
    attack = (
        f"    client = socket.socket(socket.AF_UNIX)\n    client.connect({str(path)!r})\n    return {{'loss': 0.0}}\n"
    )
    outcome = arena.trial(SIGNATURE + attack)
    assert outcome.status == "crashed" and "Operation not permitted" in outcome.error
    with pytest.raises(TimeoutError):
        server.accept()
    server.close()
    path.unlink()


def test_killing_the_parent_or_the_runner_fails(arena: Arena) -> None:
    runner = os.getpid()
    attack = (
        f"    for pid in (os.getppid(), {runner}, 1):\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        except PermissionError:\n"
        "            pass\n"
        "        else:\n"
        "            raise RuntimeError(f'killed {pid}')\n"
        "    return {'loss': 0.0}\n"
    )
    outcome = arena.trial(SIGNATURE + attack)
    assert outcome.status == "success", outcome.error
    assert arena.still_serves()


@pytest.mark.parametrize("attack", ["    sys.exit(0)\n", "    os._exit(0)\n", "    os.kill(os.getpid(), 9)\n"])
def test_exiting_early_is_a_crash(arena: Arena, attack: str) -> None:
    outcome = arena.trial(SIGNATURE + attack)
    assert outcome.status == "crashed"
    assert arena.still_serves()


def test_output_floods_are_bounded(arena: Arena) -> None:
    attack = "    for _ in range(2000):\n        print('x' * 10000)\n    return {'loss': 0.0}\n"
    outcome = arena.trial(SIGNATURE + attack, Limits(walltime_s=30, log_limit_kb=64))
    assert outcome.status == "success"
    log = arena.run / "trials" / "1" / "trial.log"
    assert log.stat().st_size < 70 * 1024
    assert "output truncated" in log.read_text()


def test_leaked_threads_do_not_keep_the_trial_alive(arena: Arena) -> None:
    attack = (
        "    threading.Thread(target=time.sleep, args=(600,)).start()\n"
        "    print('leaked', flush=True)\n"
        "    return {'loss': 0.0}\n"
    )
    started = time.monotonic()
    outcome = arena.trial(SIGNATURE + attack)
    assert outcome.status == "success"
    assert time.monotonic() - started < 8


def test_import_time_side_effects_are_confined(arena: Arena) -> None:
    module_code = f"open({str(arena.outside / 'at_import.txt')!r}, 'w').write('x')\n"
    outcome = arena.trial(module_code + HONEST)
    assert outcome.status == "crashed"
    assert arena.untouched()


TOKEN = "ghp-planted-3c2b1a0f9e8d"  # what each planted file holds; it must not reach the run directory


def _planted(arena: Arena) -> dict[str, str]:
    """Files a hostile train() goes after, each planted outside its job: what it would read, by name."""
    other_run = arena.outside / "runs" / "other" / "data"
    other_run.mkdir(parents=True)
    (other_run / "search.joblib").write_text(TOKEN)
    credentials = arena.outside / "home" / ".config" / "app" / "credentials"
    credentials.parent.mkdir(parents=True)
    credentials.write_text(TOKEN)
    (arena.outside / "test.csv").write_text(f"a,label\n1,{TOKEN}\n")
    targets = {"credentials in a home": str(credentials), "another run's data": str(other_run / "search.joblib"),
               "the user's --test-data": str(arena.outside / "test.csv"), "the real home": str(Path.home()),
               "a sibling of the run": str(arena.outside)}  # fmt: skip
    etc = next((path for path in ("/etc/hostname", "/etc/os-release", "/etc/hosts") if Path(path).is_file()), None)
    if etc is not None:
        targets["/etc beyond what libraries need"] = etc
    return targets


@pytest.mark.skipif(not confine.landlock_abi(), reason="the kernel has no Landlock: reads are not confined")
def test_reads_outside_the_job_are_refused_and_nothing_leaks(arena: Arena) -> None:
    """A train() reads (or lists) each target and writes what it got into model_dir and its log."""
    targets = _planted(arena)
    body = (f"TARGETS = {targets!r}\n" + SIGNATURE +
            "    found = {}\n"
            "    for name, path in TARGETS.items():\n"
            "        try:\n"
            "            found[name] = str(os.listdir(path)) if os.path.isdir(path) else open(path).read()\n"
            "        except OSError as error:\n"
            "            found[name] = type(error).__name__\n"
            "    print(found)\n"
            "    open(os.path.join(model_dir, 'stolen.txt'), 'w').write(repr(found))\n"
            "    import pandas\n"
            "    pandas.DataFrame({'a': [1.0]}).to_csv(os.path.join(model_dir, 'ok.csv'))  # its own folder works\n"
            "    return {'loss': 0.0}\n")  # fmt: skip
    outcome = arena.trial(body)
    assert outcome.status == "success", outcome.error
    found = ast.literal_eval((arena.run / "trials" / "1" / "stolen.txt").read_text())
    # Refused by Landlock, or not there at all under bubblewrap, which shows only what a child may read.
    assert all(result in {"PermissionError", "FileNotFoundError"} for result in found.values()), found
    assert all(TOKEN not in path.read_text(errors="replace") for path in arena.run.rglob("*") if path.is_file())
    assert (arena.run / "trials" / "1" / "ok.csv").is_file()


@pytest.mark.parametrize("source", ["credentials", "environment"])
def test_secrets_a_job_writes_are_redacted_or_removed_and_named(
    arena: Arena, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """The token reaches train() (here in its own source, as a persuaded model might put it) and leaves through
    the log, a text file and the pickled model: the review redacts the text, removes the model, names the origin."""
    from automl.sandbox import review

    if source == "credentials":
        planted = (review.Secret(TOKEN.encode(), "~/.aws/credentials"),)
        monkeypatch.setattr(review, "credential_secrets", lambda: planted)
    else:
        monkeypatch.setattr(review, "credential_secrets", lambda: ())
        monkeypatch.setenv("SOME_SERVICE_TOKEN", TOKEN)
    body = (SIGNATURE + f"    print('found', {TOKEN!r})\n"
            f"    open(os.path.join(model_dir, 'stolen.txt'), 'w').write('token: ' + {TOKEN!r})\n"
            f"    import joblib\n    joblib.dump({{'kept': {TOKEN!r}}}, os.path.join(model_dir, 'model.joblib'))\n"
            "    return {'loss': 0.0}\n")  # fmt: skip
    outcome = arena.trial(body)
    assert outcome.status == "crashed" and "secret-shaped content" in outcome.error
    origin = "~/.aws/credentials" if source == "credentials" else "a secret environment variable of the runner"
    assert f"{origin} in stolen.txt (redacted)" in outcome.error and "model.joblib (removed)" in outcome.error
    assert "trial.log (redacted)" in outcome.error
    trial = arena.run / "trials" / "1"
    assert (trial / "stolen.txt").read_text() == "token: [redacted]" and not (trial / "model.joblib").exists()
    kept = [path.read_bytes() for path in trial.rglob("*") if path.is_file()]  # (train_1.py itself holds it)
    assert all(TOKEN.encode() not in data for data in kept) and TOKEN not in outcome.log_tail + outcome.error
    assert arena.still_serves()  # an honest trial after it is untouched


@pytest.mark.skipif(not bubblewrap_works(), reason="bubblewrap is missing or not allowed here")
def test_bubblewraps_view_holds_python_and_the_job_but_not_the_users_files(arena: Arena) -> None:
    """The no-Landlock case: a process in the fork server's bubblewrap alone, with a writable and a readable
    folder, imports the libraries but finds none of the planted files, the home directory or /etc beyond the
    libraries' files."""
    targets = _planted(arena)
    shared = arena.outside / "shared_model"  # as a run's model folder, shown read-only
    shared.mkdir()
    (shared / "model.txt").write_text("weights")
    script = (f"import os, numpy, pandas, sklearn, ConfigSpace, automl\nTARGETS = {targets!r}\n"
              "print({name: sorted(os.listdir(path)) if os.path.isdir(path) else os.path.exists(path)\n"
              "       for name, path in TARGETS.items()})\n"
              f"print(open({str(shared / 'model.txt')!r}).read())\n"
              f"open({str(arena.run / 'made.txt')!r}, 'w').write('ok')\n"
              f"try:\n    open({str(shared / 'x')!r}, 'w')\nexcept OSError as error:\n"
              "    print(type(error).__name__)\n")  # fmt: skip
    command = [*bubblewrap_prefix([arena.run], [shared]), sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env={"PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr
    seen, model, refused = done.stdout.splitlines()
    bound = [Path(path) for path in (*server_view(), arena.run, shared)]
    # A folder holds only the way to what is bound inside it (the home directory may hold a Python).
    on_the_way = {name: sorted({str(b.relative_to(path).parts[0]) for b in bound if Path(path) in b.parents})
                  for name, path in targets.items() if Path(path).is_dir()}  # fmt: skip
    assert ast.literal_eval(seen) == dict.fromkeys(targets, False) | on_the_way
    assert model == "weights" and refused == "OSError" and (arena.run / "made.txt").read_text() == "ok"
    assert sorted(path.name for path in shared.iterdir()) == ["model.txt"]


def test_credential_tokens_are_read_from_the_users_files(tmp_path: Path) -> None:
    from automl.sandbox import review

    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(f"[default]\naws_secret_access_key = {TOKEN}\n")
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_ed25519.pub").write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPUBLICPUBLIC1 me")
    found = review.credential_secrets.__wrapped__(str(tmp_path))
    assert found == (review.Secret(TOKEN.encode(), "~/.aws/credentials"),)  # no plain words, no public keys


def test_the_python_paths_never_open_the_home_directory_or_the_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from automl.sandbox import readable

    monkeypatch.setattr(sys, "prefix", str(Path.home()))  # a Python "installed" as the home directory itself
    monkeypatch.setattr(sys, "exec_prefix", "/")
    readable.python_paths.cache_clear()
    try:
        paths = readable.python_paths()
        assert str(Path.home().resolve()) not in paths and "/" not in paths
        assert str(Path(readable.__file__).resolve().parents[1]) in paths  # automl itself stays importable
    finally:
        readable.python_paths.cache_clear()  # the next caller computes the real ones again


def test_a_kernel_without_landlock_is_named_on_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    from automl.sandbox.server import confine_labels

    monkeypatch.setattr(confine, "landlock_abi", lambda: 0)
    assert confine_labels()[0] == "no Landlock: reads and writes unconfined"
    assert confine.apply_landlock(["/tmp"], ["/usr"]) == ""  # nothing applied, nothing claimed


def test_secrets_in_the_environment_never_reach_generated_code(tmp_path: Path) -> None:
    """A fresh interpreter with a key in its environment runs a trial that looks for it everywhere."""
    secret = "sk-test-9f8e7d6c5b4a"
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from pathlib import Path
from tests.test_attacks import Arena
arena = Arena(Path({str(tmp_path)!r}))
import ast
import os
body = (
    "def train(cfg, dataset, seed, budget=None, model_dir=None):\\n"
    "    seen = str(dict(os.environ)) + open('/proc/self/environ', 'rb').read().decode(errors='replace')\\n"
    "    for pid in (os.getppid(), " + str(os.getpid()) + "):\\n"
    "        try:\\n"
    "            seen += open(f'/proc/{{pid}}/environ', 'rb').read().decode(errors='replace')\\n"
    "        except OSError as error:\\n"
    "            print('refused', pid, error)\\n"
    "    print(seen)\\n"
    "    return {{'loss': float({secret!r} in seen)}}\\n"
)
outcome = arena.trial(body)
print(outcome.status, outcome.result, outcome.error)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OPENAI_API_KEY": secret})  # fmt: skip
    assert "success {'loss': 0.0}" in done.stdout, done.stdout + done.stderr
    log = next((tmp_path / "run" / "trials").rglob("trial.log")).read_text()
    assert secret not in log and "PATH" in log


def test_without_bubblewrap_the_fallback_still_contains_and_says_so(tmp_path: Path) -> None:
    """Where bubblewrap is missing, Landlock and seccomp alone still block writes, programs and sockets."""
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from pathlib import Path
from automl import sandbox
from automl.sandbox.server import HOST
HOST.bubblewrap = False  # as on a machine without bubblewrap
from tests.test_attacks import Arena, SIGNATURE
arena = Arena(Path({str(tmp_path)!r}))
attacks = [
    "    open(" + repr(str(arena.outside / "x")) + ", 'w').write('x')\\n",
    "    import subprocess\\n    subprocess.run(['true'])\\n",
    "    import socket\\n    socket.socket(socket.AF_INET)\\n",
]
print([arena.trial(SIGNATURE + attack + "    return {{'loss': 0.0}}\\n").status for attack in attacks])
print(arena.untouched(), sandbox.isolation_mode())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "['crashed', 'crashed', 'crashed']", done.stdout + done.stderr
    assert lines[1].startswith("True no bubblewrap") and "seccomp" in lines[1]


def test_no_process_outlives_a_timeout(arena: Arena) -> None:
    attack = "    threading.Thread(target=time.sleep, args=(600,)).start()\n    time.sleep(600)\n"
    outcome = arena.trial(SIGNATURE + attack, Limits(walltime_s=1.5))
    assert outcome.status == "timeout"
    deadline = time.monotonic() + 5  # a killed process needs a moment to be torn down
    while _sandbox_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sandbox_children() == []


def _sandbox_children() -> list[int]:
    """Running trial processes: children of a fork server of ours that lead their own process group.

    The spare child a server keeps forked for the next trial has not started a job (nor its group).
    Only this test process's own servers count: other runs on the machine have theirs.
    """
    found = []
    ours_below = descendants(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) not in ours_below:
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parent_cmd = Path(f"/proc/{stat[1]}/cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        leads_group = stat[3] == entry.name
        ours = b"automl.sandbox.forkserver" in parent_cmd and b"bwrap" not in parent_cmd
        if ours and leads_group and stat[0] not in {"Z", "X"}:
            found.append(int(entry.name))
    return found


def test_the_attack_suite_ran_under_kernel_confinement() -> None:
    """The kernel features the suite relies on are present, so a green run means contained."""
    from automl.sandbox import isolation_mode

    mode = isolation_mode()
    assert "seccomp" in mode and "landlock v" in mode and "(reads, writes)" in mode, mode


_ = threading  # used by generated code in PRELUDE; imported here to keep the names in one place
