"""Run records -> one table per dataset and preset: what every output format renders.

Rules (stated again in every output, see `protocol_lines`):
- only records without a `sweep` key; complete ones give numbers, every other one is listed with its reason;
- per model and seed the newest complete run counts (run ids start with a timestamp);
- a model's value is the mean over its seeds of each seed's test-set mean, ± the sample std over seeds;
- the input row (the untouched source against the target) is the floor, averaged the same way over seeds;
  metrics without a reference (PIQE, SBR, T/NT) also get a target row (what the reference image scores);
- rows: classical baselines (models that do not train, `benchmark.results.model_kind`), then learned
  models; rank by PSNR (then SSIM), the first metric when there is no PSNR;
- every fact comes from the records themselves (never from the model or dataset registries), so a results
  folder renders the same anywhere; the aggregation over seeds is `benchmark.results.seed_summary`;
- statistics (`table_stats`, `ranking`): per-image values are averaged per unit of analysis (the dataset's
  `unit`: volume, field of view, image) first; per metric column every model is tested against the column's
  best model on per-unit values, over units and seeds, Holm-Bonferroni over the table's models, alpha 0.05;
  intervals, effect sizes and the rank distribution come from a hierarchical bootstrap over units and seeds.
"""
from __future__ import annotations

import datetime
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark import results
from benchmark.metrics import METRICS
from benchmark.records import folder_name, seed_of_folder, started
from benchmark.report import per_image, table_stats, units
from benchmark.report.blocks import Block, record_blocks
from benchmark.report.ranking import PairTest, RankAnalysis
from benchmark.report.significance import ALPHA

BREAKDOWN_TAGS = ("noise_level",)  # per-image tags that get their own table (FMD's per-level results)
BREAKDOWN_METRICS = ("psnr", "ssim")
RANK_METRICS = ("psnr", "ssim")

MeanStd = tuple[float, float]


@dataclass
class ModelRow:
    model: str
    group: str  # "baseline" (not trained) | "learned"
    runs: list[dict[str, Any]]
    values: dict[str, MeanStd]
    ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    p_vs_best: dict[str, float | None] = field(default_factory=dict)  # Holm-adjusted
    rank: int = 0
    efficiency: dict[str, Any] = field(default_factory=dict)
    units: int = 0  # units of analysis behind each value (per seed)
    tests: dict[str, PairTest] = field(default_factory=dict)  # against the column's best model
    rank_range: tuple[int, int] | None = None  # 2.5-97.5 % of the bootstrap rank

    @property
    def seeds(self) -> list[int]:
        return sorted(int(r["seed"]) for r in self.runs)

    def significant(self, metric: str) -> bool:
        p = self.p_vs_best.get(metric)
        return p is not None and p < ALPHA


@dataclass
class Table:
    dataset: str
    preset: str
    metrics: list[str]
    rows: list[ModelRow]
    input: dict[str, MeanStd]
    target: dict[str, MeanStd]
    best: dict[str, str]  # metric -> model
    failed: list[dict[str, Any]]
    breakdowns: dict[str, dict[str, dict[str, dict[str, float]]]]  # tag -> row name -> level -> metric -> value
    data_sources: list[str]
    masked: bool | None = None
    unit: str = "image"
    unit_source: str = ""
    ranking: RankAnalysis | None = None
    blocks: list[Block] = field(default_factory=list)  # the papers' own evaluations (`blocks`)

    @property
    def max_seeds(self) -> int:
        """The most seeds any model of the table has (1: seed variance unknown)."""
        return max((len(r.seeds) for r in self.rows), default=0)

    @property
    def key(self) -> str:
        return f"{self.dataset}-{self.preset}"


def mean_std(values: list[float]) -> MeanStd:
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return float("nan"), float("nan")
    return statistics.fmean(finite), statistics.stdev(finite) if len(finite) > 1 else 0.0


