"""``report.html``: one self-contained page that explains a run, from its data to its test score.

Everything the page shows is read from the run directory (:mod:`automl.report.run_record`), except
the test rows' true values and predictions: those are never written there (the held-out rows stay
out of the run directory), so the runner hands them over from memory as a :class:`TestEvaluation`,
and ``automl report`` rebuilds them by loading the data again and predicting in the sandbox
(:mod:`automl.report.evaluation`). The page embeds its images and styles and loads nothing, so it
opens offline and can be mailed as one file. Every text on it is escaped (:mod:`automl.report.markup`):
configurations, messages and code come from generated code and language models.

This module assembles the page from the section builders of :mod:`automl.report.sections`,
:mod:`automl.report.search_sections` and :mod:`automl.report.evaluation_section`.
"""

from __future__ import annotations

import logging
import string
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from automl._io import write_text
from automl.errors import AutomlError
from automl.report.evaluation import TestEvaluation, rebuild_test_evaluation
from automl.report.evaluation_section import evaluation_section
from automl.report.figures import Figures
from automl.report.markup import Html, esc, fmt
from automl.report.run_record import RunRecord, load_run
from automl.report.runs import main_test_metric
from automl.report.search_sections import budgets_section, importance_section, search_section, trials_section
from automl.report.sections import (
    code_section,
    dataset_section,
    llm_section,
    model_section,
    plan_section,
    verification_section,
)

__all__ = ["SECTIONS", "RunRecord", "TestEvaluation", "load_run", "rebuild_test_evaluation", "write_report"]

logger = logging.getLogger(__name__)

REPORT_NAME = "report.html"
PLOTS_DIR = "plots"
# The page's sections in order: id and heading. The budget section appears only when trials had budgets.
SECTIONS = (
    ("dataset", "Data"),
    ("plan", "Plan"),
    ("search", "Search progress"),
    ("trials", "Trials"),
    ("budgets", "Budgets"),
    ("importance", "Hyperparameter importance"),
    ("model", "Final model"),
    ("test", "Test evaluation"),
    ("code", "train.py"),
    ("llm", "Model calls"),
    ("verification", "Verification"),
)


def _status(run: RunRecord) -> str:
    if run.result is None:
        return "incomplete"
    return "interrupted" if run.result.interrupted else "finished"


def _facts(run: RunRecord) -> Html:
    """The few numbers at the top of the page that say how the run went."""
    result = run.result
    facts: list[tuple[str, str]] = [("task", run.task or "?")]
    headline = main_test_metric(run.task, result.test_metrics) if result else None
    if headline:
        facts.append((f"test {headline[0]}", fmt(headline[1], 4)))
    if result is not None and result.validation_loss is not None:
        facts.append((f"validation {run.loss}", fmt(result.validation_loss, 4)))
    facts.append(("trials", str(result.n_trials if result else len(run.trials))))
    if result is not None and result.timings.get("total") is not None:
        facts.append(("time", f"{float(result.timings['total']):.1f} s"))
    facts.append(("status", _status(run)))
    return Html(
        "".join(f'<div class="fact"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div></div>' for k, v in facts)
    )


def _section(section_id: str, heading: str, body: str) -> str:
    return f'<section id="{esc(section_id)}"><h2>{esc(heading)}</h2>{body}</section>'


def _render(run: RunRecord, figures: Figures, evaluation: TestEvaluation | None, problem: str) -> str:
    builders: dict[str, Callable[[RunRecord, Figures], Html]] = {
        "dataset": dataset_section,
        "plan": plan_section,
        "search": search_section,
        "trials": trials_section,
        "budgets": budgets_section,
        "importance": importance_section,
        "model": model_section,
        "test": lambda r, f: evaluation_section(r, f, evaluation, problem),
        "code": code_section,
        "llm": llm_section,
        "verification": verification_section,
    }
    has_budgets = any(trial.budget is not None for trial in run.trials)
    shown = [(sid, heading) for sid, heading in SECTIONS if sid != "budgets" or has_budgets]
    sections = "\n".join(_section(sid, heading, builders[sid](run, figures)) for sid, heading in shown)
    nav = "".join(f'<a href="#{esc(sid)}">{esc(heading)}</a>' for sid, heading in shown)
    data = (run.run or {}).get("arguments", {}).get("data") or (run.dataset or {}).get("source") or "?"
    started = (run.run or {}).get("started") or "?"
    versions = (run.run or {}).get("versions") or {}
    template = string.Template(resources.files("automl.report").joinpath("templates/report.html").read_text("utf-8"))
    return template.substitute(
        title=esc(f"automl run {run.paths.root.name}"),
        subtitle=esc(f"{data} · started {started} · {run.paths.root}"),
        facts=_facts(run),
        nav=nav,
        sections=sections,
        footer=esc(
            f"Written by automl report on {time.strftime('%Y-%m-%d %H:%M:%S')}. "
            + ", ".join(f"{name} {version}" for name, version in versions.items())
        ),
    )


def write_report(run_dir: Path, test_evaluation: TestEvaluation | None = None) -> Path:
    """Write ``run_dir/report.html`` (and its figures under ``run_dir/plots/``); returns the page's path.

    Without ``test_evaluation`` (a later ``automl report``), the test rows are loaded and predicted
    again; when that is impossible the test section says why and the rest of the page stands.
    """
    run = load_run(run_dir)
    problem = ""
    if test_evaluation is None and run.paths.model_json.is_file() and run.run is not None:
        try:
            test_evaluation = rebuild_test_evaluation(run.paths.root)
        except (AutomlError, OSError, KeyError) as error:  # data moved or changed, model missing, old run.json
            problem = f"The test plots need the test rows again, which could not be loaded: {error}"
            logger.warning("report: %s", problem)
    elif test_evaluation is None:
        problem = "No final model: the run stopped before its refit."
    figures = Figures(run.paths.root / PLOTS_DIR)
    page = _render(run, figures, test_evaluation, problem)
    figures.remove_stale()
    report = run.paths.root / REPORT_NAME
    write_text(report, page)
    return report
