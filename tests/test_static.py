"""The static gate judges the source's shape before anything runs."""

from __future__ import annotations

import pytest

from automl.verify.static import check_source

GOOD = "def train(cfg, dataset, seed, budget=None, model_dir=None):\n    return {'loss': 0.0}\n"


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
