"""How numbers and shared wording appear in every output format (one place, so the formats agree)."""
from __future__ import annotations

import math
from typing import Any

from benchmark.metrics import METRICS
from benchmark.report.significance import ALPHA
from benchmark.report.tables import ModelRow, Table

DIGITS = {"psnr": 2, "piqe": 2, "sbr": 2, "tnr": 2}  # others: 4
SIGNIFICANT = "†"


def fmt(value: Any, metric: str) -> str:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "n/a"
    return f"{value:.{DIGITS.get(metric, 4)}f}"


def mean_text(row_values: tuple[float, float], metric: str, seeds: int) -> str:
    mean, std = row_values
    return fmt(mean, metric) + (f" ± {fmt(std, metric)}" if seeds > 1 and math.isfinite(std) else "")


def heading(metric: str) -> str:
    return f"{METRICS[metric].title} {METRICS[metric].arrow}"


def is_best(table: Table, row: ModelRow, metric: str) -> bool:
    return table.best.get(metric) == row.model or (
        metric in table.best and row.values[metric][0] == _best_value(table, metric))


def _best_value(table: Table, metric: str) -> float:
    winner = next(r for r in table.rows if r.model == table.best[metric])
    return winner.values[metric][0]


def number(value: Any, digits: int = 1, thousands: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:,.0f}" if thousands else f"{value:.{digits}f}"


def gflops(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}"


EFFICIENCY_HEADINGS = ["params (G)", "GFLOPs / 256²", "train s", "infer img/s", "peak mem MB", "device"]


def efficiency_cells(row: ModelRow) -> list[str]:
    e = row.efficiency
    return [number(e.get("parameters"), thousands=True), gflops(e.get("gflops")), number(e.get("train_seconds"), 0),
            number(e.get("inference_images_per_s"), 1),
            f"{number(e.get('peak_memory_mb'), 0)} {e.get('memory_kind', '')}".strip(), str(e.get("device", ""))]


def legend() -> str:
    return (f"Mean over the test set; ± is the sample standard deviation over seeds. Bold: best model per column. "
            f"{SIGNIFICANT}: significantly different from the column's best model (paired test on per-unit "
            f"values: two-sided Wilcoxon signed-rank over units and, with several seeds, a hierarchical "
            f"bootstrap over seeds and units; Holm-Bonferroni over the models of the table, alpha = {ALPHA}). "
            f"Rank: by PSNR, then SSIM; rank range: the 2.5-97.5 % range of the bootstrap rank; units: the "
            f"units of analysis (volumes, fields of view, images) behind each value, per seed. *input*: the untouched source scored against the "
            f"target, the floor every model must beat; *target*: the reference image itself (metrics without "
            f"a reference only). Baselines (not trained) come before learned models.")


def protocol_lines() -> list[str]:
    """The evaluation protocol, one line per rule; every output format states it."""
    lines = [f"{m.title} ({m.better} is better): {m.protocol}." for m in METRICS.values()]
    lines += [
        ("Images are float in [0, 1], data range 1; the prediction is clamped to [0, 1]. Full-reference metrics "
         "are computed per image inside the dataset's mask where it scores inside one (MRI: brain mask), else "
         "on the whole image; the test-set value is the mean over images (NaN images ignored). MRI records also "
         "hold per-volume means."),
        ("Seeds: per model and seed the newest complete run counts; values are the mean ± sample std over seeds "
         "of each seed's test-set mean. The input and target rows average each seed's test set once."),
        ("Unit of analysis: the dataset's (MRI: the volume, FMD: the field of view, its noise levels together; "
         "otherwise the image); per-image values are averaged per unit first, and units are paired by (seed, "
         "unit id). Significance: per metric, each model against the column's best model; two-sided Wilcoxon "
         "signed-rank test on the per-unit differences averaged over the common seeds (zero differences "
         "dropped; exact for small samples) and, with two or more common seeds, the two-sided p-value of a "
         "hierarchical bootstrap (seeds, then units) of the mean difference; the larger p counts; "
         f"Holm-Bonferroni over the models of the table; alpha = {ALPHA}. Intervals, rank ranges, rank "
         "probabilities and Kendall's tau come from 2000 hierarchical bootstrap resamples (fixed seed); "
         "choices and references: docs/statistics.md."),
        ("Efficiency: generator parameters; GFLOPs of one prediction with a 256 x 256 output (PyTorch's "
         "FlopCounterMode, 2 FLOPs per multiply-add; n/a for numpy baselines); training seconds and inference "
         "images/s (mean over seeds); peak memory (GPU allocator peak per run, or the process's peak RSS on "
         "CPU, an upper bound when a matrix shares one process); device."),
        ("Failed and incomplete runs are listed with their reason and never enter a table. Sweep trials never "
         "enter a table. Numbers reported in the papers are shown apart and never ranked."),
    ]
    return lines
