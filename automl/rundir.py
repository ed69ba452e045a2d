"""The run directory's layout in one place, so every stage writes where docs/run-directory.md says."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from automl._io import read_json, write_json
from automl.config import RunConfig
from automl.errors import AutomlError, ConfigError
from automl.result import read_summary

DEFAULT_ROOT = Path("runs")
# What train() saves in its model_dir (a trial's, a final member's), and the log of one sandboxed job there.
MODEL_FILE = "model.joblib"
TRIAL_LOG = "trial.log"


@dataclass(frozen=True)
class RoundFiles:
    """Where one round's search space and train.py live: round 1's at the run's root, a later round's in
    ``rounds/<n>/`` (its revision of them, kept beside the earlier rounds' so every trial's code stays)."""

    root: Path

    space_json = property(lambda self: self.root / "config_space.json")
    space_py = property(lambda self: self.root / "config_space.py")  # the generated code that built it
    train_py = property(lambda self: self.root / "train.py")
    verify_json = property(lambda self: self.root / "verify.json")
    verify_dir = property(lambda self: self.root / "verify")
    drafts_dir = property(lambda self: self.root / "drafts")  # the draft being checked, until it passes
    revision_json = property(lambda self: self.root / "revision.json")  # a later round's: what it was shown, changed


@dataclass(frozen=True)
class RunPaths:
    """Named paths inside one run directory."""

    root: Path

    run_json = property(lambda self: self.root / "run.json")
    dataset_json = property(lambda self: self.root / "dataset.json")
    plan_json = property(lambda self: self.root / "plan.json")
    space_json = property(lambda self: self.round_files(1).space_json)
    space_py = property(lambda self: self.round_files(1).space_py)
    scenario_json = property(lambda self: self.root / "scenario.json")
    train_py = property(lambda self: self.round_files(1).train_py)
    verify_json = property(lambda self: self.round_files(1).verify_json)
    trials_json = property(lambda self: self.root / "trials.json")  # every trial of the search, as the runner saw it
    attempts_dir = property(lambda self: self.root / "attempts")  # rejected drafts and their errors
    drafts_dir = property(lambda self: self.round_files(1).drafts_dir)
    llm_dir = property(lambda self: self.root / "llm")  # one record per model call
    verify_dir = property(lambda self: self.round_files(1).verify_dir)
    smac_dir = property(lambda self: self.root / "smac")
    trials_dir = property(lambda self: self.root / "trials")
    # Each trial's predictions of its validation rows, what the ensemble selection chooses from.
    predictions_dir = property(lambda self: self.root / "predictions")
    model_dir = property(lambda self: self.root / "model")
    members_dir = property(lambda self: self.root / "model" / "members")
    model_json = property(lambda self: self.root / "model" / "metadata.json")
    result_json = property(lambda self: self.root / "result.json")
    # Data handed to the sandbox: the fit and validation rows only, never the test rows.
    search_data = property(lambda self: self.root / "data" / "search.joblib")
    refit_data = property(lambda self: self.root / "data" / "refit.joblib")

    def round_files(self, number: int) -> RoundFiles:
        """Round ``number``'s space and train.py (1: the run's first, at its root)."""
        return RoundFiles(self.root if number == 1 else self.root / "rounds" / str(number))

    def member_dir(self, name: str) -> Path:
        """The model_dir of the final model's member ``name`` (it holds that member's MODEL_FILE)."""
        return self.members_dir / name

    def fold_data(self, fold: int) -> Path:
        """The dataset of cross-validation fold ``fold`` (its file stem is the SMAC instance name)."""
        return self.root / "data" / f"fold-{fold}.joblib"


def _slug(text: str) -> str:
    """A file-system-safe short name from a data source (``sklearn:iris`` -> ``iris``)."""
    stem = Path(text.split(":", 1)[-1]).name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:40] or "data"


def create_run_dir_parent(out: Path | None) -> Path:
    """The folder a new run directory goes into, created if needed (the sandbox binds it early)."""
    parent = Path(out).expanduser().resolve().parent if out is not None else DEFAULT_ROOT.resolve()
    _make_dir(parent, out)
    return parent


def _make_dir(path: Path, out: Path | None) -> None:
    """``path`` and its parents; one that cannot be made (read-only, no permission, a file in the way) is a
    one-line error naming --out."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        where = f"--out '{out}'" if out is not None else f"the default runs folder '{DEFAULT_ROOT}'"
        raise ConfigError(f"cannot create {where} ({error.strerror or error}): choose a writable --out") from None


