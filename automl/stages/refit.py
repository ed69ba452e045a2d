"""Stage 4, refit: the ensemble method's members refit on every non-test row, while time allows.

The incumbent is always refit; the others only before the run's deadline. If no refit succeeds, the
incumbent's trial model (fitted without the validation rows) stands in. Afterwards only the best few
trials keep their saved models; the rest keep their logs.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass

from automl.data import PreparedData
from automl.ensemble import EnsembleMethod
from automl.errors import RunError
from automl.optimize.smac_run import OptimizationResult, TrialRecord
from automl.predictor import CardMember, FittedModel, ModelCard
from automl.result import RefitSummary
from automl.rundir import MODEL_FILE, TRIAL_LOG, RunPaths
from automl.sandbox import run_train
from automl.stages.context import RunContext
from automl.stages.write import Written

logger = logging.getLogger(__name__)

# How many trials keep their saved model; the others keep only their log.
KEEP_TRIAL_MODELS = 3


@dataclass(frozen=True)
class FinalModel:
    """The saved model's card and how building it went."""

    card: ModelCard
    summary: RefitSummary


def refit(
    context: RunContext, data: PreparedData, written: Written, optimization: OptimizationResult, method: EnsembleMethod
) -> FinalModel:
    """Refit the members ``method`` selects from the run history and save the final model's card."""
    paths, clock = context.paths, context.clock
    members: list[CardMember] = []
    failures: list[str] = []
    seconds = 0.0
    for rank, member in enumerate(method.select(optimization.trials)):
        remaining = clock.remaining()
        if rank > 0 and remaining < seconds / rank:  # the next member would likely end past the deadline
            break
        # The incumbent always gets a short minimum: if even that fails, its trial model stands in.
        walltime = max(remaining, clock.refit_grace()) if rank == 0 else remaining
        member_dir = paths.member_dir(f"{rank:02d}")
        trial = member.trial
        outcome = run_train(paths.train_py, paths.space_json, paths.refit_data, trial.config, context.config.seed,
                            None, member_dir, context.limits(written.artifacts.scenario, walltime))  # fmt: skip
        seconds += outcome.wall_time
        if outcome.ok and (member_dir / MODEL_FILE).is_file():
            members.append(CardMember(member_dir.name, trial.config, trial.cost, member.weight))
        else:
            failures.append(f"{trial.model_dir}: {outcome.status}")
    status, message = "success", ""
    if not members:
        best = _trial_model_stand_in(paths, optimization, failures)
        members = [CardMember("00", best.config, best.cost)]
        status = "fallback"
        message = f"refit failed; using the model of trial {best.model_dir}, fitted without the validation rows"
        logger.warning(message)
    elif failures:
        message = f"left out of the ensemble after a failed refit: {'; '.join(failures)}"
    card = ModelCard(data.task, data.target, data.schema, data.labels, optimization.incumbent, tuple(members))
    FittedModel.save_card(paths, card)
    prune_trials(paths, optimization.trials)
    return FinalModel(card, RefitSummary(status, message, round(seconds, 3), len(members)))


def _trial_model_stand_in(paths: RunPaths, optimization: OptimizationResult, failures: list[str]) -> TrialRecord:
    """Copy the incumbent's own trial model in as member 00 when every refit failed; returns that trial."""
    saved = [t for t in optimization.incumbent_trials if t.status == "success" and t.model_dir]
    best = min(saved or optimization.incumbent_trials, key=lambda t: (-(t.budget or 0.0), t.cost))
    trial_model = paths.trials_dir / best.model_dir / MODEL_FILE
    if not trial_model.is_file():
        raise RunError(f"every refit failed ({'; '.join(failures)}) and the incumbent's trial saved no "
                       f"model: see the trial.log files in {paths.members_dir}")  # fmt: skip
    paths.member_dir("00").mkdir(parents=True, exist_ok=True)
    shutil.copy2(trial_model, paths.member_dir("00") / MODEL_FILE)
    return best


def prune_trials(paths: RunPaths, trials: tuple[TrialRecord, ...]) -> None:
    """Keep the saved models of the best few trials; the rest keep their logs only."""
    ranked = sorted((t for t in trials if t.status == "success" and t.model_dir), key=lambda t: t.cost)
    keep = {trial.model_dir for trial in ranked[:KEEP_TRIAL_MODELS]}
    if not paths.trials_dir.is_dir():
        return
    for trial_dir in paths.trials_dir.iterdir():
        if trial_dir.name in keep or not trial_dir.is_dir():
            continue
        for item in trial_dir.iterdir():
            if item.name != TRIAL_LOG:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
