"""The report's sections on what a run was given and what it produced: data, plan, final model, code, calls.

Each builder takes the run and the page's :class:`Figures` (so every section has the same shape,
even those without a figure) and returns the section's body. The search's own sections are in
:mod:`automl.report.search_sections`, the test section in :mod:`automl.report.evaluation_section`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from automl._io import read_json_or_none
from automl.report.figures import Figures
from automl.report.markup import (
    Html,
    code,
    config_text,
    details,
    esc,
    first_line,
    fmt,
    missing,
    note,
    pairs,
    para,
    subheading,
    table,
    warning,
)
from automl.report.run_record import RunRecord
from automl.result import RefitSummary

MAX_COLUMNS_SHOWN = 200
MESSAGE_CHARS = 4000
# scenario.json's keys as the plan section names them; other keys are shown as they are.
SCENARIO_LABELS = {
    "n_trials": "trials at most",
    "walltime_limit": "run wall time (s)",
    "trial_walltime_limit": "one trial's wall time (s)",
    "trial_memory_limit_mb": "one trial's memory (MB)",
    "deterministic": "deterministic",
    "crash_cost": "crash cost (a failed trial's loss)",
    "extra_imports": "extra imports allowed",
}


def _scenario_value(key: str, value: Any) -> Any:
    """A scenario setting as the plan section shows it."""
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if key == "n_trials" and value is None:
        return "no cap: the search runs until the walltime is spent"
    return value


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


# ----------------------------------------------------------------------------------------------------------
# Data.


def _missing_values_text(missing_values: dict[str, Any]) -> str:
    columns = missing_values.get("columns") or []
    cells = f"{fmt(missing_values.get('cells'))} cells ({100 * float(missing_values.get('fraction') or 0):.2f} %)"
    if not columns:
        return cells
    return (
        cells + f" in {len(columns)} columns: {', '.join(map(str, columns[:20]))}" + (" …" if len(columns) > 20 else "")
    )


def _target_parts(target: dict[str, Any]) -> list[Html]:
    """The classes and their balance (classification) or the target's summary statistics (regression)."""
    if target.get("classes"):
        ratio = target.get("imbalance_ratio")
        return [
            subheading("Classes"),
            table(
                ["label", "code", "rows", "share"],
                [
                    (c.get("label"), c.get("code"), c.get("count"), f"{100 * float(c.get('fraction') or 0):.1f} %")
                    for c in target["classes"]
                ],
            ),
            para(
                f"Majority class share {100 * float(target.get('majority_fraction') or 0):.1f} %; "
                f"imbalance ratio {fmt(ratio, 4)} (largest class / smallest)."
                + (
                    " The classes are imbalanced: accuracy alone would flatter a majority-class guess."
                    if isinstance(ratio, int | float) and ratio >= 3
                    else ""
                )
            ),
        ]
    if target.get("summary"):
        return [subheading("Target"), table(list(target["summary"]), [list(target["summary"].values())])]
    return []


def _columns_table(columns: list[dict[str, Any]]) -> Html:
    """Every column (up to MAX_COLUMNS_SHOWN), folded: wide data would bury the rest of the page."""
    rows = []
    for column in columns[:MAX_COLUMNS_SHOWN]:
        summary = column.get("summary") or {}
        if summary:
            described = (
                f"mean {fmt(summary.get('mean'), 4)}, std {fmt(summary.get('std'), 4)}, "
                f"range {fmt(summary.get('min'), 4)} … {fmt(summary.get('max'), 4)}"
            )
        else:
            levels = column.get("top_levels") or {}
            described = ", ".join(f"{level} ({count})" for level, count in list(levels.items())[:5])
        rows.append(
            (
                column.get("name"),
                column.get("kind"),
                column.get("dtype"),
                column.get("missing"),
                column.get("n_unique"),
                described,
            )
        )
    more = f" (first {MAX_COLUMNS_SHOWN})" if len(columns) > MAX_COLUMNS_SHOWN else ""
    return details(
        f"Columns ({len(columns)}){more}", table(["column", "kind", "dtype", "missing", "distinct", "summary"], rows)
    )


