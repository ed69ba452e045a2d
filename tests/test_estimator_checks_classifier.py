"""scikit-learn's estimator checks on AutoMLClassifier (see tests/estimator_checks.py)."""

from __future__ import annotations

import pytest
from ConfigSpace import ConfigurationSpace
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl.api import AutoMLClassifier
from tests.estimator_checks import BUDGET, linear_space, runs_in_tmp, space_file  # noqa: F401  (the fixture applies here)

pytestmark = pytest.mark.e2e


@parametrize_with_checks([AutoMLClassifier(space=space_file("classification"), **BUDGET)])
def test_scikit_learns_checks_pass(estimator, check) -> None:
    check(estimator)


def test_the_linear_spaces_are_the_offline_ones() -> None:
    for task in ("classification", "regression"):
        assert ConfigurationSpace.from_json(space_file(task)) == linear_space(task), "rewrite it with linear_space"
