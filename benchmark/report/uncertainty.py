"""How sure a table is: its wording and cells, shared by the output formats (which only escape and lay out).

Per table: the unit-of-analysis line, the one-seed warning, the rank-stability line (Kendall's tau), and two
small tables: intervals with the bootstrap rank distribution, and the gap of every model to each column's best
model (difference, its interval, the paired standardized effect d_z, the Holm-adjusted p).
"""
from __future__ import annotations

import math

import numpy as np

from benchmark.metrics import METRICS
from benchmark.report.numbers import DIGITS, fmt, heading
from benchmark.report.ranking import LEVEL, RESAMPLES
from benchmark.report.significance import ALPHA
from benchmark.report.tables import ModelRow, Table

PLURAL = {"image": "images", "volume": "volumes", "field of view": "fields of view"}


def units_name(unit: str, n: int = 2) -> str:
    return unit if n == 1 else PLURAL.get(unit, unit + "s")


def rank_range_text(row: ModelRow) -> str:
    if row.rank_range is None:
        return "—"
    low, high = row.rank_range
    return str(low) if low == high else f"{low}–{high}"


def interval_text(interval: tuple[float, float] | None, metric: str) -> str:
    return "—" if interval is None else f"[{fmt(interval[0], metric)}, {fmt(interval[1], metric)}]"


def with_interval(row: ModelRow, metric: str) -> str:
    """The metric cell in interval style: mean [2.5 %, 97.5 %]."""
    return f"{fmt(row.values[metric][0], metric)} {interval_text(row.ci.get(metric), metric)}"


def unit_line(table: Table) -> str:
    seeds = table.max_seeds
    units = max((r.units for r in table.rows), default=0)
    return (f"Unit of analysis: the {table.unit} ({units} {units_name(table.unit, units)} per seed, up to {seeds} "
            f"seed{'s' if seeds != 1 else ''} per model; unit from {table.unit_source}). Per-image values are "
            f"averaged per {table.unit} before they are tested, bootstrapped or ranked.")


def seed_note(table: Table) -> str:
    """Empty when some model has several seeds."""
    if table.max_seeds > 1:
        return ""
    return ("One seed per model: the seed variance is unknown. Intervals, tests and rank ranges cover the test "
            "cases only; a rerun with another seed may change the order.")


def stability_line(table: Table) -> str:
    r = table.ranking
    if r is None:
        return ("Rank stability: not computed (fewer than two models, or they share no seed and test case, or "
                "only one of each: nothing to resample).")
    finite = r.tau[np.isfinite(r.tau)]
    low, high = np.quantile(finite, [0.025, 0.975]) if finite.size else (math.nan, math.nan)
    spread = f" (2.5–97.5 %: {low:.2f}–{high:.2f})" if finite.size else ""
    design = "crossed: the seeds share their unit ids" if r.crossed else "nested: each seed its own units"
    return (f"Rank stability ({METRICS[r.metric].title}): Kendall's tau between the ranking by means and each of "
            f"{RESAMPLES} bootstrap rankings (over {r.units} {units_name(table.unit, r.units)} × {r.seeds} "
            f"seed{'s' if r.seeds != 1 else ''}, {design}): median {r.tau_median:.2f}{spread}; 1 = the order "
            f"never changes.")


def interval_table(table: Table) -> tuple[list[str], list[list[str]]]:
    """(header, rows): rank distribution and the 95 % interval of every metric, per model."""
    metric = table.ranking.metric if table.ranking else None
    header = ["model", f"P(rank 1){' ' + METRICS[metric].title if metric else ''}", "median rank", "rank range",
              "units × seeds"] + [f"{heading(m)} {int(LEVEL * 100)} % CI" for m in table.metrics]
    rows = []
    for row in table.rows:
        r = table.ranking
        inside = r is not None and row.model in r.models
        p_first = f"{float((r.ranks[:, r.models.index(row.model)] == 1).mean()):.2f}" if inside else "—"
        median = f"{r.median_rank(row.model):g}" if inside else "—"
        rows.append([row.model, p_first, median, rank_range_text(row), f"{row.units} × {len(row.seeds)}"]
                    + [interval_text(row.ci.get(m), m) for m in table.metrics])
    return header, rows


def gap_text(row: ModelRow, metric: str, best: str | None) -> str:
    if best == row.model:
        return "best"
    test = row.tests.get(metric)
    if test is None or not math.isfinite(test.difference):
        return "—"
    digits = DIGITS.get(metric, 4)
    parts = [f"{test.difference:+.{digits}f}"]
    if test.interval:
        parts.append(f"[{test.interval[0]:+.{digits}f}, {test.interval[1]:+.{digits}f}]")
    if test.cohen_dz is not None:
        parts.append(f"d_z {test.cohen_dz:+.2f}")
    p = row.p_vs_best.get(metric)
    if p is not None:
        parts.append(f"p {p:.2g}")
    return " ".join(parts)


def gap_table(table: Table) -> tuple[list[str], list[list[str]]]:
    """(header, rows): per model and metric, the gap to the column's best model."""
    header = ["model"] + [f"{heading(m)} vs {table.best.get(m, '—')}" for m in table.metrics]
    rows = [[row.model] + [gap_text(row, m, table.best.get(m)) for m in table.metrics] for row in table.rows]
    return header, rows


def gap_legend(table: Table) -> str:
    return (f"Gap to the column's best model: model − best, the mean over {units_name(table.unit)} of the "
            f"per-{table.unit} difference (averaged over the common seeds), its {int(LEVEL * 100)} % hierarchical "
            f"bootstrap interval, d_z (that mean over the standard deviation of the per-{table.unit} "
            f"differences), and the Holm-adjusted p of the paired test (significant below {ALPHA}).")


# The HTML page's switch between the two styles of the metric cells: mean ± std over seeds (default) and
# mean [95 % interval]; `leaderboard.html#intervals` opens the page in the interval style.
TOGGLE_HTML = ('<p class="note"><label><input type="checkbox" id="ci-toggle"> show 95 % intervals (hierarchical '
               "bootstrap over units and seeds) in the tables instead of ± std over seeds</label></p>")
TOGGLE_SCRIPT = """
(function () {
  var box = document.getElementById('ci-toggle');
  if (!box) return;
  function apply() {
    document.querySelectorAll('table.leaderboard td[data-ci]').forEach(function (td) {
      var value = td.querySelector('span.value');
      if (!td.dataset.sd) td.dataset.sd = value.textContent;
      value.textContent = box.checked ? td.dataset.ci : td.dataset.sd;
    });
  }
  box.addEventListener('change', apply);
  if (location.hash === '#intervals') { box.checked = true; apply(); }
})();
"""
