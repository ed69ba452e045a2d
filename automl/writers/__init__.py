"""Who writes a run's artifacts. Every writer returns :class:`Artifacts`; the runner verifies them."""

from automl.writers.base import Artifacts, Writer
from automl.writers.offline import OfflineWriter

__all__ = ["Artifacts", "OfflineWriter", "Writer"]
