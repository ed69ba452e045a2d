"""A run's final model as one file that predicts without the run directory (``automl export``).

The file is one skops dump of a plain dict: its format and version, the model card as plain data
(task, target, feature schema and column typing, label classes, threshold, members and weights) and,
per member, its model then its bag's fold models. Loading it is one skops load that checks every
type against :mod:`automl.export.trusted` first; the models then predict in this process, through
the same :class:`~automl.predictor.FittedModel` as a run directory's sandboxed members.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io

from automl.data.tensors import TensorSchema
from automl.errors import ExportError
from automl.export.trusted import load_checked
from automl.predictor import PREDICT_LIMITS, CardMember, FittedModel, ModelCard
from automl.rundir import RunPaths, open_run_dir
from automl.sandbox import Limits, ModelOutput, bag_predictions, run_export, warm_up

EXPORT_FORMAT = "automl-model"
# Raised when the layout of the dict changes; a file of another version is refused, not misread.
EXPORT_VERSION = 1
# Rewriting a member loads each of its models, as predicting does.
EXPORT_LIMITS = PREDICT_LIMITS


class LoadedMembers:
    """An export's members: models whose types were checked before they loaded, so each predicts in-process."""

    def __init__(self, models: Sequence[Sequence[Any]]) -> None:
        self.models = models  # per member: its own model, then its bag's fold models

    def outputs(self, card: ModelCard, features: pd.DataFrame, limits: Limits) -> Iterator[ModelOutput]:
        """Each member's predictions, as the sandbox's predict job computes them (``limits`` bound no job here)."""
        n_classes = len(card.labels.classes) if card.labels else None
        for models in self.models:
            yield ModelOutput(*bag_predictions(models, features, card.labels is not None, n_classes))


def export_model(run_dir: Path, out: Path) -> Path:
    """Write the final model of ``run_dir`` to ``out`` as one skops file; returns ``out``.

    Each member's joblib files are rewritten with skops in a sandbox job, and their types are checked
    before the parent loads them: a member holding a type outside the trusted set is an :class:`ExportError`
    naming it, and no file is written.
    """
    paths = open_run_dir(run_dir)
    card = ModelCard.read(paths)
    if isinstance(card.schema, TensorSchema):  # skops cannot write torch tensors, and its trusted types hold none
        raise ExportError(f"'{run_dir}' holds a network trained on tensor data, which cannot be exported yet: "
                          f"predict with the run directory (automl predict {run_dir} --data ...)")  # fmt: skip
    warm_up(readable=[paths.model_dir])  # every member's models visible to one server start
    members = [_member_models(paths, member) for member in card.members]
    bundle = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "card": card.to_dict(), "members": members}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump(bundle, out, compression=zipfile.ZIP_DEFLATED)
    return out


def _member_models(paths: RunPaths, member: CardMember) -> list[Any]:
    """A member's models (its own, then its bag's), rewritten in the sandbox and loaded once checked."""
    own, *bag = member.model_paths(paths.member_dir(member.dir))
    outcome, data = run_export(own, EXPORT_LIMITS, bag)
    if data is None:
        raise ExportError(f"the model in '{own.parent}' could not be exported ({outcome.reason})")
    return load_checked(data, f"the model in '{own.parent}'")


def load_model(path: Path) -> FittedModel:
    """The model an ``automl export`` file holds, predicting in this process.

    Every type in the file is checked against the trusted set before anything loads; a file naming another
    type, not made by ``automl export`` or of another format version is an :class:`ExportError`.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"'{path}' is not a file: pass a model written by 'automl export'")
    bundle = load_checked(path.read_bytes(), f"'{path}'")
    if not isinstance(bundle, dict) or bundle.get("format") != EXPORT_FORMAT:
        raise ExportError(f"'{path}' is a skops file but not a model exported by 'automl export'")
    if bundle.get("version") != EXPORT_VERSION:
        raise ExportError(f"'{path}' is an export of format version {bundle.get('version')!r}; this automl reads "
                          f"version {EXPORT_VERSION}: export the run again with this automl")  # fmt: skip
    try:
        card = ModelCard.from_dict(bundle["card"])
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"'{path}': its model card cannot be read ({error!r})") from None
    members = bundle.get("members")
    if not isinstance(members, list) or len(members) != len(card.members) or not all(members):
        raise ExportError(f"'{path}': its members do not match its model card")
    return FittedModel(card, LoadedMembers(members))
