"""Generated config-space code is judged like train.py: statically, then run in the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float

from automl.verify.space_check import check_space_code
from automl.verify.space_warnings import unconditioned_hyperparameters

GOOD = """
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer


def get_configspace() -> ConfigurationSpace:
    space = ConfigurationSpace()
    algorithm = Categorical("algorithm", ["rf", "linear"], default="rf")
    trees = Integer("rf_n_estimators", (10, 300), log=True, default=100)
    c = Float("linear_C", (1e-3, 1e3), log=True, default=1.0)
    space.add([algorithm, trees, c])
    space.add([EqualsCondition(trees, algorithm, "rf"), EqualsCondition(c, algorithm, "linear")])
    return space
"""


def check(tmp_path: Path, source: str):
    path = tmp_path / "config_space.py"
    path.write_text(source)
    return check_space_code(path, tmp_path / "work", memory_mb=2048)


def test_a_good_space_is_built_in_the_sandbox_and_read_back(tmp_path: Path) -> None:
    checked = check(tmp_path, GOOD)
    assert checked.errors == ()
    assert checked.space is not None
    assert set(checked.space) == {"algorithm", "rf_n_estimators", "linear_C"}
    assert len(checked.space.conditions) == 2
    assert checked.warnings == ()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import sklearn\n" + GOOD, "static: line 1: .*sklearn"),
        (
            "from ConfigSpace import ConfigurationSpace\ndef make():\n    return ConfigurationSpace()\n",
            "no module-level get_configspace",
        ),
        ("def get_configspace(n):\n    return None\n", "called without arguments"),
        ("def get_configspace():\n    return {'a': 1}\n", "must return a ConfigSpace.ConfigurationSpace, got dict"),
        (
            "from ConfigSpace import ConfigurationSpace, Float\ndef get_configspace():\n"
            "    return ConfigurationSpace({'lr': Float('lr', (0.0, 1.0), log=True)})\n",
            "crashed.*config_space.py",
        ),
        (
            "from ConfigSpace import ConfigurationSpace\ndef get_configspace():\n    return ConfigurationSpace()\n",
            "without hyperparameters",
        ),
        (
            "from ConfigSpace import ConfigurationSpace\ndef get_configspace():\n"
            "    open('/tmp/automl-space-escape', 'w').write('x')\n    return ConfigurationSpace({'a': (0, 1)})\n",
            "crashed",
        ),
        (
            "from ConfigSpace import ConfigurationSpace\ndef get_configspace():\n    while True:\n        pass\n",
            "timeout",
        ),
    ],
    ids=["import", "no-function", "parameters", "not-a-space", "invalid-range", "empty", "write-outside", "hangs"],
)
def test_bad_space_code_is_rejected_with_a_reason(tmp_path: Path, source: str, expected: str, monkeypatch) -> None:
    monkeypatch.setattr("automl.verify.space_check.SPACE_WALLTIME_S", 3.0)
    checked = check(tmp_path, source)
    assert checked.errors, "the draft should have been rejected"
    assert any(re.search(expected, error, re.DOTALL) for error in checked.errors), checked.errors
    assert not Path("/tmp/automl-space-escape").exists()


def test_a_space_that_forbids_every_configuration_is_rejected(tmp_path: Path) -> None:
    source = """
from ConfigSpace import Categorical, ConfigurationSpace, ForbiddenEqualsClause


def get_configspace():
    space = ConfigurationSpace()
    a = Categorical("a", ["x", "y"], default="x")
    space.add(a)
    space.add([ForbiddenEqualsClause(a, "y"), ForbiddenEqualsClause(a, "x")])
    return space
