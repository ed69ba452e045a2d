"""scikit-learn's estimator checks on AutoMLRegressor (see tests/estimator_checks.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from automl.api import AutoMLRegressor
from tests.estimator_checks import BUDGET, linear_space, runs_in_tmp  # noqa: F401  (the fixture applies here)

pytestmark = pytest.mark.e2e
SPACE = linear_space("regression", Path(tempfile.mkdtemp(prefix="automl-checks-")))


@parametrize_with_checks([AutoMLRegressor(space=str(SPACE), **BUDGET)])
def test_scikit_learns_checks_pass(estimator, check) -> None:
    check(estimator)
