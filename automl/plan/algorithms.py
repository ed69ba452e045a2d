"""The offline writer's algorithm families and budget kinds, each fact stated once.

The planner (which families a data size allows, what a budget range is), the offline writer (which
budget kinds it accepts, which hyperparameters a budget replaces) and the rendered ``train.py`` (which
families count a budget as trees, rounds, epochs or iterations, which continue a checkpoint, how large
an early-stopping split must be) all read these tables, so they cannot disagree.
It lives in ``automl.plan`` because the planner needs it and ``automl.writers`` already imports the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    """One model family of the offline ``train.py`` (``cfg["algorithm"]``)."""

    name: str
    # Above this many training rows its trials take too long for a short run; None: no limit.
    row_limit: int | None = None
    # Fewest rows of the internal early-stopping split it trusts; None: it does not stop early.
    min_holdout_rows: int | None = None


# Kernel SVMs scale with the square of the rows, k-NN predicts by scanning every training row, MLPs need
# many epochs. hgb and lgbm (LightGBM) watch the loss for early stopping, which is informative even on a
# few rows; the MLP watches accuracy, which saturates on small splits and stops training far too early.
FAMILIES: tuple[Family, ...] = (
    Family("hgb", min_holdout_rows=10),
    Family("lgbm", min_holdout_rows=10),
    Family("rf"),
    Family("et"),
    Family("linear"),
    Family("knn", row_limit=50_000),
    Family("svm", row_limit=10_000),
    Family("mlp", row_limit=100_000, min_holdout_rows=100),
)


@dataclass(frozen=True)
class BudgetKind:
    """What a multi-fidelity budget means to the offline ``train.py``.

    ``counts`` maps each family whose length the budget sets (trees, rounds, epochs or iterations) to the
    hyperparameter of the search space it replaces (None: the family's length is not searched); every
    other family fits on the row fraction ``budget / full_budget``. ``warm_starts`` are the counted
    families that continue a lower-budget checkpoint (scikit-learn's warm_start, LightGBM's init_model).
    """

    name: str
    full_budget: float
    meaning: str  # for the plan's reasons
    counts: dict[str, str | None] = field(default_factory=dict)
    warm_starts: tuple[str, ...] = ()

    @property
    def replaced_hyperparameters(self) -> tuple[str, ...]:
        """The ``<algorithm>:<name>`` hyperparameters the budget sets instead of the search."""
        return tuple(f"{family}:{name}" for family, name in self.counts.items() if name is not None)


BUDGETS: dict[str, BudgetKind] = {
    kind.name: kind
    for kind in (
        BudgetKind("data_fraction", 1.0, "the fraction of training rows a trial fits on"),
        BudgetKind(
            "n_estimators",
            270.0,
            "trees (rf, et) or boosting rounds (hgb, lgbm); other algorithms fit on that share of the rows",
            counts={"rf": "n_estimators", "et": "n_estimators", "hgb": "max_iter", "lgbm": "n_estimators"},
            warm_starts=("rf", "et", "hgb", "lgbm"),
        ),
        BudgetKind(
            "max_iter",
            270.0,
            "epochs (mlp), boosting rounds (hgb, lgbm) or solver iterations (linear); "
            "others fit on that share of the rows",
            counts={"hgb": "max_iter", "lgbm": "n_estimators", "mlp": None, "linear": None},  # linear: lbfgs
            warm_starts=("hgb", "lgbm", "mlp"),
        ),
    )
}


# The tensor writer (automl/writers/offline_torch_train.py): its networks per kind of sample (images are
# (C, H, W); anything else is flattened into the MLP), and its one budget kind. The epochs full budget is
# a power of successive halving's factor 3, so hyperband's rungs (3, 9, 27) are whole epochs. No rung is
# below MIN_EPOCHS: the learning-rate schedule spans the full budget, so one epoch is still warming up and
# its loss ranks configurations by how fast they start, not where they end (benchmarks/README.md).
MIN_EPOCHS = 3.0
TENSOR_NETS: dict[str, tuple[str, ...]] = {"image": ("cnn", "mlp"), "flat": ("mlp",)}
EPOCHS = BudgetKind(
    "epochs",
    27.0,
    "training epochs of the network (the learning-rate schedule spans the full budget, so a higher budget "
    "continues the same configuration's lower-budget checkpoint)",
    counts={"cnn": None, "mlp": None},
    warm_starts=("cnn", "mlp"),
)


def set_by_budget(budget_kind: str | None) -> tuple[str, ...]:
    """The hyperparameters a plan's budget sets instead of the search (none without a budget)."""
    kind = BUDGETS.get(budget_kind or "")
    return kind.replaced_hyperparameters if kind is not None else ()


ALL_ALGORITHMS: tuple[str, ...] = tuple(family.name for family in FAMILIES)
BUDGET_KINDS: tuple[str, ...] = tuple(BUDGETS)
# The kinds that count a length: they need the full count (max_budget) to scale the row-fraction fallback.
COUNTING_KINDS: tuple[str, ...] = tuple(name for name, kind in BUDGETS.items() if kind.counts)


def algorithms_for(n_rows: int) -> tuple[str, ...]:
    """The families whose trials stay fast enough on ``n_rows`` training rows, in the families' order."""
    return tuple(family.name for family in FAMILIES if family.row_limit is None or n_rows <= family.row_limit)


def length_budgets() -> dict[str, tuple[str, ...]]:
    """Per counting kind, the families whose length it sets (the rendered train.py's ``LENGTH_BUDGETS``)."""
    return {name: tuple(BUDGETS[name].counts) for name in COUNTING_KINDS}


def warm_starts() -> dict[str, tuple[str, ...]]:
    """Per counting kind, the families that continue a checkpoint (the rendered train.py's ``WARM_STARTS``)."""
    return {name: BUDGETS[name].warm_starts for name in COUNTING_KINDS}


def min_holdout_rows() -> dict[str, int]:
    """The families that stop early and their smallest split (the rendered train.py's ``MIN_HOLDOUT_ROWS``)."""
    return {family.name: family.min_holdout_rows for family in FAMILIES if family.min_holdout_rows is not None}
