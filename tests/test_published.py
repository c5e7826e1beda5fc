"""Every block of benchmark/published.yaml names its paper and table and matches a stored copy of that table."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmark.metrics import METRICS
from benchmark.report import published

SOURCES = Path(__file__).parent / "data" / "published_sources.yaml"


def _source_for(block: dict) -> dict:
    sources = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))
    surname, initial = block["paper"].split(",")[0].split()[:2]
    matches = [s for s in sources if s["paper_key"].startswith(f"{surname} {initial}")
               and s["paper_key"].split(" ", 2)[2] in block["paper"] and s["table"] == block["table"]]
    assert len(matches) == 1, f"no single stored source for {block['paper'][:40]!r}, {block['table']!r}"
    return matches[0]


BLOCKS = published.load()


def test_every_dataset_with_published_numbers_has_a_block() -> None:
    assert {b["dataset"] for b in BLOCKS} == {"fluorescence", "fmd", "nir"}


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b["dataset"])
def test_block_names_paper_table_protocol_and_what_was_checked(block: dict) -> None:
    for key in ("paper", "table", "protocol", "checked"):
        assert isinstance(block.get(key), str) and len(block[key]) >= 7, key
    assert all(m in METRICS for m in block["metrics"])


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b["dataset"])
def test_block_numbers_equal_the_stored_source_table(block: dict) -> None:
    source = _source_for(block)
    assert [r["model"] for r in block["rows"]] == source["columns"]
    assert set(block["metrics"]) == set(source["values"])
    for metric, column in source["values"].items():
        shown = [r.get(metric) for r in block["rows"]]
        assert shown == column, (block["dataset"], metric)


def test_the_fluorescence_block_cites_the_total_gradient_paper_with_its_rmse_row() -> None:
    block = next(b for b in BLOCKS if b["dataset"] == "fluorescence")
    assert "total gradient loss" in block["paper"] and "10(9):4742" in block["paper"]
    assert "Fei P." not in block["paper"] and "rmse" in block["metrics"]