def dataset_section(run: RunRecord, figures: Figures) -> Html:
    data = run.dataset
    if not data:
        return missing("dataset.json")
    splits = data.get("splits") or {}
    columns = data.get("columns") or []
    kinds = Counter(str(column.get("kind")) for column in columns)
    by_kind = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "-"
    parts = [
        note(
            "Described from the training and validation rows only: the test rows are held out before anything "
            "looks at the data."
        ),
        pairs(
            [
                ("source", data.get("source")),
                ("target", data.get("target")),
                ("task", data.get("task")),
                ("rows to tune on", data.get("n_rows")),
                (
                    "train / validation / test rows",
                    f"{fmt(splits.get('train'))} / {fmt(splits.get('validation'))} / {fmt(splits.get('test'))}",
                ),
                ("test rows", splits.get("test_source", "-")),
                ("rows dropped (missing target)", data.get("rows_dropped_missing_target", 0)),
                _features_pair(data, columns, by_kind),
                ("missing values", _missing_values_text(data.get("missing") or {})),
            ]
        ),
        *_target_parts(data.get("target_summary") or {}),
    ]
    typed = [entry for entry in data.get("column_types") or [] if entry.get("kind") not in ("numeric", "categorical")]
    if typed:
        parts.append(subheading("Column typing"))
        parts.append(
            table(["column", "typed as", "why"], [(t.get("name"), t.get("kind"), t.get("reason")) for t in typed])
        )
    if columns:
        parts.append(_columns_table(columns))
    return Html("".join(parts))


def _features_pair(data: dict[str, Any], columns: list, by_kind: str) -> tuple[str, str]:
    """A table's feature count by kind, or a tensor sample's shape, kind and value range."""
    tensor = data.get("tensor")
    if data.get("modality") == "tensor" and tensor:
        shape = " x ".join(map(str, tensor.get("sample_shape", [])))
        low, high = tensor.get("value_range", ["-", "-"])
        return "samples", f"{shape} ({tensor.get('kind')}), values {fmt(low)} to {fmt(high)}"
    return "features", f"{fmt(data.get('n_features', len(columns)))} ({by_kind})"


# ----------------------------------------------------------------------------------------------------------
# Plan.


def plan_section(run: RunRecord, figures: Figures) -> Html:
    plan = run.plan
    if not plan:
        return missing("plan.json")
    budget = "none: every trial trains fully"
    if plan.get("budget_kind"):
        budget = f"{plan['budget_kind']} from {fmt(plan.get('min_budget'), 4)} to {fmt(plan.get('max_budget'), 4)}"
    arguments = (run.run or {}).get("arguments") or {}
    parts = [
        pairs(
            [
                ("facade", plan.get("facade")),
                ("budget", budget),
                ("algorithms", ", ".join(map(str, plan.get("algorithms") or [])) or "-"),
                ("cross-validation folds", arguments.get("cv") or "none (one validation split)"),
                ("workers", arguments.get("dask_scheduler") or arguments.get("workers") or 1),
                ("train.py is to", plan.get("train_plan") or "-"),
            ]
        ),
        subheading("Why"),
        Html("<ul>" + "".join(f"<li>{esc(reason)}</li>" for reason in plan.get("reasons") or []) + "</ul>"),
    ]
    if run.scenario:
        parts.append(subheading("Scenario limits"))
        parts.append(
            pairs([(SCENARIO_LABELS.get(key, key), _scenario_value(key, value)) for key, value in run.scenario.items()])
        )
    notes = run.result.scenario_notes if run.result else []
    if notes:
        parts.append(para("Proposals that were changed: " + "; ".join(map(str, notes))))
    return Html("".join(parts))


