"""The benchmark's pictures: scores per dataset, ranks per framework, and the critical-difference diagram.

Scores are drawn as dots, one panel per dataset on that dataset's own scale (metrics differ in
scale and direction, and bars starting at zero would hide the differences that matter). Ranks are
drawn as every problem's rank (small dots) with the mean rank on top. The critical-difference diagram
(Demšar 2006) places each framework at its mean rank over datasets and joins those the Nemenyi test
cannot tell apart (:mod:`automl.bench.stats`). Matplotlib's object-oriented
``Figure`` with the Agg canvas draws without a display and without touching pyplot's global state.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from automl.bench.metrics import higher_is_better
from automl.bench.ranking import Ranking, values_by_dataset
from automl.bench.stats import Significance

PANEL_COLUMNS = 4
# Each framework keeps its colour in every report; others take the spare ones in order.
KNOWN_COLOURS = {"automl": "#1f77b4", "flaml": "#ff7f0e", "random": "#2ca02c", "default": "#d62728"}
SPARE_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def _save(figure: Figure, path: Path) -> Path:
    """Write the figure through a temporary file and a rename, so a killed report leaves no half image."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    FigureCanvasAgg(figure)
    figure.savefig(temporary, format=path.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    os.replace(temporary, path)
    return path


def _colours(frameworks: list[str]) -> dict[str, str]:
    others = [name for name in frameworks if name not in KNOWN_COLOURS]
    spare = {name: SPARE_COLOURS[i % len(SPARE_COLOURS)] for i, name in enumerate(others)}
    return {name: KNOWN_COLOURS.get(name) or spare[name] for name in frameworks}


def plot_scores(rows: list[dict[str, Any]], ranking: Ranking, path: Path, title: str = "") -> Path:
    """One panel per dataset: each framework's main-metric value per seed (dots) and mean (bar mark)."""
    frameworks = [entry.framework for entry in ranking.table]
    colours = _colours(frameworks)
    values, metric_of = values_by_dataset(rows, ranking)
    datasets = sorted(values, key=lambda name: (metric_of[name], name))
    columns = min(PANEL_COLUMNS, max(len(datasets), 1))
    lines = max(math.ceil(len(datasets) / columns), 1)
    figure = Figure(figsize=(3.6 * columns, 0.35 * len(frameworks) * lines + 1.3 * lines + 0.6), layout="constrained")
    axes = figure.subplots(lines, columns, squeeze=False)
    for panel, dataset in zip(axes.flat, datasets, strict=False):
        metric = metric_of[dataset]
        for position, name in enumerate(frameworks):
            found = values[dataset][name]
            panel.scatter(found, [position] * len(found), s=14, color=colours[name], alpha=0.5, zorder=2)
            panel.scatter([float(np.mean(found))], [position], s=90, marker="|", color=colours[name], zorder=3,
                          linewidths=2.5)  # fmt: skip
        panel.set_yticks(range(len(frameworks)), frameworks)
        panel.set_ylim(len(frameworks) - 0.5, -0.5)
        panel.set_title(f"{dataset}\n{metric} ({'higher' if higher_is_better(metric) else 'lower'} is better)",
                        fontsize=9)  # fmt: skip
        panel.tick_params(labelsize=8)
        panel.grid(axis="x", alpha=0.3)
        panel.margins(x=0.15)
    for panel in list(axes.flat)[len(datasets) :]:
        panel.set_visible(False)
    if title:
        figure.suptitle(title, fontsize=11)
    return _save(figure, path)


def plot_ranks(ranking: Ranking, path: Path, title: str = "") -> Path:
    """Each framework's rank on every problem (dots, jittered) and its mean rank (diamond, labelled)."""
    frameworks = [entry.framework for entry in ranking.table]
    colours = _colours(frameworks)
    figure = Figure(figsize=(7.0, 0.6 * len(frameworks) + 1.4), layout="constrained")
    axes = figure.subplots()
    jitter = np.random.default_rng(0)  # fixed: the same database always gives the same picture
    for position, entry in enumerate(ranking.table):
        mine = [ranks[entry.framework] for ranks in ranking.ranks.values()]
        offsets = jitter.uniform(-0.18, 0.18, size=len(mine))
        axes.scatter(mine, position + offsets, s=16, color=colours[entry.framework], alpha=0.4, zorder=2)
        axes.scatter([entry.mean_rank], [position], s=110, marker="D", color=colours[entry.framework],
                     edgecolor="black", zorder=3)  # fmt: skip
        axes.annotate(f"{entry.mean_rank:.2f}", (entry.mean_rank, position), xytext=(0, 10),
                      textcoords="offset points", ha="center", fontsize=9)  # fmt: skip
    axes.set_yticks(range(len(frameworks)), frameworks)
    axes.set_ylim(len(frameworks) - 0.5, -0.7)
    axes.set_xlim(0.7, len(frameworks) + 0.3)
    axes.set_xticks(range(1, len(frameworks) + 1))
    axes.set_xlabel(f"rank on the main metric (1 = best), over {len(ranking.ranks)} problems; diamond = mean")
    axes.grid(axis="x", alpha=0.3)
    if title:
        axes.set_title(title, fontsize=11)
    return _save(figure, path)


def plot_critical_difference(found: Significance, path: Path, title: str = "") -> Path:
    """Demšar's diagram: a rank axis (1 = best, on the left), each framework's mean rank over datasets
    labelled on its side (better half left, the rest right), the CD as a bar above the axis, and a thick
    bar under the frameworks of each group that no pair in it differs significantly."""
    assert found.critical_difference is not None
    names = list(found.mean_ranks)
    k = len(names)
    half = math.ceil(k / 2)
    groups = found.groups
    depth = max(half, 0.35 * len(groups)) + 0.5  # below the axis: the labels' lines and the group bars
    figure = Figure(figsize=(7.0, 1.2 + 0.35 * depth), layout="constrained")
    axes = figure.subplots()
    axes.set_xlim(0.5 - 0.9, k + 0.5 + 0.9)
    axes.set_ylim(-depth, 1.6)
    axes.axis("off")
    axes.plot([1, k], [0, 0], color="black", linewidth=1)
    for tick in range(1, k + 1):
        axes.plot([tick, tick], [0, 0.12], color="black", linewidth=1)
        axes.annotate(str(tick), (tick, 0.18), ha="center", va="bottom", fontsize=9)
    cd = found.critical_difference
    axes.plot([1, 1 + cd], [1.1, 1.1], color="black", linewidth=2)
    axes.annotate(f"CD = {cd:.2f}", (1 + cd / 2, 1.2), ha="center", va="bottom", fontsize=9)
    for position, name in enumerate(names):
        mean = found.mean_ranks[name]
        left = position < half
        level = -(position + 1 if left else k - position)
        edge = 0.5 - 0.2 if left else k + 0.5 + 0.2
        axes.plot([mean, mean, edge], [0, level, level], color="black", linewidth=0.8)
        axes.annotate(f"{name} ({mean:.2f})", (edge, level), xytext=(-4 if left else 4, 0),
                      textcoords="offset points", ha="right" if left else "left", va="center", fontsize=9)  # fmt: skip
    for row, group in enumerate(groups):
        ranks = [found.mean_ranks[name] for name in group]
        level = -0.35 * (row + 1)
        axes.plot([min(ranks) - 0.05, max(ranks) + 0.05], [level, level], color="black", linewidth=3)
    heading = f"mean rank over {found.blocks} datasets; Friedman p = {found.p_value:.3g}"
    axes.set_title(f"{title}\n{heading}" if title else heading, fontsize=10)
    return _save(figure, path)
