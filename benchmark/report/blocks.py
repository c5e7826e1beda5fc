"""The papers' own evaluations beside the ranking: blocks of a table built from what the records hold.

- one block per volume protocol of the records (`protocols`: the ULF-EnC challenge's score and metrics,
  morphometry's Dice and volume errors, true volume metrics), input row first;
- the records' region ratios (`ratios`: SBR and tumour-to-normal ratio of input, prediction and target, and
  the gain prediction / input), as Ma et al. report them;
- each tag group other than the headline one (`by_tag`, e.g. NIR's `band = nir_i`: a model trained on
  NIR-IIa, tested on NIR-I inputs it never saw).

Values are means over the seeds of each model's newest runs (the table's rows). One model for every
renderer: Markdown and HTML draw `Block`s the same way.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmark.metrics import METRICS
from benchmark.volume_protocols import DESCRIPTIONS


@dataclass
class Block:
    title: str
    columns: list[str]  # value keys, in order
    headings: list[str]  # what each column is called
    rows: list[tuple[str, dict[str, float]]] = field(default_factory=list)  # (name, column -> value)
    note: str = ""


def _mean(values: list[Any]) -> float:
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(float(v))]
    return statistics.fmean(finite) if finite else math.nan


def _arrow(better: str | None) -> str:
    return {"higher": " ↑", "lower": " ↓"}.get(better or "", "")


def _protocol_blocks(rows: list[Any]) -> list[Block]:
    names = sorted({name for row in rows for r in row.runs for name in (r.get("protocols") or {})})
    blocks = []
    for name in names:
        sections = [(row, [(r.get("protocols") or {}).get(name) or {} for r in row.runs]) for row in rows]
        first = next(s for _, ss in sections for s in ss if s)
        columns = list(first.get("test") or {})
        better = first.get("better") or {}
        # The method's current description where the protocol is known (a record's copy may predate a rewording).
        block = Block(title=DESCRIPTIONS.get(name) or first.get("description") or name, columns=columns,
                      headings=[f"{c}{_arrow(better.get(c))}" for c in columns],
                      note=f"{first.get('volumes', '?')} test volumes; means over seeds")
        inputs = [s for _, ss in sections for s in ss if s]
        block.rows.append(("input", {c: _mean([(s.get("input") or {}).get(c) for s in inputs]) for c in columns}))
        for row, found in sections:
            if any(found):
                block.rows.append((row.model, {c: _mean([(s.get("test") or {}).get(c) for s in found if s])
                                               for c in columns}))
        blocks.append(block)
    return blocks


def _ratio_block(rows: list[Any]) -> list[Block]:
    ratios = sorted({k for row in rows for r in row.runs for k in (r.get("ratios") or {})})
    if not ratios:
        return []
    columns = [f"{k}:{part}" for k in ratios for part in ("input", "prediction", "target", "gain")]
    block = Block(title="Region ratios (input, prediction, target; gain = prediction / input)", columns=columns,
                  headings=[f"{METRICS[k].title if k in METRICS else k} {part}" for k in ratios
                            for part in ("input", "prediction", "target", "gain")],
                  note="means over the test images of the headline group, then over seeds")
    for row in rows:
        values = {c: _mean([((r.get("ratios") or {}).get(c.split(":")[0]) or {}).get(c.split(":")[1])
                            for r in row.runs]) for c in columns}
        block.rows.append((row.model, values))
    return [block]


def _group_blocks(rows: list[Any], metrics: list[str]) -> list[Block]:
    """Tag groups outside the headline (records name their headline, e.g. band = nir_iia)."""
    out = []
    runs = [r for row in rows for r in row.runs]
    for tag in sorted({t for r in runs for t in (r.get("headline") or {})}):
        headline = {str((r.get("headline") or {}).get(tag)) for r in runs}
        groups = sorted({g for r in runs for g in ((r.get("by_tag") or {}).get(tag) or {})} - headline)
        for group in groups:
            block = Block(title=f"{tag} = {group} (not in the ranking, which is over {tag} = "
                                f"{', '.join(sorted(headline))})", columns=list(metrics),
                          headings=[f"{METRICS[m].title}{_arrow(METRICS[m].better)}" for m in metrics])
            found = [((r.get("by_tag") or {}).get(tag) or {}).get(group) or {} for r in runs]
            block.rows.append(("input", {m: _mean([(f.get("input") or {}).get(m) for f in found if f])
                                         for m in metrics}))
            for row in rows:
                parts = [((r.get("by_tag") or {}).get(tag) or {}).get(group) or {} for r in row.runs]
                block.rows.append((row.model, {m: _mean([(p.get("test") or {}).get(m) for p in parts if p])
                                               for m in metrics}))
            images = next((f.get("images") for f in found if f), "?")
            block.note = f"{images} test images; means over seeds"
            out.append(block)
    return out


def record_blocks(rows: list[Any], metrics: list[str]) -> list[Block]:
    """Every block the table's records support, in a fixed order."""
    return [*_protocol_blocks(rows), *_ratio_block(rows), *_group_blocks(rows, metrics)]
