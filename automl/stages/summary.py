"""The run's summary (``result.json``), built from the run state alone."""

from __future__ import annotations

from pathlib import Path

from automl._io import read_json
from automl.result import BudgetSummary, DatasetSummary, ModelUsage, RunSummary
from automl.stages.context import RunContext
from automl.stages.state import RunState


def summarize(context: RunContext, state: RunState) -> RunSummary:
    """What ``result.json`` says about the run in ``state``."""
    config, data = context.config, state.prepared.data
    artifacts, optimization = state.written.artifacts, state.optimized.result
    statuses: dict[str, int] = {}
    for trial in optimization.trials:
        statuses[trial.status] = statuses.get(trial.status, 0) + 1
    best = min(optimization.incumbent_trials, key=lambda t: (-(t.budget or 0.0), t.cost), default=None)
    top_budget = max((t.budget or 0.0 for t in optimization.incumbent_trials), default=0.0)
    folds = {t.instance for t in optimization.incumbent_trials if t.instance and (t.budget or 0.0) == top_budget}
    plan = artifacts.plan
    budget = None
    if plan.budget_kind is not None:
        seen = sorted({trial.budget for trial in optimization.trials if trial.budget is not None})
        budget = BudgetSummary(plan.budget_kind, plan.min_budget, plan.max_budget, seen)
    splits = data.description["splits"]
    rows = {key: splits[key] for key in ("train", "validation", "test")}
    dataset = DatasetSummary(config.data, data.target, data.task, rows, splits["test_source"], data.fingerprint)
    return RunSummary(
        run_dir=str(context.paths.root),
        dataset=dataset,
        writer=artifacts.writer,
        fallback=state.written.fallback,
        rejected_drafts=state.written.repairs,
        scenario_notes=list(state.written.scenario_notes),
        llm=model_usage(context.paths.llm_dir),
        facade=plan.facade,
        budget=budget,
        cv_folds=config.folds,
        incumbent_folds=len(folds) if config.folds else None,
        workers=config.dask_scheduler or config.workers,
        interrupted=state.optimized.interrupted,
        n_trials=len(optimization.trials),
        trial_statuses=statuses,
        incumbent=optimization.incumbent,
        loss=context.metric.loss_name,
        validation_loss=optimization.incumbent_cost,
        validation_metrics=best.metrics if best else {},
        test_metrics=state.evaluated.test_metrics,
        refit=state.final.summary,
        sandbox=state.written.isolation,
        timings=state.timings,
        metric=context.metric.name,
        stopped_by=state.optimized.stopped_by,
        rounds=list(state.optimized.rounds),
    )


def model_usage(llm_dir: Path) -> ModelUsage | None:
    """Calls, tokens and cost of the model calls recorded in ``llm/`` (None when no model was asked)."""
    records = [read_json(path) for path in sorted(llm_dir.glob("*.json"))] if llm_dir.is_dir() else []
    if not records:
        return None
    costs = [record.get("cost_usd") for record in records]
    return ModelUsage(
        model=records[0].get("model"),
        calls=len(records),
        tokens=sum((record.get("tokens") or {}).get("total") or 0 for record in records),
        cost_usd=round(sum(costs), 6) if all(isinstance(cost, int | float) for cost in costs) else None,
        waited_s=round(sum(record.get("waited_s") or 0.0 for record in records), 3),
        replayed=any(record.get("replayed_from") for record in records),
    )
