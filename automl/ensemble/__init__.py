"""Which trials make the final model, and with what weight.

A method takes the run history and returns members, best first, each with a relative weight; the
refit stage refits them on every non-test row and the saved model averages their predictions with
those weights. :class:`EnsembleSelection` (greedy selection on the trials' validation predictions,
the default) and :class:`TopKAverage` (the best few configurations, equal weights) implement
:class:`EnsembleMethod`; another plugs in the same way (see docs/architecture.md).
"""

from automl.ensemble.base import EnsembleMethod, Member
from automl.ensemble.ranking import ranked_configurations
from automl.ensemble.selection import EnsembleSelection, average, ensemble_output
from automl.ensemble.top_k import TopKAverage

__all__ = [
    "EnsembleMethod",
    "EnsembleSelection",
    "Member",
    "TopKAverage",
    "average",
    "ensemble_output",
    "ranked_configurations",
]
