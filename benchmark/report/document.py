"""Everything one leaderboard shows, gathered once and handed to each output format."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmark.report.provenance import Provenance
from benchmark.report.tables import Table
from benchmark.results import Unreadable

FIGURE_TITLES = {
    "samples": "Test samples (source | models | target) with a zoomed inset of one region",
    "profile": "Intensity line profile across an edge",
    "metrics": ("Metrics per model on axes around the data (dot: mean; bar: 95 % bootstrap interval of the "
                "per-image mean; open circles: seed means; dashed: input; dotted: target)"),
    "spread": "Per-image spread of the ranking metric (box plot per model, the input first)",
    "curves": "Training curves (training loss per step, validation PSNR per epoch)",
    "compute": "Quality versus compute",
    "ranks": ("Rank probabilities over bootstrap resamples of units and seeds (area: probability; cross: median "
              "rank; line: 2.5-97.5 % range)"),
    "significance": "Pairwise significance map (row against column, paired per-unit test, Holm over all pairs)",
}


@dataclass
class Report:
    tables: list[Table]
    provenance: Provenance
    published: list[dict[str, Any]] = field(default_factory=list)
    sweeps: list[dict[str, Any]] = field(default_factory=list)
    # table key -> figure kind -> path relative to the results folder (PNG under figures/)
    figures: dict[str, dict[str, str]] = field(default_factory=dict)
    figure_notes: dict[str, list[str]] = field(default_factory=dict)  # table key -> why a figure is missing
    unreadable: list[Unreadable] = field(default_factory=list)  # records that could not be used, and why
