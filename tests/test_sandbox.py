"""The sandbox runs generated code in a child: results, crashes, timeouts and memory are contained."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import joblib
import numpy as np
import pandas as pd
import pytest
from ConfigSpace import ConfigurationSpace, Float
from sklearn.dummy import DummyRegressor

from automl.sandbox import (
    CodeWarning,
    ExportJob,
    Job,
    Limits,
    PredictJob,
    SpaceJob,
    TrainJob,
    UnknownJobKind,
    job_from_message,
    run_job,
    run_predict,
    run_train,
)
from automl.sandbox.child import MAX_WARNINGS, RUNNERS
from automl.sandbox.jobs import JOB_TYPES

HEADER = "import os, time, subprocess, joblib, numpy as np\n"


@pytest.fixture
def setup(tmp_path: Path):
    """A one-hyperparameter space and a tiny dataset on disk; returns a runner for a train() body."""
    space = ConfigurationSpace()
    space.add(Float("x", (0.0, 1.0), default=0.5))
    space_path = tmp_path / "space.json"
    space.to_json(space_path)
    data_path = tmp_path / "data.joblib"
    joblib.dump({"X": pd.DataFrame({"a": [1.0, 2.0, 3.0]}), "y": np.array([0, 1, 0])}, data_path)

    def run(body: str, limits: Limits | None = None, config: dict | None = None):
        train_path = tmp_path / "train.py"
        train_path.write_text(HEADER + "def train(cfg, dataset, seed, budget=None, model_dir=None):\n" + body)
        return run_train(
            train_path,
            space_path,
            data_path,
            config or {"x": 0.25},
            0,
            None,
            tmp_path / "trial",
            limits or Limits(walltime_s=20),
        )

    return run


def test_success_returns_floats_and_keeps_the_output(setup) -> None:
    outcome = setup("    print('fitting', len(dataset['X']))\n    return {'loss': cfg.get('x'), 'n': np.int64(3)}\n")
    assert outcome.status == "success"
    assert outcome.result == {"loss": 0.25, "n": 3.0}
    assert "fitting 3" in outcome.log_tail
    assert outcome.peak_memory_mb > 0


def test_crash_reports_the_generated_line(setup) -> None:
    outcome = setup("    values = [1]\n    return {'loss': values[5]}\n")
    assert outcome.status == "crashed"
    assert 'File "train.py", line 4, in train' in outcome.error
    assert "IndexError" in outcome.error
    assert "automl/sandbox" not in outcome.error  # our harness frames are cut


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("raise ValueError('bad settings') from error",
         "ValueError: bad settings\ncaused by (line 4 of train.py): KeyError: 'lr'"),
        ("raise ValueError('bad settings')",
         "ValueError: bad settings\nraised while handling (line 4 of train.py): KeyError: 'lr'"),
        ("raise ValueError('bad settings') from None", "ValueError: bad settings"),
    ],
    ids=["cause", "context", "suppressed"],
)  # fmt: skip
def test_a_chained_error_ends_with_what_it_came_from(setup, handler: str, expected: str) -> None:
    outcome = setup(f"    try:\n        {{}}['lr']\n    except KeyError as error:\n        {handler}\n")
    assert outcome.status == "crashed"
    assert outcome.error.endswith(expected), outcome.error


def test_a_library_error_names_its_root_cause_without_library_frames(setup) -> None:
    """ConfigSpace re-raises "illegal settings" from the error that says what is illegal."""
    outcome = setup("    from ConfigSpace import Float\n    Float('lr_C', (0.0, 1.0), log=True)\n")
    assert "ValueError: Hyperparameter 'lr_C' has illegal settings" in outcome.error
    assert outcome.error.endswith("caused by: ValueError: Negative lower bound 0.000000 for log-scale is not possible.")
    assert outcome.error.count("site-packages") == 1  # only the failing library call, not the cause's frames


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("    return 0.5\n", "must return a dict"),
        ("    return {'accuracy': 1.0}\n", "no 'loss' key"),
        ("    return {'loss': float('nan')}\n", "non-finite loss"),
        ("    return {'loss': 1.0, 'model': 'rf'}\n", "must be a number"),
    ],
)
def test_contract_violations_are_crashes(setup, body: str, message: str) -> None:
    outcome = setup(body)
    assert outcome.status == "crashed"
    assert message in outcome.error


def test_a_busy_trial_is_stopped_at_its_time_limit(setup) -> None:
    started = time.monotonic()
    outcome = setup("    while True:\n        pass\n", Limits(walltime_s=2))
    assert outcome.status == "timeout"
    assert time.monotonic() - started < 6


def test_memory_limit_gives_memoryout(setup) -> None:
    outcome = setup(
        "    block = np.ones(400 * 1024 * 1024 // 8)\n    return {'loss': float(block[0])}\n",
        Limits(walltime_s=20, memory_mb=300),
    )
    assert outcome.status == "memoryout"


def test_early_exit_is_a_crash(setup) -> None:
    outcome = setup("    os._exit(3)\n")
    assert outcome.status == "crashed"
    assert "died without a reply" in outcome.error


def test_warnings_come_back_once_each_with_their_line_in_generated_code(setup) -> None:
    body = (
        "    import warnings\n"
        "    from sklearn.linear_model import LogisticRegression\n"
        "    for _ in range(3):\n"
        "        LogisticRegression(penalty='l2', max_iter=1).fit(dataset['X'], dataset['y'])\n"
        "    warnings.warn('use the new API', DeprecationWarning)\n"
        "    return {'loss': 0.0}\n"
    )
    outcome = setup(body)
    assert outcome.ok, outcome.error
    found = {warning.category: warning for warning in outcome.warnings}
    assert set(found) == {"FutureWarning", "ConvergenceWarning", "DeprecationWarning"}, outcome.warnings
    assert found["FutureWarning"].line == 6 and "'penalty' was deprecated" in found["FutureWarning"].message
    assert found["ConvergenceWarning"].line == 6 and "\n" not in found["ConvergenceWarning"].message
    assert found["DeprecationWarning"] == CodeWarning("DeprecationWarning", "use the new API", 7)
    assert "'penalty' was deprecated" in outcome.log_tail  # still printed to the trial's log


def test_a_noisy_job_reports_a_bounded_number_of_warnings(setup) -> None:
    outcome = setup("    import warnings\n    for i in range(50):\n        warnings.warn(f'noise {i}')\n"
                    "    raise ValueError('then it fails')\n")  # fmt: skip
    assert outcome.status == "crashed" and "then it fails" in outcome.error
    assert [warning.message for warning in outcome.warnings] == [f"noise {i}" for i in range(MAX_WARNINGS)]


def test_predict_reads_arrays_back_without_pickle(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    joblib.dump(model, tmp_path / "model.joblib")
    outcome, predictions = run_predict(tmp_path / "model.joblib", features, Limits(walltime_s=20))
    assert outcome.ok and predictions is not None
    assert predictions.values.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert predictions.proba is not None and predictions.proba.shape == (4, 2)


def test_a_classifier_that_never_saw_a_class_gets_a_zero_column_for_it(tmp_path: Path) -> None:
    """A fold or a budget's fraction may miss a class: classes_ says where the model's columns go."""
    from sklearn.linear_model import LogisticRegression

    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    joblib.dump(LogisticRegression().fit(features, [0, 0, 2, 2]), tmp_path / "model.joblib")  # class 1 absent
    outcome, predictions = run_predict(tmp_path / "model.joblib", features, Limits(walltime_s=20), n_classes=3)
    assert outcome.ok and predictions is not None and predictions.proba is not None
    assert predictions.proba.shape == (4, 3) and np.all(predictions.proba[:, 1] == 0)
    assert np.allclose(predictions.proba.sum(axis=1), 1.0) and predictions.values.tolist() == [0.0, 0.0, 2.0, 2.0]


def test_a_missing_model_fails_cleanly(tmp_path: Path) -> None:
    outcome, predictions = run_predict(tmp_path / "absent.joblib", pd.DataFrame({"a": [1.0]}), Limits(walltime_s=20))
    assert outcome.status == "crashed" and predictions is None
    assert "No such file" in outcome.error


def test_thread_pools_that_need_a_semaphore_work(setup) -> None:
    """joblib's threading backend (scikit-learn with n_jobs > 1) makes POSIX semaphores in /dev/shm."""
    body = (
        "    from multiprocessing.pool import ThreadPool\n"
        "    from sklearn.ensemble import RandomForestClassifier\n"
        "    with ThreadPool(2) as pool:\n"
        "        doubled = pool.map(lambda v: 2 * v, [1, 2, 3])\n"
        "    model = RandomForestClassifier(n_estimators=4, n_jobs=2, random_state=seed)\n"
        "    model.fit(dataset['X'], dataset['y'])\n"
        "    return {'loss': float(sum(doubled))}\n"
    )
    outcome = setup(body, Limits(walltime_s=30, n_jobs=2))
    assert outcome.status == "success", outcome.error
    assert outcome.result["loss"] == 12.0


