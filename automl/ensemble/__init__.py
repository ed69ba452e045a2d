"""Which trials make the final model, and with what weight.

A method takes the run history and returns members, best first, each with a relative weight; the
refit stage refits them on every non-test row and the saved model averages their predictions with
those weights. :class:`TopKAverage` (the best few configurations, equal weights) is the first
method; another plugs in by implementing :class:`EnsembleMethod` (see docs/architecture.md).
"""

from automl.ensemble.base import EnsembleMethod, Member
from automl.ensemble.ranking import ranked_configurations
from automl.ensemble.top_k import TopKAverage

__all__ = ["EnsembleMethod", "Member", "TopKAverage", "ranked_configurations"]