"""
    checked = check(tmp_path, source)
    # ConfigSpace refuses a forbidden default while building, or sampling fails: either way, no space.
    assert checked.errors
    assert re.search("forbidden|sampling", " ".join(checked.errors), re.IGNORECASE)


@pytest.mark.parametrize(
    ("hyperparameter", "cause", "rule"),
    [
        ("Float('lr_C', (0.0, 1.0), log=True)", "caused by: ValueError: Negative lower bound",
         "rule: a log-scaled hyperparameter needs a lower bound above 0."),
        ("Integer('trees', (-5, 100), log=True)", "Negative lower bound -5",
         "rule: a log-scaled hyperparameter needs a lower bound above 0."),
        ("Float('alpha', (0.1, 1.0), default=5.0)", "Illegal default value 5.0",
         "rule: a default must lie within [lower, upper]."),
        ("Integer('depth', (1, 10), default=0)", "Illegal default value 0",
         "rule: a default must lie within [lower, upper]."),
        ("Float('gamma', (1e-4, 1.0), log=True, default='scale')", "did not contain a loop",
         "rule: a Float's default must be a number"),
        ("Integer('leaves', (2, 64), default='auto')", "could not convert string to float",
         "an Integer's a whole number"),
        ("Integer('leaves', (2, 64), default=2.5)", "must be an integer",
         "an Integer's a whole number"),
        ("Categorical('kernel', ['rbf', 'poly'], default='linear')", "has to be one of the choices",
         "a Categorical's one of its choices"),
    ],
    ids=["log-zero", "log-negative", "float-default-outside", "int-default-outside", "float-string-default",
         "int-string-default", "int-float-default", "categorical-default"],
)  # fmt: skip
def test_common_configspace_mistakes_come_with_their_rule(tmp_path: Path, hyperparameter: str, cause: str,
                                                          rule: str) -> None:  # fmt: skip
    source = ("from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer\n\n\ndef get_configspace():\n"
              f"    return ConfigurationSpace({{'x': {hyperparameter}}})\n")  # fmt: skip
    (error,) = check(tmp_path, source).errors
    assert cause in error and rule in error, error
    assert error.count("rule:") == 1, error


def test_an_unrelated_failure_gets_no_rule(tmp_path: Path) -> None:
    source = (
        "from ConfigSpace import ConfigurationSpace\n\n\ndef get_configspace():\n    return ConfigurationSpace(7)\n"
    )
    (error,) = check(tmp_path, source).errors
    assert "rule:" not in error


OLD_API = """
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer


def get_configspace():
    space = ConfigurationSpace()
    algorithm = Categorical("algorithm", ["gradient_boosting", "random_forest"], default="gradient_boosting")
    depth = Integer("gb_max_depth", (2, 10), default=3)
    trees = Integer("rf_n_estimators", (10, 300), default=100)
    space.add_hyperparameters([algorithm, depth])
    space.add_hyperparameter(trees)
    space.add_condition(EqualsCondition(trees, algorithm, "random_forest"))
    return space
"""


def test_a_usable_space_with_findings_is_accepted_with_warnings(tmp_path: Path) -> None:
    checked = check(tmp_path, OLD_API)
    assert checked.errors == () and checked.space is not None
    unconditioned, deprecated = checked.warnings
    assert unconditioned.startswith("hyperparameter 'gb_max_depth' belongs to algorithm='gradient_boosting'")
    assert "active for every algorithm" in unconditioned
    assert "space.add(EqualsCondition(space['gb_max_depth'], space['algorithm'], 'gradient_boosting'))" in unconditioned
    assert "add_hyperparameters() on line 10; add_hyperparameter() on line 11; add_condition() on line 12" in deprecated
    assert "space.add(...)" in deprecated


@pytest.mark.parametrize(
    ("name", "condition", "warned"),
    [
        ("gb_learning_rate", None, True),
        ("HistGradientBoosting_l2", None, False),  # not a choice of this space
        ("gb_learning_rate", "gradient_boosting", False),
        ("svm:C", None, True),
        ("random_forest_max_depth", None, True),
        ("rf_max_depth", "random_forest", False),
        ("learning_rate", None, False),  # shared by every algorithm: no prefix
        ("gbm_learning_rate", None, False),  # a prefix is a whole word
    ],
)
def test_hyperparameters_named_for_an_algorithm_need_its_condition(
    name: str, condition: str | None, warned: bool
) -> None:
    space = ConfigurationSpace()
    algorithm = Categorical("algorithm", ["gradient_boosting", "random_forest", "svm"])
    value = Float(name, (0.01, 1.0))
    space.add([algorithm, value, *([EqualsCondition(value, algorithm, condition)] if condition else [])])
    assert bool(unconditioned_hyperparameters(space)) == warned


def test_the_offline_spaces_have_no_unconditioned_hyperparameters() -> None:
    for task in ("classification", "regression"):
        space = ConfigurationSpace.from_json(Path(__file__).parents[1] / "configs" / f"offline_{task}.json")
        assert unconditioned_hyperparameters(space) == []
