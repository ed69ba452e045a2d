"""Reads of conditional hyperparameters: which ones fail when inactive, and what the message teaches."""

from __future__ import annotations

import pytest
from ConfigSpace import AndConjunction, Categorical, ConfigurationSpace, EqualsCondition, Float, InCondition, Integer

from automl.verify.conditional_reads import active_when, inactive_read_hint, unguarded_reads

HEADER = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n"


@pytest.fixture(scope="module")
def space() -> ConfigurationSpace:
    space = ConfigurationSpace(seed=0)
    algorithm = Categorical("algorithm", ["svm", "rf", "lr"], default="rf")
    kernel = Categorical("svm_kernel", ["rbf", "poly"])
    degree = Integer("svm_degree", (1, 5), default=3)
    c = Float("svm_C", (0.01, 100.0), log=True)
    depth = Integer("rf_max_depth", (2, 20))
    lr_c = Float("lr_C", (0.01, 100.0), log=True)
    scale = Categorical("scale", [True, False])
    space.add([algorithm, kernel, degree, c, depth, lr_c, scale])
    space.add([EqualsCondition(kernel, algorithm, "svm"), EqualsCondition(c, algorithm, "svm"),
               AndConjunction(EqualsCondition(degree, algorithm, "svm"), EqualsCondition(degree, kernel, "poly")),
               EqualsCondition(depth, algorithm, "rf"), InCondition(lr_c, algorithm, ["lr"])])  # fmt: skip
    return space


GUARDED = {
    "if": "    if cfg['algorithm'] == 'svm':\n        c = cfg['svm_C']\n",
    "elif-else": "    if cfg['algorithm'] == 'rf':\n        d = cfg['rf_max_depth']\n"
                 "    elif cfg['algorithm'] == 'lr':\n        c = cfg['lr_C']\n    else:\n        c = cfg['svm_C']\n",
    "variable": "    algorithm = str(cfg['algorithm'])\n    if algorithm == 'svm':\n        c = cfg['svm_C']\n",
    "expression": "    c = cfg['svm_C'] if cfg['algorithm'] == 'svm' else 1.0\n",
    "and": "    big = cfg['algorithm'] == 'svm' and cfg['svm_C'] > 1\n",
    "membership": "    if 'svm_C' in cfg:\n        c = cfg['svm_C']\n",
    "get-is-safe": "    c = cfg.get('svm_C')\n",
    "early-return": "    if cfg['algorithm'] != 'svm':\n        return {'loss': 1.0}\n    c = cfg['svm_C']\n",
    "match": "    match cfg['algorithm']:\n        case 'svm':\n            c = cfg['svm_C']\n",
    "nested-parent": "    if cfg['algorithm'] == 'svm' and cfg['svm_kernel'] == 'poly':\n"
                     "        d = cfg['svm_degree']\n",
    "lambda": "    makers = {'svm': lambda: cfg['svm_C']}\n    c = makers[cfg['algorithm']]()\n",
    "helper": "    if cfg['algorithm'] == 'svm':\n        c = _svm(cfg)\n",
    "helper-with-the-parent": "    c = _by_name(cfg['algorithm'], cfg)\n",
    "dispatch-table": "    c = {'svm': _svm}[cfg['algorithm']](cfg)\n",
}  # fmt: skip
HELPERS = (
    "\n\ndef _svm(cfg):\n    return cfg['svm_C']\n"
    "\n\ndef _by_name(algorithm, cfg):\n    if algorithm == 'svm':\n        return cfg['svm_C']\n    return 1.0\n"
)


@pytest.mark.parametrize("body", GUARDED.values(), ids=GUARDED.keys())
def test_guarded_reads_are_not_reported(space: ConfigurationSpace, body: str) -> None:
    assert unguarded_reads(HEADER + body + "    return {'loss': 0.0}\n" + HELPERS, space) == []


