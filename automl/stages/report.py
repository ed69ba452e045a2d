"""Stage 6, report: report.html and plots/ from the finished run directory, in the walltime's reserve for it."""

from __future__ import annotations

import logging

from automl.data import PreparedData
from automl.stages.context import RunContext
from automl.stages.evaluate import Evaluated

logger = logging.getLogger(__name__)


def report(context: RunContext, data: PreparedData, evaluated: Evaluated) -> None:
    """Write the report; the run's results are already saved, so a failure here only warns."""
    from automl.report.html import TestEvaluation, write_report  # matplotlib loads only now

    root = context.paths.root
    try:
        write_report(root, TestEvaluation.from_predictions(data, evaluated.predictions))
    except Exception as error:  # a broken plot must not cost a finished run; the user can retry
        logger.warning("report.html was not written (%s: %s): run 'automl report %s' to retry",
                       type(error).__name__, error, root)  # fmt: skip