# ----------------------------------------------------------------------------------------------------------
# Final model and its code.


def _ensemble_words(members: list[dict], refit: RefitSummary | None, loss: str) -> str:
    """How the final model was put together, in a sentence or three."""
    method = {"ensemble_selection": "greedy ensemble selection (Caruana et al., 2004) on the trials' validation "
              "predictions", "top_k_average": "the best configurations, weighted equally"}  # fmt: skip
    words = [f"{len(members)} configuration{'s' if len(members) > 1 else ''}"]
    if refit is not None and refit.method:
        words.append(f" chosen by {method.get(refit.method, refit.method)}")
    words.append("; predictions average their class probabilities (classification) or values (regression) "
                 "with the members' weights." if len(members) > 1 else ".")  # fmt: skip
    bagged = [m for m in members if m.get("bag")]
    if bagged:
        words.append(f" {len(bagged)} of them {'are' if len(bagged) > 1 else 'is'} bagged: the member predicts the "
                     "mean of its refit and its fold models, each fitted with one fold of the non-test rows left "
                     "out.")  # fmt: skip
    if refit is not None and refit.validation_loss is not None:
        words.append(f" The ensemble's validation {loss}: {fmt(refit.validation_loss)}.")
    if refit is not None and refit.threshold is not None:
        words.append(f" Class 1 is predicted from a probability of {fmt(refit.threshold, 3)} (tuned on the "
                     "validation predictions for the run's metric).")  # fmt: skip
    return "".join(words)


def model_section(run: RunRecord, figures: Figures) -> Html:
    result, card = run.result, run.card or {}
    incumbent = result.incumbent if result else card.get("incumbent")
    if not incumbent:
        return missing("incumbent (result.json, model/metadata.json)")
    parts = [subheading("Incumbent configuration")]
    if result is not None and result.validation_loss is not None:
        parts.append(para(f"Validation {run.loss}: {fmt(result.validation_loss)}."))
    parts.append(
        table(["hyperparameter", "value"], sorted(incumbent.items(), key=lambda kv: (kv[0] != "algorithm", kv[0])))
    )
    members = card.get("members") or []
    refit = result.refit if result else None
    if members:
        parts.append(subheading("Ensemble"))
        parts.append(para(_ensemble_words(members, refit, run.loss)))
        total = sum(float(m.get("weight", 1.0)) for m in members) or 1.0
        rows = [
            (m.get("dir"), fmt(float(m.get("weight", 1.0)) / total, 3), m.get("validation_loss"),
             "yes" if m.get("refit", True) else "no: the trial's model", len(m.get("bag") or ()),
             config_text(m.get("config") or {}))
            for m in members
        ]  # fmt: skip
        header = ["member", "weight", f"trial's validation {run.loss}", "refit", "fold models", "configuration"]
        parts.append(table(header, rows))
    if refit is not None and refit.status != "success":
        parts.append(warning(f"Refit: {refit.status}: {refit.message}"))
    elif refit is not None and refit.message:
        parts.append(note(refit.message))
    if card.get("classes"):
        parts.append(para("Classes (in code order): " + ", ".join(map(str, card["classes"]))))
    return Html("".join(parts))


def code_section(run: RunRecord, figures: Figures) -> Html:
    paths = run.paths
    if not paths.train_py.is_file():
        return note("No train.py: no draft passed verification.")
    source = paths.train_py.read_text(encoding="utf-8", errors="replace")
    writer = run.result.writer if run.result else (run.run or {}).get("writer") or "?"
    parts = [
        para(f"The verified train() SMAC tuned ({len(source.splitlines())} lines, written by the {writer} writer)."),
        code(source),
    ]
    if paths.space_py.is_file():
        space_code = paths.space_py.read_text(encoding="utf-8", errors="replace")
        parts.append(details("config_space.py (the model's get_configspace())", code(space_code)))
    return Html("".join(parts))


