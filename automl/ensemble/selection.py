"""Greedy ensemble selection with replacement (Caruana et al., 2004), as auto-sklearn builds its ensembles.

Every trial's saved model predicted the validation rows; this method starts from nothing and, round
after round, adds (again, if it is the best choice) the configuration whose predictions most lower
the run's metric of the averaged ensemble. A configuration's weight is the share of rounds that
picked it. Unlike averaging the top few, it learns from the predictions which configurations
complement each other, and it optimizes the user's metric directly, not the ranking's loss.

Overfitting the validation rows is held back three ways: the candidates are the best ``pool``
configurations, the ensemble stops growing new members at ``size`` (the refit stage refits each one),
and the rounds' best ensemble is kept, not the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from automl.ensemble.base import Member
from automl.ensemble.ranking import RankedConfiguration, configuration_key, ranked_groups
from automl.ensemble.top_k import TopKAverage
from automl.optimize.smac_run import TrialRecord
from automl.optimize.validation import Validation
from automl.sandbox import ModelOutput

DEFAULT_SIZE = 5  # distinct members at most: each is refit on every non-test row
DEFAULT_POOL = 25  # the best configurations the rounds choose from
DEFAULT_ROUNDS = 25  # weights come in steps of 1/rounds


def _as_output(mean: np.ndarray, classify: bool) -> ModelOutput:
    """Averaged probabilities (class codes from their argmax) or averaged values."""
    return ModelOutput(mean.argmax(axis=1).astype(np.float64), mean) if classify else ModelOutput(mean, None)


def average(outputs: Sequence[ModelOutput], weights: Sequence[float]) -> ModelOutput:
    """The weighted average of members' predictions, as the saved model averages them."""
    classify = outputs[0].proba is not None
    arrays = [output.proba if classify else output.values for output in outputs]
    return _as_output(np.average(arrays, axis=0, weights=weights), classify)


@dataclass(frozen=True)
class EnsembleSelection:
    """Caruana's greedy forward selection with replacement over the run's best ``pool`` configurations."""

    size: int = DEFAULT_SIZE
    pool: int = DEFAULT_POOL
    rounds: int = DEFAULT_ROUNDS
    name: str = "ensemble_selection"

    def __post_init__(self) -> None:
        if min(self.size, self.pool, self.rounds) < 1:
            raise ValueError(f"size, pool and rounds must be at least 1, got {self.size}, {self.pool}, {self.rounds}")

    def select(self, trials: Sequence[TrialRecord], validation: Validation | None = None) -> tuple[Member, ...]:
        candidates = _candidates(ranked_groups(trials), validation, self.pool) if validation is not None else []
        if validation is None or not candidates:  # no complete predictions: the best configuration alone
            return TopKAverage(1).select(trials)
        if len(candidates) == 1:  # the one configuration with predictions of every validation row
            return (Member(candidates[0][0].entry, 1.0),)
        outputs = [output for _, output in candidates]
        counts = _greedy_counts(outputs, validation, self.size, self.rounds)
        chosen = sorted((i for i in range(len(counts)) if counts[i]), key=lambda i: (-counts[i], i))
        return tuple(Member(candidates[i][0].entry, counts[i] / counts.sum()) for i in chosen)


def ensemble_output(
    members: Sequence[Member], trials: Sequence[TrialRecord], validation: Validation
) -> tuple[ModelOutput, np.ndarray] | None:
    """The members' validation predictions averaged with their weights, and the true targets of those rows.

    The rows are the folds every member has predictions for (all of them, unless the search ended
    before the members ran on every fold); None when there is no such fold.
    """
    groups = {configuration_key(group.entry): group for group in ranked_groups(trials)}
    chosen = [groups.get(configuration_key(member.trial)) for member in members]
    if not members or any(group is None for group in chosen):
        return None
    folds = [fold for fold in validation.truth if all(_kept(group.trials, validation, fold) for group in chosen)]
    if not folds:
        return None
    outputs = [combined_output(group.trials, validation, folds) for group in chosen]
    truth = np.concatenate([validation.truth[fold] for fold in folds])
    return average(outputs, [member.weight for member in members]), truth  # type: ignore[arg-type]


def _kept(trials: Sequence[TrialRecord], validation: Validation, fold: str) -> bool:
    """Whether one of ``trials`` ran on ``fold`` and its predictions are kept."""
    return any((t.instance or "") == fold and t.model_dir and validation.path(t.model_dir).is_file() for t in trials)


def _candidates(
    groups: list[RankedConfiguration], validation: Validation, pool: int
) -> list[tuple[RankedConfiguration, ModelOutput]]:
    """The best ``pool`` configurations that ran at the run's highest budget, with their validation predictions.

    Lower-budget predictions would understate models that the refit trains at the full budget.
    """
    if not groups:
        return []
    top = groups[0].entry.budget or 0.0
    found = []
    for group in groups:
        if (group.entry.budget or 0.0) != top:
            break
        output = combined_output(group.trials, validation)
        if output is not None:
            found.append((group, output))
            if len(found) == pool:
                break
    return found


def combined_output(
    trials: Sequence[TrialRecord], validation: Validation, folds: Sequence[str] | None = None
) -> ModelOutput | None:
    """One configuration's predictions of the rows of ``folds`` (default: every validation row), its folds'
    concatenated in that order.

    None when one of those folds (or the one split) has no kept predictions.
    """
    by_instance = {trial.instance or "": trial for trial in trials}
    parts = []
    for instance in folds if folds is not None else validation.truth:
        trial = by_instance.get(instance)
        output = validation.load(trial.model_dir) if trial is not None and trial.model_dir else None
        if output is None:
            return None
        parts.append(output)
    values = np.concatenate([part.values for part in parts])
    has_proba = all(part.proba is not None for part in parts)
    return ModelOutput(values, np.concatenate([part.proba for part in parts]) if has_proba else None)


def _greedy_counts(outputs: list[ModelOutput], validation: Validation, size: int, rounds: int) -> np.ndarray:
    """How often each candidate was picked in the best of ``rounds`` rounds of greedy selection."""
    y, metric, n_classes = validation.y, validation.metric, validation.n_classes
    classify = outputs[0].proba is not None
    arrays = [output.proba if classify else output.values for output in outputs]
    running = np.zeros_like(arrays[0], dtype=np.float64)  # the sum of the picked candidates' predictions
    counts = np.zeros(len(outputs), dtype=np.int64)
    best_counts, best_loss = counts.copy(), np.inf
    for done in range(rounds):
        members = np.flatnonzero(counts)
        allowed = members if len(members) >= size else range(len(outputs))
        losses = {j: metric.loss(y, _as_output((running + arrays[j]) / (done + 1), classify), n_classes)
                  for j in allowed}  # fmt: skip
        pick = min(losses, key=lambda j: (losses[j], j))  # ties go to the better-ranked configuration
        counts[pick] += 1
        running += arrays[pick]
        if losses[pick] < best_loss - 1e-12:
            best_counts, best_loss = counts.copy(), losses[pick]
    return best_counts