RUN = Path("/runs/r1")
JOBS = [
    TrainJob(RUN / "train.py", RUN / "space.json", RUN / "data.joblib", {"x": 0.5, "c": "a"}, 3, None, RUN / "1"),
    TrainJob(RUN / "train.py", RUN / "space.json", RUN / "data.joblib", {}, 0, 2.5, RUN / "2"),
    SpaceJob(RUN / "space_code.py"),
    PredictJob(RUN / "model.joblib", RUN / "features.pkl", proba=False),
    PredictJob(RUN / "model.joblib", RUN / "features.pkl", proba=True, more_models=("/runs/r1/bag-0/model.joblib",)),
    ExportJob(RUN / "model.joblib", more_models=("/runs/r1/bag-0/model.joblib",)),
]


@pytest.mark.parametrize("job", JOBS, ids=lambda job: f"{job.kind}-{len(getattr(job, 'more_models', ()))}")
def test_a_job_survives_its_json_message(job: Job) -> None:
    """The message is plain JSON; read back (with the envelope run_job adds around it) it is the same job."""
    message = json.loads(json.dumps(job.to_message()))
    assert message["kind"] == job.kind
    envelope = {"limits": {"walltime_s": 1.0}, "work_dir": "/w", "log_path": "/w/trial.log"}
    assert job_from_message({**message, **envelope}) == job