UNGUARDED = {
    "top-of-train": ("    c = cfg['svm_C']\n", [(2, "svm_C")]),
    "unrelated-test": ("    if cfg['scale']:\n        c = cfg['svm_C']\n", [(3, "svm_C")]),
    "in-its-own-test": ("    if cfg['svm_C'] > 1:\n        pass\n", [(2, "svm_C")]),
    "after-the-branch": ("    if cfg['algorithm'] == 'svm':\n        pass\n    d = cfg['svm_degree']\n",
                         [(4, "svm_degree")]),
    "helper-called-unguarded": ("    c = _svm(cfg)\n", [(7, "svm_C")]),
    "helper-called-once-unguarded": ("    if cfg['algorithm'] == 'svm':\n        c = _svm(cfg)\n    c = _svm(cfg)\n",
                                     [(9, "svm_C")]),
    "two-reads": ("    c, d = cfg['svm_C'], cfg['rf_max_depth']\n    s = cfg['scale']\n",
                  [(2, "rf_max_depth"), (2, "svm_C")]),
}  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), UNGUARDED.values(), ids=UNGUARDED.keys())
def test_unguarded_reads_are_reported_with_their_line(space: ConfigurationSpace, body: str, expected: list) -> None:
    source = HEADER + body + "    return {'loss': 0.0}\n\n\ndef _svm(cfg):\n    return cfg['svm_C']\n"
    assert unguarded_reads(source, space) == expected


def test_a_helper_two_calls_away_is_not_followed(space: ConfigurationSpace) -> None:
    """One level of helpers is enough: a helper called only from another helper counts as unguarded."""
    source = (HEADER + "    if cfg['algorithm'] == 'svm':\n        return _outer(cfg)\n    return {'loss': 0.0}\n\n\n"
              "def _outer(cfg):\n    return _svm(cfg)\n\n\ndef _svm(cfg):\n    return cfg['svm_C']\n")  # fmt: skip
    assert unguarded_reads(source, space) == [(12, "svm_C")]


def test_source_that_does_not_parse_has_no_reads(space: ConfigurationSpace) -> None:
    assert unguarded_reads("def train(:\n", space) == []


def test_conditions_are_spelled_as_the_space_states_them(space: ConfigurationSpace) -> None:
    assert active_when(space, "svm_C") == "algorithm == 'svm'"
    assert active_when(space, "svm_degree") == "algorithm == 'svm' and svm_kernel == 'poly'"
    assert active_when(space, "lr_C") == "algorithm in {'lr'}"


SOURCE = (HEADER + "    if cfg['algorithm'] == 'svm':\n        c = cfg['svm_C']\n    d = cfg['svm_degree']\n"
          "    depth = cfg['rf_max_depth']\n    c = cfg['lr_C']\n    return {'loss': 0.0}\n")  # fmt: skip
TRACEBACK = 'Traceback (most recent call last, generated code only):\n  File "train.py", line 4, in train\n'


def test_a_key_error_on_a_conditional_name_teaches_the_condition_and_lists_every_other_read(
    space: ConfigurationSpace,
) -> None:
    hint = inactive_read_hint(TRACEBACK + "    d = cfg['svm_degree']\nKeyError: 'svm_degree'", SOURCE, space)
    assert hint.startswith("'svm_degree' is a conditional hyperparameter, active only when algorithm == 'svm' and "
                           "svm_kernel == 'poly'")  # fmt: skip
    assert "cfg.get('svm_degree') is None while it is inactive" in hint
    assert hint.endswith("fix it there too: line 5 cfg['rf_max_depth'] (active only when algorithm == 'rf'), "
                         "line 6 cfg['lr_C'] (active only when algorithm in {'lr'}).")  # fmt: skip
    assert "line 4" not in hint and "line 3" not in hint  # the failing read itself, and the guarded one
    assert "cfg.get('svm_degree', " not in hint  # a default would hide a misspelt name


def test_setting_an_inactive_hyperparameter_teaches_the_same(space: ConfigurationSpace) -> None:
    config = space.get_default_configuration()  # algorithm=rf: every svm_ name is inactive
    with pytest.raises(Exception) as raised:
        config["svm_degree"] = 2
    error = f"{TRACEBACK}{type(raised.value).__name__}: {raised.value}"
    assert inactive_read_hint(error, SOURCE, space).startswith("'svm_degree' is a conditional hyperparameter")


@pytest.mark.parametrize("error", ["KeyError: 'X_val'", "KeyError: 'scale'", "ValueError: 'svm_C' is bad"])
def test_other_errors_get_no_hint(space: ConfigurationSpace, error: str) -> None:
    assert inactive_read_hint(TRACEBACK + error, SOURCE, space) == ""
