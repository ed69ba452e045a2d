"""Answer a run's model calls from another run's records: no network, no key, the same texts.

This is what makes a model-written run reproducible and debuggable offline (``automl run --replay``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from automl.errors import WriterError
from automl.llm.client import CUT_OFF_REASON
from automl.llm.records import RECORD_NAME, write_record
from automl.sandbox.secrets import redact_obj

logger = logging.getLogger(__name__)


class ReplayClient:
    """Answers from a recorded run's model calls, in order: no network, no key, same texts.

    It records what it serves into ``record_dir`` (each with ``replayed_from``), so a replayed run can
    itself be replayed.
    """

    def __init__(self, source_dir: Path, record_dir: Path, model: str | None = None) -> None:
        self.source_dir = Path(source_dir)
        self.record_dir = Path(record_dir)
        self.waited_seconds = 0.0
        self.calls = 0
        self.cut_off = False
        self._records = self._load()
        first = self._records[min(self._records)][1]
        self.model = model or str(first.get("model") or "replay")

    def _load(self) -> dict[int, tuple[Path, dict[str, Any]]]:
        source = self.source_dir
        if not source.is_dir():
            raise WriterError(f"replay: {source} does not exist: give the folder of model calls of a recorded run")
        if self.record_dir.exists() and self.record_dir.resolve() == source.resolve():
            raise WriterError(f"replay: the replay would overwrite the records in {source}: record into another folder")
        records: dict[int, tuple[Path, dict[str, Any]]] = {}
        for path in sorted(source.iterdir()):
            match = RECORD_NAME.match(path.name)
            if match is None or not path.is_file():
                continue
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                problem = type(exc).__name__
                raise WriterError(f"replay: cannot read the record {path} ({problem}): it is damaged") from None
            index = int(match.group(1))
            if index in records:
                raise WriterError(f"replay: {source} has two records for call {index}: keep only one of them")
            records[index] = (path, record)
        if not records:
            raise WriterError(
                f"replay: {source} has no recorded model calls (files like 001-plan.json): "
                "give the folder of model calls of a run made with a model"
            )
        return records

    def complete(self, stage: str, messages: list[dict[str, str]], attempt: int = 1) -> str:
        """The recorded answer for this call, after checking that the run asks the same thing."""
        self.calls += 1
        index = self.calls
        if index not in self._records:
            raise WriterError(
                f"replay: {self.source_dir} has no recorded answer for call {index} (stage {stage!r}, "
                f"attempt {attempt}): the recorded run made only {len(self._records)} model calls, "
                "so it cannot be replayed past this point"
            )
        path, record = self._records[index]
        recorded_stage = record.get("stage")
        if recorded_stage != stage:
            raise WriterError(
                f"replay: call {index} asks for stage {stage!r} but the recorded call was for stage "
                f"{recorded_stage!r} ({path.name}): the run took another path than the recorded one"
            )
        if record.get("messages") != redact_obj(messages):
            logger.warning(
                "replay: the prompt of call %d (stage %r) differs from the recorded one in %s "
                "(another automl version or other data?); using the recorded answer anyway",
                index,
                stage,
                path,
            )
        write_record(self.record_dir / path.name, {**record, "replayed_from": str(path)})
        self.cut_off = record.get("finish_reason") == CUT_OFF_REASON
        return str(record.get("response") or "")