def test_every_job_kind_has_a_runner_in_the_child() -> None:
    assert set(RUNNERS) == set(JOB_TYPES) == {"train", "space", "predict", "export"}


def test_an_unknown_kind_is_refused_when_read() -> None:
    with pytest.raises(UnknownJobKind, match="unknown sandbox job kind 'x'"):
        job_from_message({"kind": "x", "model_path": "/m", "features_path": "/f", "proba": True})


@dataclass(frozen=True)
class StrayJob(Job):
    """A job of a kind the child does not know, shaped like a predict job so no field is missing."""

    kind: ClassVar[str] = "x"
    model_path: str = "/nowhere/model.joblib"
    features_path: str = "/nowhere/features.pkl"
    proba: bool = True


def test_an_unknown_job_kind_crashes_with_a_clear_message(tmp_path: Path) -> None:
    """A kind no runner knows is an error in the child, never silently run as another kind."""
    outcome = run_job(StrayJob(), Limits(walltime_s=20), tmp_path / "stray", tmp_path / "stray" / "stray.log")
    assert outcome.status == "crashed"
    assert "unknown sandbox job kind 'x'" in outcome.error


def test_a_folder_shown_to_the_server_may_be_deleted_before_the_next_start(tmp_path: Path) -> None:
    """A run directory deleted after its model was used (exported, then removed) must not stop the next job's
    server from starting: bubblewrap cannot bind a folder that no longer exists."""
    X = pd.DataFrame({"a": [0.0, 1.0]})
    for name in ("gone", "kept"):
        (tmp_path / name).mkdir()
        joblib.dump(DummyRegressor(strategy="constant", constant=2.0).fit(X, [0, 0]), tmp_path / name / "m.joblib")
    assert run_predict(tmp_path / "gone" / "m.joblib", X, Limits(walltime_s=30), want_proba=False)[0].ok
    shutil.rmtree(tmp_path / "gone")
    outcome, predictions = run_predict(tmp_path / "kept" / "m.joblib", X, Limits(walltime_s=30), want_proba=False)
    assert outcome.ok, outcome.error
    assert predictions is not None and list(predictions.values) == [2.0, 2.0]
