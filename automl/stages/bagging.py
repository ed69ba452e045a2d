"""K-fold bagging of the final model's members: what the refit's time left buys after the refits.

A member refit on every non-test row is one model. Its bag adds ``k`` more, each fitted with one of
``k`` folds of those rows left out, and the saved model averages all of them. Averaging models
fitted on different rows lowers the variance of a member's predictions, which is where AutoGluon's
``best_quality`` gains over its single fits, and unlike more search it does not tune further on
the same validation rows: it is how a longer run keeps paying once the search has stopped finding
better configurations.

Under ``--cv`` (and the small-data folds) the search has already fitted every configuration it ran
on each fold: those trials' models are the bag, copied at no cost. Otherwise a fold model is fitted
only when it would likely end before the deadline (each takes about ``(k - 1) / k`` of the member's
refit); a bag cut short keeps the folds that finished.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import joblib

from automl.data import PreparedData
from automl.errors import DataError
from automl.optimize.smac_run import TrialRecord
from automl.predictor import CardMember
from automl.rundir import MODEL_FILE
from automl.sandbox import run_train
from automl.stages.context import RunContext
from automl.stages.write import Written

logger = logging.getLogger(__name__)

# Folds of a bag when the search did not run on folds (under --cv, the search's folds are the bag's).
BAG_FOLDS = 5
BAG_PREFIX = "bag-"  # a member's fold models are in its folder's bag-<fold>/ sub-folders


@dataclass(frozen=True)
class BagCandidate:
    """A member of the final model that may get a bag: its card entry, its trials (one per fold it ran
    under ``--cv``) and how long its refit took (what a fold model's fit is estimated from)."""

    member: CardMember
    trials: tuple[TrialRecord, ...]
    refit_seconds: float
    own_trial: str = ""  # the model_dir of the trial whose model is the member's own when it was not refit


@dataclass(frozen=True)
class Bagged:
    """The members with their bags, and what building the bags did."""

    members: tuple[CardMember, ...]
    fitted: int  # fold models fitted here
    reused: int  # fold models taken from the search's --cv trials
    seconds: float


def bag_fits_per_member(context: RunContext) -> int:
    """How many fits a member's bag costs beyond its refit (for sizing the refit's reserve): none under
    ``--cv``, where the search's fold trials are the bag, else the folds' share of ``BAG_FOLDS`` refits."""
    return 0 if context.config.folds else BAG_FOLDS - 1


def bag_members(
    context: RunContext, data: PreparedData, written: Written, candidates: Sequence[BagCandidate]
) -> Bagged:
    """Give each member, best first, a bag of fold models while the walltime allows (see the module)."""
    paths, clock, config = context.paths, context.clock, context.config
    folds = config.folds or BAG_FOLDS
    fold_files: bool | None = None  # whether the folds' datasets are on disk (None: not looked at yet)
    members, fitted, reused, seconds = [], 0, 0, 0.0
    for candidate in candidates:
        member_dir = paths.member_dir(candidate.member.dir)
        by_fold = {trial.instance: trial for trial in candidate.trials
                   if trial.model_dir and trial.model_dir != candidate.own_trial}  # fmt: skip
        estimate = candidate.refit_seconds * (folds - 1) / folds
        bag = []
        for fold in range(folds):
            fold_dir = member_dir / f"{BAG_PREFIX}{fold}"
            trial = by_fold.get(paths.fold_data(fold).stem) if config.folds else None
            if trial is not None and _copy_model(paths.trials_dir / trial.model_dir, fold_dir):
                bag.append(fold_dir.name)
                reused += 1
                continue
            if not candidate.member.refit or clock.remaining() < estimate:
                continue  # a trial's own model stands in for a refit that did not fit in time: no bag either
            if fold_files is None:
                fold_files = paths.fold_data(0).is_file() or _write_folds(context, data, folds)
            if not fold_files:
                break  # the rows cannot be split into the folds (a class rarer than them): no fitted bags
            code = paths.round_files(candidate.member.round)
            outcome = run_train(code.train_py, code.space_json, paths.fold_data(fold), candidate.member.config,
                                config.seed, None, fold_dir,
                                context.limits(written.artifacts.scenario, clock.remaining()))  # fmt: skip
            seconds += outcome.wall_time
            if outcome.ok and (fold_dir / MODEL_FILE).is_file():
                bag.append(fold_dir.name)
                fitted += 1
                estimate = max(estimate, outcome.wall_time)
            else:
                shutil.rmtree(fold_dir, ignore_errors=True)
        members.append(replace(candidate.member, bag=tuple(bag)))
    if fold_files and not config.folds:  # written for the bags alone: the refit data holds the same rows
        for fold in range(folds):
            paths.fold_data(fold).unlink(missing_ok=True)
    return Bagged(tuple(members), fitted, reused, round(seconds, 3))


def _write_folds(context: RunContext, data: PreparedData, folds: int) -> bool:
    """Write the fold datasets of every non-test row, as ``--cv`` does (the same splitter and seed); False
    when the rows cannot be split so (a class with fewer rows than folds)."""
    try:
        datasets = data.fold_datasets(folds, context.config.seed)
    except DataError as error:
        logger.info("no fitted bags: %s", error)
        return False
    for fold, dataset in enumerate(datasets):
        joblib.dump(dataset, context.paths.fold_data(fold))
    return True


def _copy_model(trial_dir: Path, fold_dir: Path) -> bool:
    """Copy a fold trial's saved model into the member's bag; False if the trial kept none."""
    if not (trial_dir / MODEL_FILE).is_file():
        return False
    fold_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(trial_dir / MODEL_FILE, fold_dir / MODEL_FILE)
    return True
