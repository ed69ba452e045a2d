"""Run generated code confined: the fork server, the child it forks, and the runner's calls into it.

The optimizer, the verifier, the predictor and the report all run generated code here, so the
sandbox is its own package; :mod:`automl.verify` only judges what comes back.
"""

from automl.sandbox.child import VALIDATION_PREFIX, bag_predictions
from automl.sandbox.jobs import ExportJob, Job, PredictJob, SpaceJob, TrainJob, UnknownJobKind, job_from_message
from automl.sandbox.run import (
    CodeWarning,
    Limits,
    ModelOutput,
    TrialOutcome,
    read_validation_predictions,
    run_export,
    run_job,
    run_predict,
    run_space,
    run_train,
    stop_running_jobs,
)
from automl.sandbox.server import confine_labels, isolation_mode, warm_up

__all__ = [
    "VALIDATION_PREFIX",
    "CodeWarning",
    "ExportJob",
    "Job",
    "Limits",
    "ModelOutput",
    "PredictJob",
    "SpaceJob",
    "TrainJob",
    "TrialOutcome",
    "UnknownJobKind",
    "bag_predictions",
    "confine_labels",
    "isolation_mode",
    "job_from_message",
    "read_validation_predictions",
    "run_export",
    "run_job",
    "run_predict",
    "run_space",
    "run_train",
    "stop_running_jobs",
    "warm_up",
]
