"""Is a model really worse than the best one, or is the gap noise? Paired tests on per-image values.

- `wilcoxon_p`: two-sided paired Wilcoxon signed-rank test (scipy) on per-image differences; zero
  differences are dropped (Wilcoxon's convention), exact distribution for small samples, normal
  approximation otherwise (scipy's "auto"). All-zero differences give p = 1 (no evidence of a difference).
- `holm`: Holm-Bonferroni adjustment of a family of p-values (the models of one table against its best).
- `bootstrap_ci`: percentile bootstrap interval of a mean over images (fixed seed: reproducible files).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000


def wilcoxon_p(differences: Sequence[float]) -> float | None:
    """Two-sided p-value of H0 "the differences are symmetric about 0"; None without any finite pair."""
    from scipy.stats import wilcoxon

    d = np.asarray([x for x in differences if math.isfinite(x)], dtype=np.float64)
    if d.size == 0:
        return None
    if not np.any(d != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns about small samples; the p-value is still exact
        return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input order (None stays None and is not counted)."""
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for k, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - k) * p))
        adjusted[i] = running
    return adjusted


def bootstrap_ci(values: Sequence[float], level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; None with fewer than two finite values."""
    v = np.asarray([x for x in values if math.isfinite(x)], dtype=np.float64)
    if v.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(resamples, v.size))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
