"""The two ranking-uncertainty figures of a table (`benchmark.report.ranking`), in the style of challengeR
(Wiesenfarth et al., Sci. Rep. 11:2369, 2021):

- rank probabilities ("blob plot", their Fig. 5): one column per model, in the order of the ranking by means;
  a disc at rank j with area proportional to the share of bootstrap replicates in which the model had rank j;
  a black cross at the median rank and a black line over the 2.5-97.5 % range;
- significance map: model i (row) against model j (column), dark where i is significantly better than j,
  light where significantly worse, white where the paired test does not separate them (Holm over all pairs).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmark.metrics import METRICS
from benchmark.report.plots import Skipped, _pyplot, _save, label
from benchmark.report.ranking import RESAMPLES, RankAnalysis
from benchmark.report.significance import ALPHA
from benchmark.report.tables import Table
from benchmark.report.uncertainty import units_name


def _analysis(table: Table) -> RankAnalysis:
    if table.ranking is None:
        raise Skipped("no rank distribution (fewer than two models, or no shared seed and test case, or only "
                      "one of each to resample)")
    return table.ranking


def _order(r: RankAnalysis) -> list[int]:
    """Models by their full-data rank, then by name."""
    return sorted(range(len(r.models)), key=lambda i: (r.point[i], r.models[i]))


def rank_probabilities(table: Table, path: Path) -> None:
    plt = _pyplot()
    r = _analysis(table)
    order = _order(r)
    probabilities = r.probabilities()
    m = len(r.models)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * m + 1.5), max(3.0, 0.45 * m + 1.6)))
    for x, i in enumerate(order):
        ranks = np.arange(1, m + 1)
        shown = probabilities[i] > 0
        ax.scatter(np.full(shown.sum(), x), ranks[shown], s=900 * probabilities[i][shown], color=f"C{x % 10}",
                   alpha=0.75, edgecolors="none")
        low, high = r.rank_range(r.models[i])
        ax.plot([x, x], [low, high], color="black", lw=1.2)
        ax.plot([x], [r.median_rank(r.models[i])], marker="x", color="black", ms=7, mew=1.5)
    ax.set_xticks(range(m))
    ax.set_xticklabels([label(r.models[i]) for i in order], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(1, m + 1))
    ax.set_ylim(m + 0.6, 0.4)  # rank 1 on top
    ax.set_ylabel("rank")
    ax.grid(axis="y", color="0.9")
    ax.set_title(label(f"{table.dataset} ({table.preset}): rank of {METRICS[r.metric].title} in {RESAMPLES} "
                       f"bootstrap resamples\nover {r.units} {units_name(table.unit, r.units)} x {r.seeds} "
                       f"seed(s); area = probability, x = median, line = 95 % range; "
                       f"Kendall's tau median {r.tau_median:.2f}"), fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def significance_map(table: Table, path: Path) -> None:
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

    r = _analysis(table)
    order = _order(r)
    m = len(r.models)
    state = np.zeros((m, m))  # 0: not separated, 1: row better, -1: row worse, nan: the diagonal
    for a, i in enumerate(order):
        for b, j in enumerate(order):
            p = r.pairwise[i, j]
            if i == j:
                state[a, b] = np.nan
            elif np.isfinite(p) and p < ALPHA:
                state[a, b] = 1 if r.better(i, j) else -1
    fig, ax = plt.subplots(figsize=(max(3.6, 0.6 * m + 2.2), max(3.2, 0.55 * m + 1.8)))
    colours = ListedColormap(["#9ecae1", "white", "#08306b"])
    ax.imshow(np.nan_to_num(state, nan=0.0), cmap=colours, vmin=-1.5, vmax=1.5)
    for a in range(m):
        ax.add_patch(plt.Rectangle((a - 0.5, a - 0.5), 1, 1, color="0.85"))
        for b in range(m):
            p = r.pairwise[order[a], order[b]]
            if a != b and np.isfinite(p) and m <= 10:
                ax.text(b, a, f"{p:.2g}", ha="center", va="center", fontsize=6,
                        color="white" if state[a, b] == 1 else "black")
    names = [label(r.models[i]) for i in order]
    ax.set_xticks(range(m))
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(m))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xticks(np.arange(-0.5, m), minor=True)
    ax.set_yticks(np.arange(-0.5, m), minor=True)
    ax.grid(which="minor", color="0.7", lw=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_title(label(f"{table.dataset} ({table.preset}): {METRICS[r.metric].title}, row vs column\n"
                       f"dark: row significantly better, light: significantly worse (Holm, alpha {ALPHA}); "
                       f"numbers: adjusted p"), fontsize=8)
    fig.tight_layout()
    _save(fig, path)
