"""Per-unit values: a run's per-image values averaged per unit of analysis (volume, field of view, image).

The unit comes from the run records (`unit` in metrics.json, the datamodule's `unit_of_analysis`); records
written before that field existed fall back to the unit of their dataset's name (`FALLBACK_UNITS`), so the
report never needs the dataset registry. Image ids become unit ids by `benchmark.evaluation.unit_id`, the
rule the datamodules use too.
"""
from __future__ import annotations

import math
from typing import Any

from benchmark.evaluation import UNIT_RULES, unit_id
from benchmark.report.per_image import PerImage

# seed -> unit id -> the mean over the unit's images of one metric
Cells = dict[int, dict[str, float]]

FALLBACK_UNITS = {"mri": "volume", "fmd": "field of view"}  # what the datamodules declare; else "image"


def table_unit(dataset: str, records: list[dict[str, Any]]) -> tuple[str, str]:
    """(unit, where it came from) for one table: the records' `unit` when they agree and it is known,
    else the dataset's fallback."""
    declared = {str(r["unit"]) for r in records if r.get("unit")}
    if len(declared) == 1 and next(iter(declared)) in UNIT_RULES:
        return next(iter(declared)), "the run records"
    fallback = FALLBACK_UNITS.get(dataset, "image")
    if declared:
        named = ", ".join(sorted(declared))
        return fallback, f"the dataset's default (the records disagree or name an unknown one: {named})"
    return fallback, "the dataset's default (the records name none)"


def unit_cells(values: PerImage, metric: str, unit: str) -> Cells:
    """Per seed and unit: the mean of the metric over the unit's images (NaN images ignored; a unit without
    a finite value is left out)."""
    out: Cells = {}
    for seed, rows in values.items():
        groups: dict[str, list[float]] = {}
        for image_id, row in rows.items():
            x = row.get(metric)
            if isinstance(x, float) and math.isfinite(x):
                groups.setdefault(unit_id(unit, image_id), []).append(x)
        if groups:
            out[seed] = {u: sum(xs) / len(xs) for u, xs in groups.items()}
    return out


def units_per_seed(cells: Cells) -> int:
    """The number of units behind a value (the largest over seeds; 0 without any)."""
    return max((len(units) for units in cells.values()), default=0)
