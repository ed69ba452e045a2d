"""The static gate judges the source's shape before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from ConfigSpace import ConfigurationSpace

from automl.verify.static import Finding, check_source, hyperparameter_names_used, load_allowed_imports

ROOT = Path(__file__).resolve().parents[1]
HEADER = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n"
GOOD = HEADER + "    return {'loss': 0.0}\n"
ALLOWED = load_allowed_imports()


def _check(body: str, **kwargs) -> list[Finding]:
    """Findings for a train() whose body is ``body`` (indented by the caller), with the default allow-list."""
    return check_source(HEADER + body, allowed_imports=kwargs.pop("allowed_imports", ALLOWED), **kwargs)


def _messages(findings: list[Finding]) -> str:
    return "\n".join(map(str, findings))


# --- signature ----------------------------------------------------------------------------------------------


def test_the_contract_signature_passes() -> None:
    assert check_source(GOOD) == []


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def train(cfg, dataset, seed):\n    pass\n", "parameters are (cfg, dataset, seed)"),
        ("def train(cfg, dataset, seed, budget=1, model_dir=None):\n    pass\n", "default to None"),
        ("def train(cfg, dataset, seed, budget=None, model_dir=None, **kw):\n    pass\n", "no *args"),
        ("async def train(cfg, dataset, seed, budget=None, model_dir=None):\n    pass\n", "not async"),
        ("def fit(cfg):\n    pass\n", "no module-level train()"),
        ("def train(:\n", "syntax error"),
    ],
)
def test_findings_name_the_problem(source: str, message: str) -> None:
    findings = check_source(source)
    assert len(findings) == 1
    assert message in str(findings[0])


def test_findings_carry_the_line() -> None:
    findings = check_source("import os\n\n\ndef train(cfg):\n    pass\n")
    assert findings[0].line == 4
    assert str(findings[0]).startswith("line 4:")


def test_a_syntax_error_is_the_only_finding() -> None:
    findings = check_source("import subprocess\n\ndef train(cfg, dataset, seed\n")
    assert len(findings) == 1
    assert "syntax error" in findings[0].message


def test_the_first_two_arguments_stay_positional() -> None:
    assert check_source(GOOD, "generated.py") == []


# --- imports ------------------------------------------------------------------------------------------------


def test_allowed_imports_pass() -> None:
    source = "import numpy as np\nimport sklearn.ensemble\nfrom sklearn.svm import SVC\nfrom os import path\n"
    assert check_source(source + GOOD) == []


@pytest.mark.parametrize(
    ("statement", "module", "reason"),
    [
        ("import subprocess", "subprocess", "starts processes"),
        ("import urllib.request", "urllib", "opens network connections"),
        ("from socket import socket", "socket", "opens network connections"),
        ("from ctypes import CDLL", "ctypes", "loads native code"),
        ("import importlib", "importlib", "imports code by name"),
        ("import yaml", "yaml", ""),
    ],
)
def test_imports_outside_the_allow_list_are_refused(statement: str, module: str, reason: str) -> None:
    findings = check_source(f"{statement}\n{GOOD}")
    assert [finding.line for finding in findings] == [1]
    assert f"import of '{module}' is not allowed" in findings[0].message
    assert reason in findings[0].message
    assert "use only " in findings[0].message and "numpy" in findings[0].message
    assert "extend allowed_imports" in findings[0].message


def test_imports_inside_functions_are_checked_too() -> None:
    findings = _check("    import subprocess\n    return {'loss': 0.0}\n")
    assert [finding.line for finding in findings] == [2]


def test_relative_imports_are_refused() -> None:
    findings = check_source("from . import helpers\nfrom .models import net\n" + GOOD)
    assert [finding.line for finding in findings] == [1, 2]
    assert "relative import" in findings[0].message


def test_extra_imports_extend_the_allow_list() -> None:
    source = "import lightgbm2\n" + GOOD
    assert "lightgbm2" not in ALLOWED
    assert check_source(source)[0].line == 1
    assert check_source(source, allowed_imports=load_allowed_imports(extra=["lightgbm2"])) == []


def test_the_bundled_allow_list_holds_the_documented_defaults() -> None:
    assert {"numpy", "pandas", "sklearn", "ConfigSpace", "os", "__future__", "torch"} <= ALLOWED
    assert not {"subprocess", "socket", "ctypes", "sys", "importlib", "pickle"} & ALLOWED


# --- dangerous names, calls and attributes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ("eval('1 + 1')", "using eval"),
        ("run = exec", "using exec"),
        ("compile('x', 'f', 'exec')", "calling compile()"),
        ("__import__('subprocess')", "using __import__"),
        ("breakpoint()", "calling breakpoint()"),
        ("input('go?')", "calling input()"),
        ("globals()['x'] = 1", "calling globals()"),
        ("vars(cfg)", "calling vars()"),
        ("__builtins__", "using __builtins__"),
        ("getattr(cfg, '__class__')", "getattr(..., '__class__')"),
        ("setattr(cfg, '__dict__', {})", "setattr(..., '__dict__')"),
        ("().__class__.__subclasses__()", "attribute __subclasses__"),
        ("train.__globals__", "attribute __globals__"),
        ("cfg.__dict__", "attribute __dict__"),
    ],
)
def test_dangerous_names_calls_and_attributes_are_refused(statement: str, fragment: str) -> None:
    findings = _check(f"    {statement}\n    return {{'loss': 0.0}}\n")
    assert findings and {finding.line for finding in findings} == {2}
    assert fragment in _messages(findings)


@pytest.mark.parametrize(
    "statement",
    [
        "name = type(cfg).__name__",
        "super().__init__()",
        "version = np.__version__",
        "pattern = re.compile('a+')",
        "value = getattr(cfg, 'algorithm', None)",
        "ok = hasattr(cfg, 'fit')",
        "main = __name__ == '__main__'",
    ],
)
def test_harmless_lookalikes_pass(statement: str) -> None:
    assert _check(f"    {statement}\n    return {{'loss': 0.0}}\n") == []


# --- os: processes and the environment ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "function"),
    [
        ("os.system('ls')", "os.system"),
        ("os.popen('ls')", "os.popen"),
        ("os.execv('/bin/sh', [])", "os.execv"),
        ("os.spawnl(0, 'sh')", "os.spawnl"),
        ("os.posix_spawn('sh', [], {})", "os.posix_spawn"),
        ("os.kill(1, 9)", "os.kill"),
        ("os._exit(0)", "os._exit"),
        ("os.putenv('A', 'b')", "os.putenv"),
        ("getattr(os, 'fork')()", "os.fork"),
    ],
)
def test_os_process_functions_are_refused(statement: str, function: str) -> None:
    findings = _check(f"    import os\n    {statement}\n    return {{'loss': 0.0}}\n")
    assert [finding.line for finding in findings] == [3]
    assert f"{function} is not allowed" in findings[0].message


def test_os_aliases_and_from_imports_are_followed() -> None:
    source = "import os as o\nfrom os import system as run\n" + HEADER + "    o.fork()\n    return {'loss': 0.0}\n"
    findings = check_source(source)
    assert [finding.line for finding in findings] == [2, 4]
    assert "os.system" in findings[0].message and "os.fork" in findings[1].message


@pytest.mark.parametrize(
    "statement",
    [
        "os.environ['OMP_NUM_THREADS'] = '1'",
        "os.environ.update({'A': 'b'})",
        "os.environ.pop('A')",
        "del os.environ['A']",
        "os.environ = {}",
        "env = os.environ",
    ],
)
def test_changing_os_environ_is_refused(statement: str) -> None:
    findings = _check(f"    import os\n    {statement}\n    return {{'loss': 0.0}}\n")
    assert [finding.line for finding in findings] == [3]
    assert "os.environ may only be read" in findings[0].message


def test_reading_os_environ_passes() -> None:
    body = (
        "    import os\n"
        "    from os import environ\n"
        "    jobs = int(os.environ.get('AUTOML_N_JOBS', '1'))\n"
        "    home = os.environ['HOME'] if 'HOME' in os.environ else os.getenv('USERPROFILE')\n"
        "    names = [name for name in environ] + list(dict(os.environ))\n"
        "    return {'loss': float(jobs)}\n"
    )
    assert _check(body) == []


def test_mutating_an_imported_environ_is_refused() -> None:
    source = "from os import environ\n" + HEADER + "    environ['A'] = 'b'\n    return {'loss': 0.0}\n"
    assert [finding.line for finding in check_source(source)] == [3]


# --- exception handlers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        "except:\n        x = None",
        "except Exception:\n        x = None",
        "except BaseException as error:\n        print(error)",
        "except (ValueError, Exception):\n        x = None",
        "except ValueError:\n        pass",
        "except ValueError:\n        ...",
        "except KeyError:\n        return None",
    ],
)
def test_handlers_that_swallow_errors_are_refused(handler: str) -> None:
    findings = _check(f"    try:\n        x = 1\n    {handler}\n    return {{'loss': 0.0}}\n")
    assert [finding.line for finding in findings] == [4]
    assert findings[0].message == (
        "this except hides errors from the optimizer: remove the try/except and let the error propagate"
    )


@pytest.mark.parametrize(
    "handler",
    [
        "except ValueError:\n        x = None",
        "except Exception as error:\n        raise RuntimeError('fit failed') from error",
        "except:\n        if True:\n            raise",
        "finally:\n        x = 2",
    ],
)
def test_specific_or_reraising_handlers_pass(handler: str) -> None:
    assert _check(f"    try:\n        x = 1\n    {handler}\n    return {{'loss': 0.0}}\n") == []


def test_swallowing_in_a_loop_with_continue_is_refused() -> None:
    body = "    for i in range(3):\n        try:\n            x = i\n"
    body += "        except ZeroDivisionError:\n            continue\n"
    assert [finding.line for finding in _check(body + "    return {'loss': 0.0}\n")] == [5]


# --- hyperparameter names -----------------------------------------------------------------------------------

SPACE = ["algorithm", "rf:n_estimators", "rf:max_features", "hgb:learning_rate"]


def test_known_hyperparameter_names_pass() -> None:
    body = (
        "    a = cfg.get('algorithm', 'rf')\n"
        "    n = cfg['rf:n_estimators']\n"
        "    lr = cfg['hgb:learning_rate'] if 'hgb:learning_rate' in cfg else 0.1\n"
        "    name = 'rf:' + a\n"
        "    dynamic = cfg.get(f'{a}:max_features'), cfg[name]\n"
        "    return {'loss': 0.0}\n"
    )
    assert _check(body, hyperparameters=SPACE) == []


@pytest.mark.parametrize(
    ("statement", "unknown", "closest"),
    [
        ("cfg.get('n_estimators', 100)", "n_estimators", "'rf:n_estimators'"),
        ("cfg['rf:max_feature']", "rf:max_feature", "'rf:max_features'"),
        ("'learning_rate' not in cfg", "learning_rate", "'hgb:learning_rate'"),
    ],
)
def test_unknown_hyperparameter_names_are_refused(statement: str, unknown: str, closest: str) -> None:
    findings = _check(f"    x = {statement}\n    return {{'loss': 0.0}}\n", hyperparameters=SPACE)
    assert [finding.line for finding in findings] == [2]
    assert f"'{unknown}' is not in the config space" in findings[0].message
    assert closest in findings[0].message and "use exact names" in findings[0].message


def test_helpers_with_config_parameters_are_checked() -> None:
    source = (
        GOOD
        + "\n\ndef _model(config, seed):\n    return config['depth']\n"
        + "\n\ndef _other(params):\n    return params['depth']\n"
    )
    findings = check_source(source, hyperparameters=SPACE)
    assert [finding.line for finding in findings] == [6]
    assert "the space defines 'algorithm'" in findings[0].message


def test_train_first_parameter_is_the_config_whatever_its_name() -> None:
    source = "def train(params, dataset, seed, budget=None, model_dir=None):\n    return params['depht']\n"
    assert "'depht'" in _messages(check_source(source, hyperparameters=SPACE))


def test_names_are_not_checked_without_a_space() -> None:
    assert _check("    return {'loss': cfg['anything']}\n") == []
    assert hyperparameter_names_used(HEADER + "    return cfg.get('a') or cfg['b'] or 'c' in cfg\n") == {"a", "b", "c"}


# --- whole files --------------------------------------------------------------------------------------------


def test_all_findings_are_reported_in_line_order() -> None:
    source = (
        "import os\n"
        "import subprocess\n"
        "\n"
        "def train(cfg, dataset, seed):\n"
        "    try:\n"
        "        os.system('ls')\n"
        "    except Exception:\n"
        "        pass\n"
        "    return eval(cfg['x'])\n"
    )
    findings = check_source(source, hyperparameters=["y"])
    assert [finding.line for finding in findings] == [2, 4, 6, 7, 9, 9]


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_offline_template_passes_cleanly(task: str) -> None:
    template = (ROOT / "automl" / "writers" / "offline_train.py").read_text(encoding="utf-8")
    source = template.replace('TASK = "__TASK__"', f'TASK = "{task}"')
    space = ConfigurationSpace.from_json(ROOT / "configs" / f"offline_{task}.json")
    assert check_source(source, hyperparameters=list(space.keys())) == []


LEGIT_TRAIN = '''
"""A train() the way a careful writer would produce it."""
from __future__ import annotations

import logging
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

logger = logging.getLogger(__name__)


def _preprocessor(X: pd.DataFrame) -> ColumnTransformer:
    numeric = X.select_dtypes(include=np.number).columns.tolist()
    categorical = [column for column in X.columns if column not in numeric]
    return ColumnTransformer([
        ("numeric", SimpleImputer(strategy="median"), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])


def _max_features(config) -> float | str:
    try:
        return float(config["max_features"])
    except ValueError:
        value = None
    return value or "sqrt"


def train(cfg, dataset, seed, budget=None, model_dir=None):
    X, y = dataset["X"], np.asarray(dataset["y"])
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    jobs = int(os.environ.get("AUTOML_N_JOBS", "1"))
    forest = RandomForestClassifier(
        n_estimators=int(cfg.get("n_estimators", 100)), max_features=_max_features(cfg), n_jobs=jobs,
        random_state=seed,
    )
    model = Pipeline([("preprocess", _preprocessor(X)), ("model", forest)])
    model.fit(X_fit, y_fit)
    loss = float(log_loss(y_val, model.predict_proba(X_val), labels=np.unique(y)))
    logger.info("loss %.4f with %s", loss, type(forest).__name__)
    if model_dir is not None:
        os.makedirs(model_dir, exist_ok=True)
        joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    return {"loss": loss}
'''


def test_a_realistic_train_passes() -> None:
    assert check_source(LEGIT_TRAIN, hyperparameters=["n_estimators", "max_features"]) == []
    assert hyperparameter_names_used(LEGIT_TRAIN) == {"n_estimators", "max_features"}


def test_the_same_problem_on_several_lines_is_one_finding_listing_every_line() -> None:
    source = (
        "import subprocess\n"
        "\n"
        "def train(cfg, dataset, seed, budget=None, model_dir=None):\n"
        "    depth = cfg['max_dept']\n"
        "    eval('1')\n"
        "    if depth:\n"
        "        depth = cfg['max_dept'] + cfg.get('max_dept')\n"
        "    return {'loss': eval('0') + cfg['max_dept']}\n"
    )
    findings = check_source(source, hyperparameters=["max_depth"], allowed_imports=ALLOWED)
    assert [(finding.line, finding.more_lines) for finding in findings] == [(1, ()), (4, (7, 8)), (5, (8,))]
    assert str(findings[1]).startswith("lines 4, 7, 8: hyperparameter 'max_dept' is not in the config space")
    assert str(findings[2]).startswith("lines 5, 8: using eval is not allowed")
    assert str(findings[0]).startswith("line 1: import of 'subprocess'")


def test_reads_for_a_choice_the_space_does_not_offer_are_dead_code_not_misspellings() -> None:
    """One train() may serve a space with fewer algorithms: its other branches never run, so their names are
    left alone; a misspelling in an offered branch, or an unguarded read, is still refused."""
    from ConfigSpace import Categorical, Integer

    from automl.verify.conditional_reads import unoffered_choice_reads

    space = ConfigurationSpace()
    space.add([Categorical("algorithm", ["mlp"]), Integer("mlp:depth", (1, 3))])
    source = HEADER + (
        "    if cfg['algorithm'] == 'cnn':\n"
        "        return {'loss': cfg['cnn:depth']}\n"  # line 3: a branch no configuration of the space takes
        "    if cfg['algorithm'] == 'mlp':\n"
        "        return {'loss': cfg['mlp:dpeth']}\n"  # line 5: misspelt where it runs
        "    return {'loss': cfg['cnn:width']}\n"  # line 6: unguarded
    )
    dead = unoffered_choice_reads(source, space)
    assert dead == {(3, "cnn:depth")}
    findings = check_source(source, hyperparameters=list(space.keys()), allowed_imports=ALLOWED, unreachable=dead)
    assert [finding.line for finding in findings] == [5, 6]
