"""Statistics over units and seeds: paired tests, hierarchical bootstrap intervals, rank distributions.

Input everywhere: per model, `Cells` (seed -> unit id -> per-unit value). Two sources of variation enter:
the test cases (units: volumes, fields of view, images) and the training runs (seeds). Choices (argued with
references in docs/statistics.md):

- Hierarchical bootstrap (`replicates`): per replicate, draw the seeds with replacement, then the units with
  replacement; a model's replicate value is the mean over the drawn seeds of the mean over the drawn units.
  When every seed holds the same unit ids (crossed design: one test set scored by every seed), one unit draw
  is shared by all seeds of a replicate; otherwise (nested: each seed its own test set) each drawn seed draws
  its own units. Models are resampled jointly (the same draws), so differences and ranks stay paired.
- Paired test of two models (`paired_test`): the two-sided Wilcoxon signed-rank test on per-unit differences
  (each unit's difference averaged over the seeds both models have); with two or more common seeds also the
  hierarchical-bootstrap p-value of the mean difference, and the larger of the two p-values is the test's
  (significant only if the difference holds across units *and* across seeds).
- Ranks (`rank_analysis`): competition ranks (ties share the best rank) of the bootstrap replicates, their
  distribution per model, the 2.5-97.5 % rank range, and Kendall's tau between the ranking by the full-data
  means and each bootstrap ranking; a pairwise significance map with Holm over all pairs.
Every bootstrap uses a fixed seed: the same records give the same files.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchmark.report.significance import holm, wilcoxon_p
from benchmark.report.units import Cells

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95


@dataclass
class Design:
    """The cells all given models have, as arrays: per seed a (models, units) matrix."""

    models: list[str]
    seeds: list[int]
    units: list[list[str]]
    values: list[np.ndarray]
    crossed: bool

    @property
    def units_per_seed(self) -> int:
        return max(len(u) for u in self.units)

    def means(self) -> np.ndarray:
        """Full-data estimate per model: mean over seeds of the mean over units."""
        return np.mean([v.mean(axis=1) for v in self.values], axis=0)


def design(cells: dict[str, Cells]) -> Design | None:
    """The seeds every model has and, per seed, the units every model has; None when nothing is common."""
    models = list(cells)
    if not models:
        return None
    seeds = sorted(set.intersection(*(set(c) for c in cells.values())))
    kept_seeds, units, values = [], [], []
    for seed in seeds:
        common = sorted(set.intersection(*(set(cells[m][seed]) for m in models)))
        if common:
            kept_seeds.append(seed)
            units.append(common)
            values.append(np.array([[cells[m][seed][u] for u in common] for m in models], dtype=np.float64))
    if not kept_seeds:
        return None
    crossed = all(u == units[0] for u in units)
    return Design(models, kept_seeds, units, values, crossed)


def replicates(d: Design, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples, models): each model's mean in each hierarchical bootstrap replicate."""
    rng = np.random.default_rng(seed)
    n_seeds = len(d.seeds)
    seed_draws = rng.integers(0, n_seeds, size=(resamples, n_seeds))
    shared = rng.integers(0, len(d.units[0]), size=(resamples, len(d.units[0]))) if d.crossed else None
    out = np.zeros((resamples, len(d.models)))
    for position in range(n_seeds):
        for s in range(n_seeds):
            chosen = np.flatnonzero(seed_draws[:, position] == s)
            if chosen.size == 0:
                continue
            n_units = d.values[s].shape[1]
            draws = shared[chosen] if shared is not None else rng.integers(0, n_units, size=(chosen.size, n_units))
            out[chosen] += d.values[s][:, draws].mean(axis=2).T
    return out / n_seeds


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    tail = (1 - level) / 2
    return float(np.quantile(samples, tail)), float(np.quantile(samples, 1 - tail))


def mean_interval(cells: Cells, resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, float] | None:
    """Hierarchical bootstrap interval of one model's mean; None with a single unit and a single seed."""
    d = design({"model": cells})
    if d is None or (len(d.seeds) < 2 and d.units_per_seed < 2):
        return None
    return percentile_interval(replicates(d, resamples, seed)[:, 0])


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "the mean difference is 0": twice the smaller tail beyond 0, with the
    +1 correction (never exactly 0)."""
    n = differences.size
    below = (np.count_nonzero(differences <= 0) + 1) / (n + 1)
    above = (np.count_nonzero(differences >= 0) + 1) / (n + 1)
    return float(min(1.0, 2 * min(below, above)))


def unit_differences(a: Cells, b: Cells) -> list[float]:
    """Per unit id: the mean over the seeds both models have of a - b."""
    collected: dict[str, list[float]] = {}
    for seed in sorted(set(a) & set(b)):
        for unit, x in a[seed].items():
            if unit in b[seed]:
                collected.setdefault(unit, []).append(x - b[seed][unit])
    return [sum(v) / len(v) for _, v in sorted(collected.items())]


@dataclass
class PairTest:
    """a against b: the test's p-value (before any multiplicity adjustment) and what it rests on."""

    p: float | None
    p_units: float | None  # Wilcoxon over units
    p_seeds: float | None  # hierarchical bootstrap (two or more common seeds), else None
    units: int
    seeds: int
    difference: float  # mean over units of a - b (metric units)
    interval: tuple[float, float] | None  # hierarchical bootstrap interval of that difference
    cohen_dz: float | None  # mean / sd of the per-unit differences (paired standardized effect)


