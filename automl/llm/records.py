"""One file per model call: how records are named and written, so the live and the replay client agree.

Records are the run's memory of what the model was asked and answered; they are redacted of every
secret before they touch the disk, and written atomically so a crash never leaves half a record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from automl._io import write_text
from automl.sandbox.secrets import redact_obj

# ``NNN-STAGE.json``: the call's index in the run, then its stage.
RECORD_NAME = re.compile(r"^(\d+)-(.+)\.json$")


def record_name(index: int, stage: str) -> str:
    """The file name of call ``index`` (from 1) for ``stage``, safe on any file system."""
    return f"{index:03d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', stage) or 'call'}.json"


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write one call's record atomically, with every secret redacted first."""
    text = json.dumps(redact_obj(record), indent=2, ensure_ascii=False) + "\n"
    write_text(path, text)