def create_run_dir(out: Path | None, data_source: str) -> RunPaths:
    """Make a fresh run directory: ``out``, or ``runs/<data>-<time>``; never reuse a finished run's."""
    if out is not None:
        root = Path(out)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise ConfigError(
                f"--out '{out}' already exists and is not an empty directory: choose another --out or delete it"
            )
    else:
        base = DEFAULT_ROOT / f"{_slug(data_source)}-{time.strftime('%Y%m%d-%H%M%S')}"
        root, counter = base, 1
        while root.exists():
            counter += 1
            root = base.with_name(f"{base.name}-{counter}")
    _make_dir(root, out)
    return RunPaths(root.resolve())  # absolute: sandbox children work in other directories


def open_run_dir(path: Path) -> RunPaths:
    """An existing run directory with a final model; anything else is a clear error."""
    paths = RunPaths(Path(path).resolve())
    if not paths.root.is_dir():
        raise ConfigError(f"run directory '{path}' does not exist: pass a directory made by 'automl run'")
    if not paths.model_json.is_file() or not any(paths.members_dir.glob(f"*/{MODEL_FILE}")):
        raise ConfigError(
            f"run directory '{path}' has no final model (model/metadata.json, model/members/): "
            "the run did not finish; run 'automl run' again"
        )
    return paths


def recorded_request(run_dir: Path, option: str) -> tuple[RunPaths, RunConfig]:
    """A run directory and the request its ``run.json`` recorded; ``option`` names the flag in errors."""
    paths = RunPaths(Path(run_dir).resolve())
    if not paths.run_json.is_file():
        raise ConfigError(f"{option} '{run_dir}' is not a run directory (no run.json): pass a directory made by "
                          "'automl run'")  # fmt: skip
    try:
        return paths, RunConfig.from_dict(read_json(paths.run_json)["arguments"])
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{option} '{run_dir}': its run.json cannot be read ({error})") from None


def replay_request(run_dir: Path, out: Path | None = None, seed: int | None = None) -> RunConfig:
    """The request recorded in ``run_dir/run.json``, set to answer from its ``llm/`` records instead of a model.

    An offline run has no records and is simply run again. ``out`` and ``seed`` replace the recorded ones.
    """
    paths, recorded = recorded_request(run_dir, "--replay")
    changes: dict[str, Any] = {"out": out, "seed": recorded.seed if seed is None else seed}
    if recorded.uses_model:
        if not any(paths.llm_dir.glob("*.json")):
            raise ConfigError(f"--replay '{run_dir}' has no model records in {paths.llm_dir}: the run stopped before "
                              "its first model call, so there is nothing to replay")  # fmt: skip
        changes["replay"] = paths.root
    return replace(recorded, **changes)


def resume_request(run_dir: Path) -> RunConfig:
    """The request of the interrupted run in ``run_dir``, to continue it in place (``automl run --resume``)."""
    paths, recorded = recorded_request(run_dir, "--resume")
    if recorded.rounds > 1:
        raise ConfigError(f"--resume '{run_dir}': a run of {recorded.rounds} rounds (--rounds) cannot be resumed yet; "
                          "its trials so far are in trials.json: start the run again")  # fmt: skip
    return replace(recorded, out=paths.root)


def finished(run_dir: Path) -> bool:
    """Whether the run in ``run_dir`` ended on its own: its result.json says the search was not interrupted, so
    ``--resume`` has nothing to continue (an interrupted run's result.json is the best so far, and it resumes)."""
    summary = read_summary(RunPaths(Path(run_dir)).result_json)
    return summary is not None and not summary.interrupted


@contextlib.contextmanager
def failure_recorded(paths: RunPaths) -> Iterator[None]:
    """Keep the error that stops a run, on one line, as ``error`` in its run.json: without it a run that failed
    looks, to ``automl runs``, like one that was killed or is still running."""
    try:
        yield
    except AutomlError as error:
        record = read_json(paths.run_json)
        record["error"] = " ".join(str(error).split())
        write_json(paths.run_json, record)
        raise
