"""The report's sections on the search itself: its progress, its trials, their budgets, what mattered.

Each builder takes the run and the page's :class:`Figures` and returns the section's body; the
page around them is :mod:`automl.report.html`'s job.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from automl.errors import AutomlError
from automl.report import plots
from automl.report.figures import Figures
from automl.report.importance import hyperparameter_importance
from automl.report.markup import Html, config_text, details, first_line, fmt, note, para, subheading, table
from automl.report.plots import TrialPoint
from automl.report.run_record import RunRecord
from automl.writers.space import load_space

BEST_TRIALS_SHOWN = 10


def _status_counts(trials: Sequence[TrialPoint]) -> str:
    counts = Counter(trial.status for trial in trials)
    return ", ".join(f"{count} {status}" for status, count in counts.most_common())


def _rank_key(trial: TrialPoint) -> tuple[float, float]:
    """Best first as the runner ranks: a higher budget (None is the full one) before a lower cost."""
    return (-(math.inf if trial.budget is None else trial.budget), trial.cost)


def search_section(run: RunRecord, figures: Figures) -> Html:
    trials = run.trials
    if not trials:
        return note("No finished trials: the search did not run or its history is missing.")
    ok = [trial for trial in trials if trial.ok]
    parts = [para(f"{len(trials)} trials finished ({_status_counts(trials)}).")]
    if ok:
        best = min(ok, key=_rank_key)
        when = f" after {best.seconds:.1f} s" if best.seconds is not None else ""
        parts.append(
            para(
                f"Best validation {run.loss}: {fmt(best.cost)} (trial {best.index}{when}"
                f"{', ' + plots.budget_label(best.budget) if best.budget is not None else ''})."
            )
        )
        caption = f"Best validation {run.loss} so far: lower is better. Each dot is a successful trial."
        if any(trial.budget is not None for trial in trials):
            caption += " Losses at different budgets are not comparable, so each budget has its own line."
        parts.append(figures.embed("search_progress", plots.progress_figure(trials, run.loss), caption))
        if not run.timed_from:
            parts.append(note("SMAC's run history is missing, so the trials' times are unknown."))
    else:
        parts.append(note("No trial succeeded."))
    rounds = run.result.rounds if run.result is not None else []
    if len(rounds) > 1:
        parts.append(subheading("Rounds"))
        parts.append(para("Between two rounds the writer read an account of the search and revised it; each round "
                          "was told the earlier trials valid in its space (carried over), and the final model drew "
                          "from all of them. Each round's space and train.py are in rounds/<n>/."))  # fmt: skip
        rows = [(entry.round, entry.trials, entry.carried_over, fmt(entry.best_loss), entry.revision or "the first")
                for entry in rounds]  # fmt: skip
        parts.append(table(["round", "trials", "carried over", f"best {run.loss}", "revision"], rows))
    return Html("".join(parts))


def trials_section(run: RunRecord, figures: Figures) -> Html:
    trials = run.trials
    if not trials:
        return note("No finished trials.")
    has_groups = any(trial.group for trial in trials)
    failures = any(not trial.ok for trial in trials)
    caption = (
        f"Every trial's validation {run.loss}"
        + (", colored by algorithm" if has_groups else "")
        + ("; crosses mark failed trials." if failures else ".")
    )
    parts = [figures.embed("trials", plots.trials_figure(trials, run.loss), caption)]
    ranked = sorted((i for i, trial in enumerate(trials) if trial.ok), key=lambda i: _rank_key(trials[i]))
    if ranked:
        parts.append(subheading(f"The {min(len(ranked), BEST_TRIALS_SHOWN)} best trials"))
        budgeted = any(trial.budget is not None for trial in trials)
        rows = [
            (
                rank,
                trials[i].index,
                trials[i].cost,
                *([trials[i].budget or "full"] if budgeted else []),
                config_text(run.configs[i]),
            )
            for rank, i in enumerate(ranked[:BEST_TRIALS_SHOWN], start=1)
        ]
        headers = ["rank", "trial", run.loss, *(["budget"] if budgeted else []), "configuration"]
        parts.append(table(headers, rows))
    failed = [i for i, trial in enumerate(trials) if not trial.ok]
    if failed:
        rows = [
            (trials[i].index, trials[i].status, first_line(run.errors[i]) or "-", config_text(run.configs[i]))
            for i in failed
        ]
        parts.append(
            details(f"Failed trials ({len(failed)})", table(["trial", "status", "error", "configuration"], rows))
        )
    return Html("".join(parts))


def budgets_section(run: RunRecord, figures: Figures) -> Html:
    budgets = sorted({trial.budget for trial in run.trials if trial.budget is not None})
    kind = (run.plan or {}).get("budget_kind") or "budget"
    counts = Counter(trial.budget for trial in run.trials if trial.budget is not None)
    parts = [
        para(
            f"Budget: {kind}. Trials per budget: "
            + ", ".join(f"{fmt(budget, 4)}: {counts[budget]}" for budget in budgets)
            + "."
        ),
        figures.embed(
            "budgets",
            plots.budget_figure(run.trials, run.loss),
            f"Validation {run.loss} against budget; lines join the same configuration as it was promoted.",
        ),
    ]
    return Html("".join(parts))


def importance_section(run: RunRecord, figures: Figures) -> Html:
    ok = [i for i, trial in enumerate(run.trials) if trial.ok]
    try:
        space = load_space(run.paths.space_json)
    except AutomlError:
        space = None
    found = hyperparameter_importance(
        [run.configs[i] for i in ok],
        [run.trials[i].cost for i in ok],
        space,
        [run.trials[i].budget for i in ok],
        seed=run.seed,
    )
    if not found.names:
        return note(f"Skipped: {found.note}.")
    caption = f"The {len(found.names)} hyperparameters the loss depended on most, in the trials SMAC ran."
    return Html(
        para(
            found.note[0].upper() + found.note[1:] + ". Inactive hyperparameters count as one more value; this "
            "describes the configurations tried, not the whole space."
        )
        + figures.embed("importance", plots.importance_figure(found.names, found.values, found.spread), caption)
    )
