"""Per-image values of runs (their `per_image.csv`), keyed by seed and image id.

When the synthetic data follow the run seed (`data.data_seed=null`), image "x" of seed 0 and of seed 1 may
differ: values stay keyed by (seed, id), and comparisons pair two models per seed
(`benchmark.report.units` averages them per unit of analysis, `benchmark.report.ranking` tests them).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

# seed -> id -> metric -> value
PerImage = dict[int, dict[str, dict[str, Any]]]


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def read_rows(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of a run's per_image.csv, numbers parsed; [] when it has none."""
    path = Path(run_dir) / "per_image.csv"
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: (v if k == "id" else _number(v)) for k, v in row.items()} for row in csv.DictReader(handle)]


def headline_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a run's per_image.csv that its headline means are over (its record's `headline`, e.g. NIR's
    NIR-IIa images only; every row when it has none): what the tables, statistics and figures use."""
    rows = read_rows(record["_dir"])
    wanted = record.get("headline") or {}
    return [r for r in rows if all(r.get(tag) == value for tag, value in wanted.items())] or rows


def load(runs: list[dict[str, Any]]) -> PerImage:
    """Per seed, per image id, the headline row of the run of that seed."""
    return {int(r["seed"]): {str(row["id"]): row for row in headline_rows(r)} for r in runs if "_dir" in r}


def per_image_means(values: PerImage, metric: str) -> list[float]:
    """Per image id: the mean over seeds of the metric (the spread figure's per-image values)."""
    collected: dict[str, list[float]] = {}
    for rows in values.values():
        for image_id, row in rows.items():
            x = row.get(metric)
            if isinstance(x, float) and math.isfinite(x):
                collected.setdefault(image_id, []).append(x)
    return [sum(v) / len(v) for _, v in sorted(collected.items())]


def group_means(values: PerImage, tag: str, metric: str, prefix: str = "") -> dict[str, float]:
    """Per value of a tag (e.g. noise level): the mean over seeds of each seed's mean over its images."""
    per_seed: dict[str, list[float]] = {}
    for rows in values.values():
        groups: dict[str, list[float]] = {}
        for row in rows.values():
            x = row.get(prefix + metric)
            level = row.get(tag)
            if level is None or not isinstance(x, float) or not math.isfinite(x):
                continue
            key = str(int(level)) if isinstance(level, float) and level.is_integer() else str(level)
            groups.setdefault(key, []).append(x)
        for key, xs in groups.items():
            per_seed.setdefault(key, []).append(sum(xs) / len(xs))
    return {k: sum(v) / len(v) for k, v in per_seed.items()}
