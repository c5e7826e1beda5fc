"""The two building blocks of the report's paired tests (`benchmark.report.ranking` applies them per unit).

- `wilcoxon_p`: two-sided paired Wilcoxon signed-rank test (scipy) on paired differences; zero
  differences are dropped (Wilcoxon's convention), exact distribution for small samples, normal
  approximation otherwise (scipy's "auto"). All-zero differences give p = 1 (no evidence of a difference).
- `holm`: Holm-Bonferroni adjustment of a family of p-values (the models of one table against its best).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

ALPHA = 0.05


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
