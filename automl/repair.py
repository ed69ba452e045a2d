"""The write -> check -> repair loop: ask a writer for an artifact until one passes its check.

The runner owns this loop (see docs/architecture.md): the writer only writes and the checks only judge. Each
rejected draft is kept under ``attempts/`` with its errors, so a person can see what the model tried
and why it failed, and the next request carries the draft and the errors back to the writer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from automl._io import write_text
from automl.errors import WriterError
from automl.writers.base import DraftRejected, Feedback

Draft = TypeVar("Draft")
Accepted = TypeVar("Accepted")
# File suffix of each artifact's draft, when the draft is the artifact and not the model's whole reply.
SUFFIXES = {"space": ".py", "train": ".py", "plan": ".json", "scenario": ".json"}


class AttemptsExhausted(WriterError):
    """Every allowed attempt at one artifact was rejected."""


class RepairLoop:
    """Accepts artifacts one at a time, with up to ``attempts`` drafts each, archiving the rejected ones."""

    def __init__(
        self, writer_name: str, attempts: int, attempts_dir: Path, announce: Callable[[str], None] = lambda _: None
    ) -> None:
        self.writer_name = writer_name
        self.attempts = attempts
        self.attempts_dir = attempts_dir
        self.announce = announce  # tells the user about each rejection as it happens
        self.rejected = 0

    def accept(
        self,
        artifact: str,
        produce: Callable[[Feedback | None], Draft],
        judge: Callable[[Draft], Accepted],
        hint: str = "",
    ) -> Accepted:
        """The first draft of ``artifact`` that ``judge`` accepts; WriterError when none did.

        ``produce`` writes a draft (given the last rejection); ``judge`` turns it into the accepted
        artifact or raises :class:`DraftRejected`. ``hint`` points the final error at more details.
        """
        feedback: Feedback | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                return judge(produce(feedback))
            except DraftRejected as rejected:
                self.rejected += 1
                self._archive(artifact, attempt, rejected)
                gist = rejected.errors[0].strip().splitlines()[0][:160] if rejected.errors else ""
                more = ", asking for a repair" if attempt < self.attempts else ""
                self.announce(f"{artifact} draft {attempt} rejected ({gist}){more}")
                feedback = Feedback(attempt, rejected.draft, tuple(rejected.errors))
        assert feedback is not None
        last = feedback.errors[-1].strip().splitlines()[-1] if feedback.errors else "no details"
        tries = "once" if self.attempts == 1 else f"{self.attempts} times"
        raise AttemptsExhausted(
            f"the {self.writer_name} writer's {artifact} was rejected {tries} (last: {last[:300]}): see "
            f"{self.attempts_dir}{hint}; raise --attempts, try another --llm, or pass --fallback offline"
        )

    def _archive(self, artifact: str, attempt: int, rejected: DraftRejected) -> None:
        """``attempts/<artifact>-<n>.<suffix>`` holds the draft, ``...errors.txt`` why it failed."""
        stem = self.attempts_dir / f"{artifact}-{attempt}"
        suffix = ".reply.txt" if rejected.raw else SUFFIXES.get(artifact, ".txt")
        write_text(stem.with_name(stem.name + suffix), rejected.draft)
        write_text(stem.with_name(stem.name + ".errors.txt"), "\n\n".join(rejected.errors) + "\n")
