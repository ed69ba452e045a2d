"""The verify stage: the judges the write stage's repair loop asks about each draft of space and train.py.

Verification is not a step after writing but inside it: a rejected draft goes back to the writer
with its errors before the next artifact is asked for. Generated code only ever runs in the sandbox.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from ConfigSpace import ConfigurationSpace

from automl._io import write_json, write_text
from automl.data import PreparedData
from automl.rundir import RoundFiles
from automl.stages.context import RunContext
from automl.verify.space_check import check_space_code
from automl.verify.verifier import VerifyInputs, verify_train
from automl.writers import Artifacts
from automl.writers.base import DraftRejected

# Seconds the smoke tests may take: this share of the run's walltime, within these bounds.
SMOKE_SHARE = 0.03
SMOKE_MIN_SECONDS = 1.5
SMOKE_MAX_SECONDS = 60.0


def judge_space(
    context: RunContext, draft: str | ConfigurationSpace, files: RoundFiles | None = None
) -> ConfigurationSpace:
    """A space made without code stands; generated code is checked and run in the sandbox, and once accepted
    kept as ``files``' config_space.py (default: the first round's)."""
    if isinstance(draft, ConfigurationSpace):
        return draft
    paths = files or context.paths.round_files(1)
    context.progress.stage("building the config space in the sandbox")
    code_path = paths.drafts_dir / paths.space_py.name
    write_text(code_path, draft)
    shutil.rmtree(paths.drafts_dir / "space", ignore_errors=True)
    checked = check_space_code(code_path, paths.drafts_dir / "space",
                               context.config.scenario.trial_memory_limit_mb, context.config.seed)  # fmt: skip
    if checked.space is None or checked.errors:
        raise DraftRejected(draft, with_warnings(list(checked.errors), checked.warnings))
    _show_warnings(context, "space", checked.warnings)
    os.replace(code_path, paths.space_py)
    return checked.space


def judge_train(
    context: RunContext,
    data: PreparedData,
    artifacts: Artifacts,
    isolation: str,
    source: str,
    files: RoundFiles | None = None,
) -> float:
    """Verify a train.py draft in the sandbox against ``files``' saved space; it becomes that round's train.py
    only once accepted (default: the first round's).

    Returns how long the default configuration took (it sizes the refit's reserve).
    """
    paths = files or context.paths.round_files(1)
    context.progress.stage("verifying train.py in the sandbox")
    settings = artifacts.scenario
    draft_path = paths.drafts_dir / paths.train_py.name
    write_text(draft_path, source)
    shutil.rmtree(paths.verify_dir, ignore_errors=True)
    n_classes = len(data.labels.classes) if data.labels else None
    smoke_seconds = min(max(SMOKE_SHARE * settings.walltime_limit, SMOKE_MIN_SECONDS), SMOKE_MAX_SECONDS)
    inputs = VerifyInputs(draft_path, paths.space_json, context.paths.search_data, data.search_dataset(), n_classes,
                          paths.verify_dir, artifacts.plan.min_budget, artifacts.plan.max_budget, smoke_seconds,
                          settings.extra_imports, deadline=context.clock.deadline)  # fmt: skip
    report = verify_train(inputs, artifacts.space, context.config.seed, context.limits(settings), isolation)
    write_json(paths.verify_json, report.to_dict())
    if not report.accepted:
        raise DraftRejected(source, with_warnings(report.errors, report.warnings))
    _show_warnings(context, "train.py", report.warnings)
    os.replace(draft_path, paths.train_py)
    shutil.rmtree(paths.drafts_dir, ignore_errors=True)
    return report.seconds("default_configuration")


def with_warnings(errors: list[str], warnings: Sequence[str]) -> list[str]:
    """A rejection's errors, then its warnings: a next draft is asked for anyway, so it may fix them too."""
    return errors + [f"warning (fix it too): {warning}" for warning in warnings]


def _show_warnings(context: RunContext, artifact: str, warnings: Sequence[str]) -> None:
    """An accepted draft's warnings, on the console: the run goes on with them."""
    for warning in warnings:
        context.progress.stage(f"warning: {artifact} accepted with a finding: {warning.splitlines()[0][:200]}")
