"""Stage 4, refit: the ensemble method's members refit on every non-test row, then bagged, while time allows.

The first member is always refit; the others only before the run's deadline. A member whose refit
fails or does not fit in the time left keeps its trial's model (fitted without the validation rows)
instead. The time left then goes to the members' bags (:mod:`automl.stages.bagging`). For a binary label metric
(accuracy, F1, ...) the decision threshold is tuned on the members' validation predictions.
Afterwards only the best few trials keep their saved models; the rest keep their logs.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from automl.data import PreparedData
from automl.ensemble import EnsembleMethod, Member, ensemble_output
from automl.ensemble.ranking import configuration_key, ranked_groups
from automl.ensemble.selection import DEFAULT_POOL
from automl.errors import RunError
from automl.evaluate.metric import apply_threshold, tune_threshold
from automl.optimize.smac_run import OptimizationResult, TrialRecord
from automl.optimize.validation import Validation
from automl.predictor import CardMember, FittedModel, ModelCard
from automl.result import RefitSummary
from automl.rundir import MODEL_FILE, TRIAL_LOG, RunPaths
from automl.sandbox import ModelOutput, run_train
from automl.stages.bagging import BagCandidate, bag_members
from automl.stages.context import RunContext
from automl.stages.optimize import Optimized
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
    context: RunContext, data: PreparedData, written: Written, optimized: Optimized, method: EnsembleMethod
) -> FinalModel:
    """Refit the members ``method`` selects from the run history and save the final model's card."""
    paths, clock = context.paths, context.clock
    optimization, validation = optimized.result, optimized.validation
    selected = method.select(optimization.trials, validation)
    members: list[CardMember] = []
    kept: list[Member] = []  # the selected members that made it into the model, refit or not
    refit_seconds: list[float] = []  # each kept member's refit (0: none ran)
    failures: list[str] = []
    seconds, refits = 0.0, 0
    for rank, member in enumerate(selected):
        trial, member_dir = member.trial, paths.member_dir(f"{rank:02d}")
        remaining = clock.remaining()
        # The first member always gets a short minimum; the next one only if it would likely end in time.
        if rank == 0 or remaining >= seconds / max(refits, 1):
            walltime = max(remaining, clock.refit_grace()) if rank == 0 else remaining
            code = paths.round_files(trial.round)  # the space and train.py of the round that ran the trial
            outcome = run_train(code.train_py, code.space_json, paths.refit_data, trial.config,
                                context.config.seed, None, member_dir,
                                context.limits(written.artifacts.scenario, walltime))  # fmt: skip
            seconds, refits, spent = seconds + outcome.wall_time, refits + 1, outcome.wall_time
            refit_ok = outcome.ok and (member_dir / MODEL_FILE).is_file()
            if not refit_ok:
                failures.append(f"{trial.model_dir}: {outcome.status}")
        else:
            refit_ok, spent = False, 0.0
        if refit_ok or _copy_trial_model(paths, trial, member_dir):
            members.append(CardMember(member_dir.name, trial.config, trial.cost, member.weight, refit=refit_ok,
                                      round=trial.round))  # fmt: skip
            kept.append(member)
            refit_seconds.append(spent)
    if not members:
        raise RunError(f"every refit failed ({'; '.join(failures)}) and the trials saved no model: see the "
                       f"trial.log files in {paths.members_dir}")  # fmt: skip
    status, message = "success", ""
    if not any(member.refit for member in members):
        status = "fallback"
        message = "refit failed; using the trials' own models, fitted without the validation rows"
        logger.warning(message)
    elif failures:
        message = f"kept the trial's model after a failed refit: {'; '.join(failures)}"
    bag_models = 0
    if context.config.bag:
        groups = {configuration_key(group.entry): group.trials for group in ranked_groups(optimization.trials)}
        candidates = [BagCandidate(card, groups.get(configuration_key(member.trial), ()), spent,
                                   "" if card.refit else member.trial.model_dir)
                      for card, member, spent in zip(members, kept, refit_seconds, strict=True)]  # fmt: skip
        bagged = bag_members(context, data, written, candidates)
        members, seconds, bag_models = list(bagged.members), seconds + bagged.seconds, bagged.fitted + bagged.reused
    threshold, ensemble_loss = _judge(context, validation, kept, optimization)
    card = ModelCard(data.task, data.target, data.schema, data.labels, optimization.incumbent, tuple(members),
                     threshold)  # fmt: skip
    FittedModel.save_card(paths, card)
    prune_trials(paths, optimization.trials)
    prune_predictions(validation, optimization.trials)
    summary = RefitSummary(status, message, round(seconds, 3), len(members), method.name, ensemble_loss, threshold,
                           sum(member.refit for member in members), bag_models)  # fmt: skip
    return FinalModel(card, summary)


def _judge(
    context: RunContext, validation: Validation, kept: list[Member], optimization: OptimizationResult
) -> tuple[float | None, float | None]:
    """(decision threshold, the ensemble's validation loss) from the members' validation predictions
    (on the folds they all ran, when the search ended before every fold).

    The threshold is tuned only for a binary label metric; None keeps the most probable class.
    """
    judged = ensemble_output(kept, optimization.trials, validation)
    if judged is None:
        return None, None
    output, truth = judged
    threshold = None
    if context.metric.thresholded and validation.n_classes == 2:
        threshold = tune_threshold(context.metric, truth, output.proba)
        output = ModelOutput(apply_threshold(output.proba, threshold), output.proba)
    return threshold, context.metric.loss(truth, output, validation.n_classes)


def _copy_trial_model(paths: RunPaths, trial: TrialRecord, member_dir: Path) -> bool:
    """Put the trial's own model in as the member (when its refit failed or did not fit in time)."""
    trial_model = paths.trials_dir / trial.model_dir / MODEL_FILE
    if not trial.model_dir or not trial_model.is_file():
        return False
    member_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(trial_model, member_dir / MODEL_FILE)
    return True


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


def prune_predictions(validation: Validation, trials: tuple[TrialRecord, ...]) -> None:
    """Keep the validation predictions of the configurations an ensemble selection chooses from.

    On large data a run's predictions can take hundreds of megabytes; the best :data:`DEFAULT_POOL`
    configurations are all that selecting the ensemble again would read.
    """
    if not validation.predictions_dir.is_dir():
        return
    keep = {validation.path(t.model_dir).name for group in ranked_groups(trials)[:DEFAULT_POOL] for t in group.trials}
    for path in validation.predictions_dir.iterdir():
        if path.name not in keep:
            path.unlink()