def paired_test(a: Cells, b: Cells, resamples: int = RESAMPLES, seed: int = SEED) -> PairTest:
    diffs = np.asarray(unit_differences(a, b), dtype=np.float64)
    d = design({"a": a, "b": b})
    seeds = len(d.seeds) if d else 0
    if diffs.size == 0 or d is None:
        return PairTest(None, None, None, 0, 0, math.nan, None, None)
    p_units = wilcoxon_p(diffs)
    p_seeds = interval = None
    if seeds >= 2 or d.units_per_seed >= 2:
        boot = replicates(d, resamples, seed)
        gap = boot[:, 0] - boot[:, 1]
        interval = percentile_interval(gap)
        if seeds >= 2:
            p_seeds = bootstrap_p(gap)
    sd = float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0
    dz = float(diffs.mean() / sd) if sd > 0 else None
    p = p_units if p_seeds is None or p_units is None else max(p_units, p_seeds)
    return PairTest(p, p_units, p_seeds, int(diffs.size), seeds, float(diffs.mean()), interval, dz)


@dataclass
class RankAnalysis:
    """Bootstrap rank distribution of the models of one table, on one metric."""

    metric: str
    models: list[str]
    point: np.ndarray  # (models,) ranks by the full-data means
    ranks: np.ndarray  # (resamples, models) ranks in each replicate
    seeds: int
    units: int  # per seed
    crossed: bool
    tau: np.ndarray  # (resamples,) Kendall's tau of each replicate's ranking with `point`
    pairwise: np.ndarray  # (models, models) Holm-adjusted p of the pair (NaN: untested or the diagonal)
    means: np.ndarray  # (models,) full-data means

    def probabilities(self) -> np.ndarray:
        """(models, ranks): the share of replicates in which model i had rank j + 1."""
        m = len(self.models)
        return np.stack([np.bincount(self.ranks[:, i] - 1, minlength=m)[:m] for i in range(m)]) / len(self.ranks)

    def rank_range(self, model: str) -> tuple[int, int]:
        """The 2.5-97.5 % range of the model's bootstrap rank (empirical quantiles, so whole ranks)."""
        r = self.ranks[:, self.models.index(model)]
        return int(np.quantile(r, 0.025, method="inverted_cdf")), int(np.quantile(r, 0.975, method="inverted_cdf"))

    def median_rank(self, model: str) -> float:
        return float(np.median(self.ranks[:, self.models.index(model)]))

    @property
    def tau_median(self) -> float:
        finite = self.tau[np.isfinite(self.tau)]
        return float(np.median(finite)) if finite.size else math.nan

    def better(self, i: int, j: int) -> bool:
        """Whether model i has the better full-data mean than model j (in the metric's direction)."""
        return bool(self.point[i] < self.point[j])


def competition_ranks(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Ranks along the last axis: 1 + the number of strictly better entries (ties share the best rank)."""
    oriented = values if higher_is_better else -values
    return 1 + (oriented[..., None, :] > oriented[..., :, None]).sum(axis=-1)


def kendall_tau(reference: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row of `ranks` with `reference` (NaN where either ranking is constant):
    (concordant - discordant pairs) / sqrt((pairs - ties in reference) (pairs - ties in the row))."""
    i, j = np.triu_indices(reference.size, k=1)
    ref = np.sign(reference[i] - reference[j])
    rows = np.sign(ranks[:, i] - ranks[:, j])
    untied = np.count_nonzero(ref) * np.count_nonzero(rows, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (rows * ref).sum(axis=1) / np.sqrt(untied)
    return np.where(untied > 0, tau, math.nan)


def rank_analysis(cells: dict[str, Cells], metric: str, higher_is_better: bool, resamples: int = RESAMPLES,
                  seed: int = SEED) -> RankAnalysis | None:
    """Rank distribution over the seeds and units all models share; None with fewer than two models, nothing
    in common, or a single unit of a single seed (nothing to resample)."""
    d = design(cells)
    if d is None or len(d.models) < 2 or (len(d.seeds) < 2 and d.units_per_seed < 2):
        return None
    means = d.means()
    point = competition_ranks(means, higher_is_better)
    ranks = competition_ranks(replicates(d, resamples, seed), higher_is_better)
    pairs = [(i, j) for i in range(len(d.models)) for j in range(i + 1, len(d.models))]
    raw = [paired_test(cells[d.models[i]], cells[d.models[j]], resamples, seed).p for i, j in pairs]
    pairwise = np.full((len(d.models),) * 2, math.nan)
    for (i, j), p in zip(pairs, holm(raw)):
        if p is not None:
            pairwise[i, j] = pairwise[j, i] = p
    return RankAnalysis(metric, d.models, point, ranks, len(d.seeds), d.units_per_seed, d.crossed,
                        kendall_tau(point, ranks), pairwise, means)
