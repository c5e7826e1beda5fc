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


EFFICIENCY_HEADINGS = ["generator params", "GFLOPs / 256² output", "train s", "inference img/s", "peak memory MB",
                       "device"]
NOT_APPLICABLE = "—"  # the quantity does not exist for this model (a baseline's parameters, training time)
NOT_RECORDED = "n/a"  # the records do not hold it
SYMBOLS = {
    "↑": "higher is better",
    "↓": "lower is better",
    "±": "sample standard deviation over seeds (shown with two or more seeds)",
    SIGNIFICANT: "significantly different from the column's best model (paired Wilcoxon, Holm-Bonferroni, "
                 f"alpha {ALPHA})",
    "bold": "best model of the column",
    NOT_APPLICABLE: "not applicable: a baseline has no learned parameters and no training; a model that computes "
                    "nothing (the identity) has no meaningful inference rate",
    NOT_RECORDED: "not recorded or not countable: missing from the run records (older records kept only a "
                  "process-wide memory peak, shared by every run of a matrix, which is no per-model figure), or "
                  "the GFLOPs of a numpy baseline, which PyTorch's counter cannot see",
}


def _computes_nothing(e: dict[str, Any]) -> bool:
    """A model with zero counted FLOPs (the identity): its images/s would time the timer, not a model."""
    return e.get("gflops") == 0


def efficiency_cells(row: ModelRow) -> list[str]:
    e = row.efficiency
    baseline = row.group == "baseline"
    params = e.get("parameters")
    params_text = NOT_APPLICABLE if baseline and not params else number(params, thousands=True)
    train = NOT_APPLICABLE if baseline else number(e.get("train_seconds"), 0)
    rate = NOT_APPLICABLE if _computes_nothing(e) else number(e.get("inference_images_per_s"), 1)
    peak = e.get("peak_memory_mb")
    memory = f"{number(peak, 0)} {e.get('memory_kind', '')}".strip() if peak is not None else NOT_RECORDED
    return [params_text, gflops(e.get("gflops")), train, rate, memory, str(e.get("device", ""))]


def rank_metric(table: Table) -> str | None:
    return next((m for m in ("psnr", "ssim") if m in table.metrics), table.metrics[0] if table.metrics else None)


def _gain(metric: str, value: float, reference: float) -> str:
    unit = " dB" if metric == "psnr" else ""
    digits = DIGITS.get(metric, 4)
    return f"{value - reference:+.{digits}f}{unit} {METRICS[metric].title}"


def summary_line(table: Table) -> str:
    """One sentence per table: the best model, its gain over the input, how many learned models beat the
    best baseline (all by the ranking metric, PSNR where there is one)."""
    metric = rank_metric(table)
    ranked = [r for r in table.rows if metric and math.isfinite(r.values[metric][0])]
    if not metric or not ranked:
        return "No model has a value of the ranking metric."
    best = min(ranked, key=lambda r: r.rank)
    value = best.values[metric][0]
    parts = [f"best: {best.model} ({fmt(value, metric)} {METRICS[metric].title})"]
    floor = table.input.get(metric, (math.nan,))[0]
    if math.isfinite(floor):
        parts.append(f"{_gain(metric, value, floor)} over the input")
    baselines = [r for r in ranked if r.group == "baseline"]
    learned = [r for r in ranked if r.group == "learned"]
    if baselines and learned:
        top = min(baselines, key=lambda r: r.rank)
        beat = sum(1 for r in learned if r.rank < top.rank)
        parts.append(f"{beat} of {len(learned)} learned models beat the best baseline ({top.model}, "
                     f"{fmt(top.values[metric][0], metric)})")
    elif not baselines:
        parts.append("no baseline in this table")
    return "; ".join(parts) + "."


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
        ("Efficiency: generator parameters (— for baselines, which learn none); GFLOPs of one prediction with "
         "a 256 x 256 output (PyTorch's FlopCounterMode, 2 FLOPs per multiply-add; n/a for numpy baselines); "
         "training seconds (— for baselines) and inference images/s (mean over seeds; — for a model that "
         "computes nothing); peak memory of the run (GPU allocator peak, or the run's own peak resident set "
         "on CPU; n/a for older records that kept only the process-wide peak of a whole matrix); device."),
        ("Failed and incomplete runs are listed with their reason and never enter a table. Sweep trials never "
         "enter a table. Numbers reported in the papers are shown apart and never ranked."),
    ]
    return lines
