"""The report's figures, drawn with matplotlib's object-oriented API and returned as PNG bytes.

No pyplot: its global figure registry is not thread-safe and would pick a GUI backend, while a
``Figure`` renders with Agg wherever it is made. Text that comes from data or generated code
(class labels, algorithm names) is passed through :func:`plain`, so a ``$`` never starts mathtext.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# Resolution of the embedded images: sharp on ordinary screens, small enough to embed a dozen.
DPI = 110
FAILED_COLOR = "#c0392b"
LINE_COLOR = "#1f5fa8"
# Above this many distinct groups the legend would crowd the plot: the rest share one color.
MAX_GROUPS = 10


@dataclass(frozen=True)
class TrialPoint:
    """One finished trial as the plots need it."""

    index: int  # 1-based, in the order trials finished
    seconds: float | None  # when it finished, since the first trial started (None when unknown)
    cost: float
    ok: bool  # a success; crashed, timed-out and out-of-memory trials carry the crash cost
    status: str
    group: str  # the configuration's algorithm, or "" when the space has none
    budget: float | None
    config_id: int


def plain(text: object) -> str:
    """Text matplotlib draws literally: dollar signs would otherwise start math mode."""
    return str(text).replace("$", r"\$")


def png_bytes(figure: Figure) -> bytes:
    """Render a figure to PNG."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(1, columns, squeeze=False)[0]
    for ax in axes:
        ax.grid(True, color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
    return figure, list(axes)


def budget_label(budget: float | None) -> str:
    return "full budget" if budget is None else f"budget {budget:.4g}"


def _step_best(
    ax: Axes, xs: Sequence[float], costs: Sequence[float], end: float, label: str, color: str | None
) -> None:
    """Best cost so far as a step line that holds until the next improvement, drawn on to ``end``."""
    best = np.minimum.accumulate(np.asarray(costs, dtype=float))
    ax.step([*xs, max(end, xs[-1])], [*best, best[-1]], where="post", label=label, color=color, linewidth=1.8)


def progress_figure(trials: Sequence[TrialPoint], loss: str) -> Figure:
    """Best loss so far against time and against the trial index: how fast the search found its result.

    Losses at different budgets are not comparable, so with budgets each budget gets its own line.
    """
    timed = all(trial.seconds is not None for trial in trials)
    figure, axes = _figure(11, 3.8, 2 if timed else 1)
    budgets = sorted({trial.budget for trial in trials}, key=lambda b: -math.inf if b is None else b)
    colors = _palette(len(budgets))
    panels = [("trial (in the order they finished)", lambda t: float(t.index))]
    if timed:
        panels.insert(0, ("seconds since the first trial started", lambda t: float(t.seconds or 0.0)))
    for ax, (xlabel, x_of) in zip(axes, panels, strict=True):
        ok = [trial for trial in trials if trial.ok]
        end = max(x_of(trial) for trial in trials)
        ax.scatter(
            [x_of(t) for t in ok], [t.cost for t in ok], s=12, color="#9aa7b5", alpha=0.6, label="a trial", zorder=2
        )
        for budget, color in zip(budgets, colors, strict=True):
            at_budget = [trial for trial in ok if trial.budget == budget]
            if at_budget:
                label = "best so far" if len(budgets) == 1 else f"best so far, {budget_label(budget)}"
                _step_best(
                    ax,
                    [x_of(t) for t in at_budget],
                    [t.cost for t in at_budget],
                    end,
                    label,
                    LINE_COLOR if len(budgets) == 1 else color,
                )
        ax.set_xlabel(xlabel)
        if x_of is panels[-1][1]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"validation {plain(loss)}")
        _scale_for(ax, [trial.cost for trial in ok])
        ax.legend(fontsize=8, loc="upper right")
    return figure


def _scale_for(ax: Axes, costs: Sequence[float]) -> None:
    """Logarithmic y when the losses span more than two orders of magnitude, so the best ones stay visible."""
    positive = [cost for cost in costs if cost > 0 and math.isfinite(cost)]
    if positive and len(positive) == len(costs) and max(positive) / min(positive) > 100:
        ax.set_yscale("log")


def _palette(n: int) -> list[str]:
    colors = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#17becf",
        "#bcbd22",
        "#7f7f7f",
        "#393b79",
    ]
    return [colors[i % len(colors)] for i in range(n)]


def _scatter_groups(
    ax: Axes, trials: Sequence[TrialPoint], x_of: Callable[[TrialPoint], float], size: float, **style: Any
) -> list[str]:
    """Trials' losses, one color per algorithm (the first MAX_GROUPS of them); returns the groups drawn.

    The color says which algorithm a good loss came from; the groups past MAX_GROUPS are the caller's to draw.
    """
    groups = sorted({trial.group for trial in trials})[:MAX_GROUPS]
    for group, color in zip(groups, _palette(len(groups)), strict=True):
        members = [trial for trial in trials if trial.group == group]
        ax.scatter(
            [x_of(t) for t in members],
            [t.cost for t in members],
            s=size,
            color=color,
            label=plain(group) or "trial",
            zorder=3,
            **style,
        )
    return groups