def latest_per_seed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the newest complete run of each seed (`records.started`)."""
    chosen: dict[int, dict[str, Any]] = {}
    for run in sorted(runs, key=started):
        chosen[int(run.get("seed", 0))] = run
    return [chosen[s] for s in sorted(chosen)]


def shown_records(root: str | Path | None = None) -> list[dict[str, Any]]:
    """The run records the leaderboard shows: per dataset, preset and model, the newest complete run of each
    seed (sweep trials aside), ordered by dataset, preset, model and seed."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in results.scan(root).records:
        if record.get("status") == "complete" and not record.get("sweep"):
            groups[(record["dataset"], record["preset"], record["model"])].append(record)
    return [r for key in sorted(groups) for r in latest_per_seed(groups[key])]


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def _efficiency(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Efficiency of a model's chosen runs, from `results.run_row`: None where the records do not say.

    A process-wide memory peak (older records) is no per-model figure: it is left out and marked."""
    rows = [results.run_row(r) for r in runs]
    flops, params = _finite([r["gflops_per_256"] for r in rows]), _finite([r["parameters"] for r in rows])
    peaks = _finite([r["peak_memory_mb"] for r in rows])
    kinds = {r["memory_kind"] for r in rows if r["memory_kind"]}
    return {
        "parameters": int(params[0]) if params else None,
        "gflops": flops[0] if flops else None,
        "train_seconds": mean_std([r["train_seconds"] for r in rows])[0],
        "inference_images_per_s": mean_std([r["inference_images_per_s"] for r in rows])[0],
        "peak_memory_mb": max(peaks) if peaks else None,
        "memory_kind": "GPU" if "GPU" in kinds else "RSS" if peaks else next(iter(kinds), ""),
        "device": ", ".join(sorted({r["device"] for r in rows})),
    }


def _is_better(metric: str, a: float, b: float) -> bool:
    return a > b if METRICS[metric].better == "higher" else a < b


def _rank(rows: list[ModelRow], metrics: list[str]) -> None:
    """Competition ranking (1, 2, 2, 4) by the rank metrics, each in its own direction."""
    keys = [m for m in RANK_METRICS if m in metrics] or metrics[:1]

    def key(row: ModelRow) -> tuple[float, ...]:
        out = []
        for m in keys:
            v = row.values[m][0]
            v = v if math.isfinite(v) else -math.inf if METRICS[m].better == "higher" else math.inf
            out.append(-v if METRICS[m].better == "higher" else v)
        return tuple(out)

    ordered = sorted(rows, key=key)
    for i, row in enumerate(ordered):
        row.rank = ordered[i - 1].rank if i and key(row) == key(ordered[i - 1]) else i + 1


def _breakdowns(rows: list[ModelRow], complete: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag in BREAKDOWN_TAGS:
        table: dict[str, dict[str, dict[str, float]]] = {}
        inputs = per_image.load(latest_per_seed(complete))  # the input of every seed's test set
        for name, values, prefix in [("input", inputs, "input_")] + [(r.model, per_image.load(r.runs), "")
                                                                     for r in rows]:
            levels: dict[str, dict[str, float]] = defaultdict(dict)
            for m in BREAKDOWN_METRICS:
                for level, value in per_image.group_means(values, tag, m, prefix).items():
                    levels[level][m] = value
            if levels:
                table[name] = dict(levels)
        if table:
            out[tag] = table
    return out


def _one_per_seed(complete: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per seed (the newest): the input and target rows count each test set once."""
    return latest_per_seed(complete)


def build_table(dataset: str, preset: str, group: list[dict[str, Any]]) -> Table:
    complete = [r for r in group if r.get("status") == "complete"]
    metrics = [m for m in METRICS if any(m in (r.get("test") or {}) for r in complete)]
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in complete:
        by_model[str(r["model"])].append(r)
    summary = results.seed_summary(results.runs_frame(complete), metrics) if complete else None
    rows = []
    for model, runs in by_model.items():
        runs = latest_per_seed(runs)
        line = summary.loc[(dataset, preset, model)]
        values = {m: (float(line[f"{m}_mean"]), float(line[f"{m}_std"])) for m in metrics}
        rows.append(ModelRow(model, results.model_kind(runs[-1]), runs, values, efficiency=_efficiency(runs)))
    best: dict[str, str] = {}
    for m in metrics:
        finite = [r for r in rows if math.isfinite(r.values[m][0])]
        if finite:
            winner = finite[0]
            for r in finite[1:]:
                if _is_better(m, r.values[m][0], winner.values[m][0]):
                    winner = r
            best[m] = winner.model
    _rank(rows, metrics)
    unit, unit_source = units.table_unit(dataset, complete)
    rank_metric = next((m for m in RANK_METRICS if m in metrics), metrics[0] if metrics else None)
    ranking = table_stats.annotate(rows, metrics, best, unit, rank_metric)
    rows.sort(key=lambda r: (r.group != "baseline", r.rank, r.model))
    seeds = _one_per_seed(complete)
    floor = {m: mean_std([(r.get("input") or {}).get(m, float("nan")) for r in seeds]) for m in metrics}
    target = {m: mean_std([(r.get("target") or {}).get(m, float("nan")) for r in seeds])
              for m in metrics if any(m in (r.get("target") or {}) for r in seeds)}
    failed = [r for r in group if r.get("status") != "complete"]
    sources = sorted({str(r.get("data_source", "synthetic")) for r in complete})
    return Table(dataset, preset, metrics, rows, floor, target, best, failed, _breakdowns(rows, complete),
                 sources, masked=_masked(complete), unit=unit, unit_source=unit_source, ranking=ranking,
                 blocks=record_blocks(rows, metrics))


def _masked(complete: list[dict[str, Any]]) -> bool | None:
    """Whether the full-reference metrics were scored inside the dataset's mask: the records' `masked_metrics`
    field (None, "not recorded", when no record carries it)."""
    flags = {r["masked_metrics"] for r in complete if isinstance(r.get("masked_metrics"), bool)}
    return next(iter(flags)) if len(flags) == 1 else None


def incomplete_runs(root: Path, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run folders without a metrics.json that are newer than every finished record of the same model and
    seed: still running, or killed before the record was written (an older leftover that a later run of the
    same seed replaced is not listed)."""
    latest: dict[tuple[str, str, str, str], str] = {}
    for r in records:
        key = (folder_name(str(r.get("dataset"))), folder_name(str(r.get("model"))), str(r.get("preset")),
               str(r.get("seed")))
        latest[key] = max(latest.get(key, ""), started(r))
    out = []
    for folder in sorted((root / "runs").glob("*/*/*/*")):
        if not folder.is_dir() or (folder / "metrics.json").exists():
            continue
        seed = seed_of_folder(folder.name)
        dataset, model, preset = folder.parts[-4:-1]
        begun = datetime.datetime.fromtimestamp(folder.stat().st_mtime, datetime.timezone.utc).isoformat()
        if begun < latest.get((dataset, model, preset, seed), ""):
            continue
        out.append({"status": "incomplete", "dataset": dataset, "model": model, "preset": preset,
                    "run_id": folder.name, "seed": seed, "_dir": str(folder),
                    "reason": "no metrics.json: still running, or stopped before its record was written"})
    return out


def build_tables(records: list[dict[str, Any]]) -> list[Table]:
    """One table per (dataset, preset), sorted; sweep trials never enter."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("sweep"):  # sweep trials are searched, not benchmarked: they never enter a ranking
            continue
        groups[(str(record.get("dataset")), str(record.get("preset")))].append(record)
    return [build_table(d, p, g) for (d, p), g in sorted(groups.items())]