# ----------------------------------------------------------------------------------------------------------
# Model calls and verification.


def _usage_row(name: Any, records: list[dict[str, Any]]) -> tuple[Any, ...]:
    """One row of the model-call table: the calls in ``records``, their tokens, cost and latency summed."""
    costs = [record.get("cost_usd") for record in records]
    return (
        name,
        len(records),
        *(
            int(sum(_number((record.get("tokens") or {}).get(kind)) for record in records))
            for kind in ("prompt", "completion", "total")
        ),
        round(sum(costs), 6) if all(isinstance(cost, int | float) for cost in costs) else "unknown",
        round(sum(_number(record.get("latency_s")) for record in records), 3),
    )


def _usage_table(records: list[dict[str, Any]]) -> Html:
    """Calls per stage of the run, and in total."""
    stages: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        stages.setdefault(str(record.get("stage", "?")), []).append(record)
    rows = [_usage_row(stage, in_stage) for stage, in_stage in stages.items()]
    rows.append(_usage_row(Html("<strong>total</strong>"), records))
    return table(["stage", "calls", "prompt tokens", "completion tokens", "tokens", "cost (USD)", "latency (s)"], rows)


def _rejected_drafts(attempts_dir: Path) -> list[Html]:
    """Each draft verification turned down, folded under its first error."""
    drafts = sorted(attempts_dir.glob("*.errors.txt")) if attempts_dir.is_dir() else []
    if not drafts:
        return [para("No draft was rejected.")]
    parts = [subheading(f"Rejected drafts ({len(drafts)})")]
    for errors_path in drafts:
        text = errors_path.read_text(encoding="utf-8", errors="replace")
        name = errors_path.name.removesuffix(".errors.txt")
        parts.append(
            details(f"{name}: {first_line(text)[:200]}", Html(f'<pre class="plain">{esc(text[:MESSAGE_CHARS])}</pre>'))
        )
    return parts


def llm_section(run: RunRecord, figures: Figures) -> Html:
    paths = run.paths
    found = sorted(paths.llm_dir.glob("*.json")) if paths.llm_dir.is_dir() else []
    records = [record for record in map(read_json_or_none, found) if isinstance(record, dict)]
    fallback = run.result.fallback if run.result else None
    parts: list[Html] = []
    if fallback:
        parts.append(warning(f"The offline writer took over from {fallback.from_}: {fallback.reason}"))
    if not records:
        if (run.run or {}).get("writer", "offline") == "offline" or not fallback:
            parts.append(
                para(
                    "No language model was called: the offline writer wrote the plan, the space and "
                    "train.py from fixed templates."
                )
            )
        return Html("".join(parts))
    model = records[0].get("model") or (run.run or {}).get("model") or "?"
    replayed = any(record.get("replayed_from") for record in records)
    parts.append(para(f"Model {model}" + (", replayed from recorded answers" if replayed else "") + "."))
    parts.append(_usage_table(records))
    parts.extend(_rejected_drafts(paths.attempts_dir))
    return Html("".join(parts))


def verification_section(run: RunRecord, figures: Figures) -> Html:
    report = run.verify
    if not report:
        return missing("verify.json")
    verdict = '<span class="ok">accepted</span>' if report.get("accepted") else '<span class="failed">rejected</span>'
    parts = [
        Html(f"<p>train.py was {verdict} after {len(report.get('checks') or [])} checks.</p>"),
        pairs([("sandbox", report.get("isolation") or "-")]),
    ]
    rows = []
    for check in report.get("checks") or []:
        outcome = Html('<span class="ok">ok</span>' if check.get("ok") else '<span class="failed">failed</span>')
        rows.append(
            (
                check.get("name"),
                outcome,
                round(_number(check.get("seconds")), 3),
                first_line(check.get("message"))[:300] or "",
            )
        )
    parts.append(table(["check", "outcome", "seconds", "message"], rows))
    return Html("".join(parts))