def trials_figure(trials: Sequence[TrialPoint], loss: str) -> Figure:
    """Every trial's loss, colored by algorithm; failed trials are drawn as crosses at the top edge.

    A failed trial's cost is the crash cost, far above the real losses: plotted there it would
    squash every other point, so it is pinned to the top of the axis instead.
    """
    figure, (ax,) = _figure(11, 4.2)
    ok = [trial for trial in trials if trial.ok]
    failed = [trial for trial in trials if not trial.ok]
    shown = _scatter_groups(ax, ok, lambda t: t.index, size=28, edgecolor="white", linewidth=0.5)
    rest = [trial for trial in ok if trial.group not in shown]
    if rest:
        ax.scatter([t.index for t in rest], [t.cost for t in rest], s=28, color="#7f7f7f", label="other", zorder=3)
    _scale_for(ax, [trial.cost for trial in ok])
    if failed:
        if ok:
            low, high = ax.get_ylim()
            top = high if ax.get_yscale() == "log" else high + 0.05 * (high - low)
            ax.set_ylim(low, top)
        else:
            top = max(trial.cost for trial in failed)
        by_status = sorted({trial.status for trial in failed})
        for status, marker in zip(by_status, ("x", "+", "1", "2", "3"), strict=False):
            members = [trial for trial in failed if trial.status == status]
            ax.scatter(
                [t.index for t in members],
                [top] * len(members),
                marker=marker,
                s=60,
                color=FAILED_COLOR,
                label=f"{plain(status)} (crash cost, off scale)",
                zorder=4,
                clip_on=False,
            )
    ax.set_xlabel("trial (in the order they finished)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"validation {plain(loss)}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return figure


def budget_figure(trials: Sequence[TrialPoint], loss: str) -> Figure:
    """Loss against budget, with each configuration's trials joined: which ones were promoted, and whether
    the ranking at a low budget held at the higher ones."""
    figure, (ax,) = _figure(8, 4.2)
    ok = [trial for trial in trials if trial.ok and trial.budget is not None]
    by_config: dict[int, list[TrialPoint]] = {}
    for trial in ok:
        by_config.setdefault(trial.config_id, []).append(trial)
    for points in by_config.values():
        if len(points) > 1:
            points.sort(key=lambda t: t.budget or 0.0)
            ax.plot([t.budget for t in points], [t.cost for t in points], color="#b8c2cc", linewidth=0.9, zorder=1)
    groups = _scatter_groups(ax, ok, lambda t: t.budget or 0.0, size=26)
    budgets = sorted({trial.budget for trial in ok if trial.budget})
    if budgets and max(budgets) / min(budgets) >= 9:
        ax.set_xscale("log")
    if 0 < len(budgets) <= 8:  # successive halving's rungs: label exactly those
        ax.set_xticks(budgets, [f"{budget:.3g}" for budget in budgets])
        ax.minorticks_off()
    _scale_for(ax, [trial.cost for trial in ok])
    ax.set_xlabel("budget")
    ax.set_ylabel(f"validation {plain(loss)}")
    if groups:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return figure


def importance_figure(names: Sequence[str], values: Sequence[float], spread: Sequence[float]) -> Figure:
    """Horizontal bars, the most important hyperparameter on top."""
    figure, (ax,) = _figure(8, 0.45 * len(names) + 1.2)
    positions = np.arange(len(names))[::-1]
    ax.barh(positions, values, xerr=spread, color=LINE_COLOR, alpha=0.85, error_kw={"ecolor": "#555", "capsize": 2})
    ax.set_yticks(positions, [plain(name) for name in names], fontsize=9)
    ax.set_xlabel("permutation importance (drop in R² of the loss model)")
    ax.grid(True, axis="x", color="#e5e5e5")
    ax.grid(False, axis="y")
    return figure


def confusion_figure(matrix: np.ndarray, labels: Sequence[str]) -> Figure:
    """Counts of true against predicted classes; the color is the share of the true class's rows."""
    n = len(labels)
    size = min(max(3.5, 0.4 * n + 2.0), 8)
    figure, (ax,) = _figure(size + 1.0, size)
    ax.grid(False)
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=ax, label="share of the true class", shrink=0.8)
    names = [plain(label)[:20] for label in labels]
    slanted = sum(len(name) for name in names) > 6 * n and n > 3  # long labels would overlap
    ax.set_xticks(range(n), names, rotation=45 if slanted else 0, ha="right" if slanted else "center", fontsize=9)
    ax.set_yticks(range(n), names, fontsize=9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                color = "white" if shares[i, j] > 0.5 else "#222"
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=color, fontsize=9)
    return figure


def predicted_actual_figure(y_true: np.ndarray, y_pred: np.ndarray, target: str) -> Figure:
    """Predictions against the true values; a perfect model lies on the diagonal."""
    figure, (ax,) = _figure(5.5, 5.0)
    ax.scatter(y_true, y_pred, s=16, color=LINE_COLOR, alpha=0.7, edgecolor="none")
    low = float(min(np.min(y_true), np.min(y_pred)))
    high = float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([low, high], [low, high], color="#555", linestyle="--", linewidth=1, label="predicted = actual")
    ax.set_xlabel(f"actual {plain(target)}")
    ax.set_ylabel(f"predicted {plain(target)}")
    ax.legend(fontsize=8, loc="upper left")
    return figure


def residuals_figure(y_true: np.ndarray, y_pred: np.ndarray, target: str) -> Figure:
    """Residuals against predictions (a pattern means a systematic error) and their distribution."""
    figure, (scatter, histogram) = _figure(11, 4.0, 2)
    residuals = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    scatter.scatter(y_pred, residuals, s=16, color=LINE_COLOR, alpha=0.7, edgecolor="none")
    scatter.axhline(0, color="#555", linestyle="--", linewidth=1)
    scatter.set_xlabel(f"predicted {plain(target)}")
    scatter.set_ylabel("residual (actual − predicted)")
    histogram.hist(residuals, bins=min(30, max(5, len(residuals) // 4)), color=LINE_COLOR, alpha=0.8)
    histogram.axvline(0, color="#555", linestyle="--", linewidth=1)
    histogram.set_xlabel("residual (actual − predicted)")
    histogram.set_ylabel("test rows")
    return figure
