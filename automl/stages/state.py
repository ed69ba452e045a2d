"""The run state: a journal of what each stage produced, from which ``result.json`` is built."""

from __future__ import annotations

from dataclasses import dataclass

from automl.stages.evaluate import Evaluated
from automl.stages.optimize import Optimized
from automl.stages.prepare import Prepared
from automl.stages.refit import FinalModel
from automl.stages.write import Written


@dataclass(frozen=True)
class RunState:
    """Each stage's output, in stage order; the orchestrator fills it, no stage writes into it."""

    prepared: Prepared
    written: Written
    optimized: Optimized
    final: FinalModel
    evaluated: Evaluated
    timings: dict[str, float]  # seconds per stage, and the run's total
