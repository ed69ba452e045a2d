"""The table printed at the end of a run: what was tuned, how well, and where everything is."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from automl.result import RoundSummary, RunSummary
from automl.verify.verifier import VerifyReport

# Which test metric a reader looks at first, per task.
HEADLINE = {
    "classification": ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
# What ended the search (result.json's stopped_by), in words.
STOPPED_BY = {"trials": "stopped at the trial cap", "time": "stopped by the walltime", "interrupted": "interrupted"}


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _tuning_rows(result: RunSummary) -> str:
    """How the non-test rows were used: fit + validation rows, or the folds they were cut into."""
    rows = result.dataset.rows
    if result.cv_folds:
        return f"{rows['train'] + rows['validation']} rows to tune on {result.cv_folds} folds"
    return f"{rows['train']}+{rows['validation']} rows to tune"


def _round_line(entry: RoundSummary) -> str:
    """One round in a few words: its new trials, those carried over, its best loss and what the writer changed."""
    carried = f" + {entry.carried_over} carried over" if entry.carried_over else ""
    best = f", best {_number(entry.best_loss)}" if entry.best_loss is not None else ""
    change = f" ({entry.revision[:80]})" if entry.revision else ""
    return f"{entry.round}: {entry.trials} trials{carried}{best}{change}"


def summary_table(result: RunSummary) -> Table:
    """A two-column table of a run's summary (``result.json``)."""
    table = Table(title="automl run", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    dataset = result.dataset
    table.add_row(
        "dataset",
        f"{dataset.source} → {dataset.target} ({dataset.task}, {_tuning_rows(result)}, "
        f"{dataset.rows['test']} held out)",
    )
    table.add_row("writer / facade", f"{result.writer} / {result.facade}")
    if result.fallback:
        table.add_row("fallback", f"[yellow]offline writer: {result.fallback.from_} failed "
                      f"({escape(result.fallback.reason)})[/]")  # fmt: skip
    usage = result.llm
    if usage:
        cost = f", ${usage.cost_usd:.4f}" if usage.cost_usd is not None else ""
        how = "replayed" if usage.replayed else f"{usage.waited_s:.1f} s waiting"
        table.add_row("model calls", f"{usage.calls} ({usage.tokens} tokens{cost}, {how}); "
                      f"{result.rejected_drafts} drafts rejected")  # fmt: skip
    statuses = ", ".join(f"{count} {status}" for status, count in result.trial_statuses.items())
    ended = f"; {STOPPED_BY[result.stopped_by]}" if result.stopped_by in STOPPED_BY else ""
    table.add_row("trials", f"{result.n_trials} ({statuses}{ended})")
    if len(result.rounds) > 1:
        table.add_row("rounds", "; ".join(_round_line(entry) for entry in result.rounds))
    if result.interrupted:
        table.add_row("interrupted", f"[yellow]yes: the search stopped at Ctrl-C and its best so far was refit; "
                      f"'automl run --resume {escape(str(result.run_dir))}' continues it[/]")  # fmt: skip
    table.add_row("incumbent", ", ".join(f"{k}={_number(v)}" for k, v in result.incumbent.items()))
    table.add_row(f"validation {result.loss}", _number(result.validation_loss))
    for name in dict.fromkeys((result.metric, *HEADLINE[dataset.task])):  # the run's metric first
        if name in result.test_metrics:
            table.add_row(f"test {name}", _number(result.test_metrics[name]))
    refit = result.refit
    bags = f", {refit.bag_models} fold models in their bags" if refit.bag_models else ""
    table.add_row("final model", f"{refit.ensemble_size} member{'s' if refit.ensemble_size != 1 else ''}{bags}")
    if result.refit.status != "success":
        table.add_row("refit", f"[yellow]{result.refit.status}: {escape(result.refit.message)}[/]")
    table.add_row("time", f"{result.timings['total']:.1f} s")
    table.add_row("run directory", result.run_dir)
    return table


def verify_table(report: VerifyReport) -> Table:
    """One row per check of ``automl verify``: outcome, time, and the gist of what it found."""
    verdict = "[green]accepted[/]" if report.accepted else "[red]rejected[/]"
    table = Table(title=f"verify: {verdict}", title_justify="left", caption=f"sandbox: {report.isolation}")
    for column in ("check", "outcome", "seconds", "message"):
        table.add_column(column)
    for check in report.checks:
        outcome = "[red]failed[/]" if not check.ok else "[yellow]warning[/]" if check.warning else "[green]ok[/]"
        message = check.message if check.ok else check.summary.split(": ", 1)[-1]
        table.add_row(check.name, outcome, f"{check.seconds:.2f}", message)
    return table
