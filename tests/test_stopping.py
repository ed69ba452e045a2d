"""Where a run stops short of its end, end to end through the CLI: the walltime spent before the search could
start, and how a stopped run is listed; and the CLI's own --version and help."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import make_classification

from tests.test_search_modes import automl, read

pytestmark = pytest.mark.e2e
WALLTIME = 25.0


@pytest.fixture(scope="module")
def stopped_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, tuple[subprocess.CompletedProcess, float]]]:
    """A folder with two runs and what each printed and took: a 30-class table at a 25 s walltime (its default
    configuration alone takes seconds), and iris at 3 s, all of which the report's reserve keeps."""
    folder = tmp_path_factory.mktemp("stopped")
    X, y = make_classification(n_samples=3000, n_features=20, n_informative=15, n_classes=30, random_state=0)
    table = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)]).assign(label=y)
    table.to_csv(folder / "classes30.csv", index=False)
    runs = {
        "classes30": ("--data", "classes30.csv", "--target", "label", "--task", "classification", "--walltime",
                      str(WALLTIME)),
        "iris": ("--data", "sklearn:iris", "--walltime", "3"),
    }  # fmt: skip
    done = {}
    for name, options in runs.items():
        began = time.monotonic()
        finished = automl("run", *options, "--out", folder / name, cwd=folder)
        done[name] = (finished, time.monotonic() - began)
    return folder, done


def one_line_naming_the_walltime(stderr: str) -> bool:
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and "the walltime was spent" in lines[0] and "raise --walltime" in lines[0]


def test_a_30_class_table_keeps_its_walltime_or_says_the_walltime_stopped_it(stopped_runs) -> None:
    folder, done = stopped_runs
    finished, seconds = done["classes30"]
    print(f"30 classes at --walltime {WALLTIME:g}: exit {finished.returncode} after {seconds:.1f} s")
    if finished.returncode == 0:
        assert read(folder / "classes30", "result.json")["timings"]["total"] <= WALLTIME * 1.1
    else:
        assert finished.returncode == 2 and one_line_naming_the_walltime(finished.stderr), finished.stderr
    assert "every one of" not in finished.stderr
    assert seconds <= WALLTIME * 1.1 + 5  # the interpreter's start and imports come before the run's clock


def test_a_walltime_spent_before_the_search_stops_the_run_with_one_line(stopped_runs) -> None:
    _, done = stopped_runs
    finished, _ = done["iris"]
    assert finished.returncode == 2 and one_line_naming_the_walltime(finished.stderr), finished.stderr
    assert "optimizing" not in finished.stdout


def test_automl_runs_lists_a_failed_run_with_its_reason(stopped_runs) -> None:
    folder, done = stopped_runs
    reason = done["iris"][0].stderr.strip().removeprefix("error: ")
    assert read(folder / "iris", "run.json")["error"] == reason
    listed = automl("runs", folder, cwd=folder)
    assert listed.returncode == 0, listed.stderr
    row = " ".join(line for line in listed.stdout.splitlines() if "│" in line and "sklearn:iris" in line)
    assert "failed: the walltime was spent" in row and "incomplete" not in row


def test_version_prints_the_version(tmp_path: Path) -> None:
    from automl import __version__

    shown = automl("--version", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip() == f"automl {__version__}"


def test_run_help_shows_the_seeds_default(tmp_path: Path) -> None:
    shown = automl("run", "--help", cwd=tmp_path)
    assert shown.returncode == 0 and re.search(r"--seed .*\[default: 0\]", " ".join(shown.stdout.split()))
