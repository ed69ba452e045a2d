"""scikit-learn's own estimator checks on automl's estimators, shared by the classifier's and regressor's test files.

Every check fits a real run (writer, sandboxed verification, SMAC, refit, test score), so the estimators
get the smallest budget that is still the whole pipeline: one trial, one validation split, no bags,
and a space of the offline writer's linear family alone, whose fits take milliseconds on the checks'
tiny tables. The checks run in two files so the two workers of the suite share them.

Checks that do not apply are skipped by scikit-learn itself, from the estimators' tags:
sample weights (``fit`` takes none), NaN and infinity rejection (missing values are allowed and
imputed), sparse input (a clear error instead, which ``check_estimator_sparse_*`` assert), array-API
input (skipped unless ``SCIPY_ARRAY_API`` is set), multi-output targets (not supported).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ConfigSpace import Categorical, ConfigurationSpace

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {"trials": 1, "walltime": 30, "cv": 1, "bag": False}
# The cut-down spaces, kept in the repository so that every test worker names the checks alike (a check's
# id holds the estimator's repr, the space's path included); test_the_linear_spaces_are_the_offline_ones
# (in the classifier's file) keeps them equal to what linear_space makes from configs/.
FIXTURES = ROOT / "tests" / "fixtures" / "estimator_checks"


def linear_space(task: str) -> ConfigurationSpace:
    """The offline space cut down to its linear family."""
    offline = ConfigurationSpace.from_json(ROOT / "configs" / f"offline_{task}.json")
    space = ConfigurationSpace(seed=0)
    space.add(Categorical("algorithm", ["linear"]))
    space.add([hp for name, hp in offline.items() if name.startswith("linear:")])
    return space


def space_file(task: str) -> str:
    """The repository's copy of :func:`linear_space`: the same path in every test worker."""
    return str(FIXTURES / f"linear_{task}.json")


@pytest.fixture(autouse=True, scope="module")
def runs_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The checks' fits go to one temporary folder, not the user's cache.

    One folder for all of them, not one per check: the sandbox's fork server may write beneath the folder
    it was started for, and a new folder per check would restart it (2-3 s of imports) for every check."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOML_RUNS", str(tmp_path_factory.mktemp("runs")))
        yield
