"""What the statistics add to one table: per-unit intervals, tests against each column's best model, effect
sizes of the gap to it, the number of units, and the bootstrap rank distribution (`benchmark.report.ranking`).
"""
from __future__ import annotations

from typing import Any

from benchmark.metrics import METRICS
from benchmark.report import per_image
from benchmark.report.ranking import RankAnalysis, mean_interval, paired_test, rank_analysis
from benchmark.report.significance import holm
from benchmark.report.units import Cells, unit_cells, units_per_seed


def annotate(rows: list[Any], metrics: list[str], best: dict[str, str], unit: str,
             rank_metric: str | None) -> RankAnalysis | None:
    """Fill each row's `units`, `ci`, `tests`, `p_vs_best` (Holm over the table's models) and `rank_range`;
    return the rank analysis on `rank_metric` (None without one, or with fewer than two comparable models)."""
    cells: dict[str, dict[str, Cells]] = {}
    for row in rows:
        values = per_image.load(row.runs)
        cells[row.model] = {m: unit_cells(values, m, unit) for m in metrics}
        row.units = max((units_per_seed(c) for c in cells[row.model].values()), default=0)
        for m in metrics:
            row.ci[m] = mean_interval(cells[row.model][m])
    for m, winner in best.items():
        others = [row for row in rows if row.model != winner]
        tests = [paired_test(cells[row.model][m], cells[winner][m]) for row in others]
        for row, test, p in zip(others, tests, holm([t.p for t in tests])):
            row.tests[m], row.p_vs_best[m] = test, p
    if rank_metric is None:
        return None
    compared = {row.model: cells[row.model][rank_metric] for row in rows if cells[row.model][rank_metric]}
    analysis = rank_analysis(compared, rank_metric, METRICS[rank_metric].better == "higher")
    for row in rows:
        if analysis is not None and row.model in analysis.models:
            row.rank_range = analysis.rank_range(row.model)
    return analysis
