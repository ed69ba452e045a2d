"""scikit-learn's estimator checks on AutoMLRegressor (see tests/estimator_checks.py)."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl.api import AutoMLRegressor
from tests.estimator_checks import BUDGET, runs_in_tmp, space_file  # noqa: F401  (the fixture applies here)

pytestmark = pytest.mark.e2e


@parametrize_with_checks([AutoMLRegressor(space=space_file("regression"), **BUDGET)])
def test_scikit_learns_checks_pass(estimator, check) -> None:
    check(estimator)
