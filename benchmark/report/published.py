"""Numbers reported in the papers (`benchmark/published.yaml`): shown apart, never ranked with ours."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FILE = Path(__file__).resolve().parents[1] / "published.yaml"


def load(path: Path = FILE) -> list[dict[str, Any]]:
    """The blocks of the file; [] when it is missing (an installed copy without package data)."""
    if not path.is_file():
        return []
    blocks = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [b for b in blocks if isinstance(b, dict) and b.get("rows")]


def for_dataset(blocks: list[dict[str, Any]], dataset: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b.get("dataset") == dataset]


def citation(block: dict[str, Any]) -> str:
    """The paper and the table the numbers come from, as every output format prints them."""
    return f"{block.get('paper', 'unknown paper')}, {block.get('table', 'table not named')}"
