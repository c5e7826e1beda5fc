"""Where and how long: the machine(s) and the total time of the runs a leaderboard summarises.

Why: a number without its compute budget cannot be reproduced or weighed. Training time is the runs'
`efficiency.train_seconds`; wall time is `efficiency.wall_seconds` (set up, train, test, record), or for
older records the time from the run id's timestamp to the record file's modification time.
"""
from __future__ import annotations

import datetime
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import records
from benchmark.records import started as records_started


@dataclass
class Provenance:
    runs: int
    devices: list[str]
    platforms: list[str]
    train_seconds: float
    wall_seconds: float
    first_start: str | None
    last_end: str | None

    def sentence(self) -> str:
        if not self.runs:
            return "No complete runs."
        span = f", from {self.first_start} to {self.last_end}" if self.first_start and self.last_end else ""
        return (f"{self.runs} complete runs on {'; '.join(self.devices) or 'unknown device'}"
                f" ({'; '.join(self.platforms) or 'unknown platform'}): total training time "
                f"{duration(self.train_seconds)}, total wall time {duration(self.wall_seconds)}{span}.")


def duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _start(record: dict[str, Any]) -> float | None:
    try:
        return datetime.datetime.fromisoformat(records.started(record)).timestamp()
    except ValueError:
        return None


def _end(record: dict[str, Any]) -> float | None:
    try:
        return (Path(record["_dir"]) / "metrics.json").stat().st_mtime
    except (KeyError, OSError):
        return None


def _platform(record: dict[str, Any]) -> str | None:
    try:
        env = json.loads((Path(record["_dir"]) / "environment.json").read_text(encoding="utf-8"))
    except (KeyError, OSError, json.JSONDecodeError):
        return None
    return f"{env.get('platform', '?')}, torch {env.get('torch', '?')}"


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def provenance(records: list[dict[str, Any]]) -> Provenance:
    # Only the runs the tables show: the newest complete run per (dataset, model, preset, seed), as
    # `tables.latest_per_seed` picks them; a rerun replaces its predecessor's time instead of adding to it.
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in sorted(records, key=records_started):
        if r.get("status") == "complete" and not r.get("sweep"):
            newest[(r.get("dataset"), r.get("model"), r.get("preset"), int(r.get("seed", 0)))] = r
    complete = list(newest.values())
    train = wall = 0.0
    starts, ends = [], []
    for r in complete:
        eff = r.get("efficiency") or {}
        train += float(eff.get("train_seconds") or 0.0)
        start, end = _start(r), _end(r)
        if eff.get("wall_seconds") is not None:
            wall += float(eff["wall_seconds"])
        elif start is not None and end is not None:
            wall += max(0.0, end - start)
        if start is not None:
            starts.append(start)
            ends.append(end if end is not None else start + float(eff.get("wall_seconds") or 0.0))
    devices = sorted({str((r.get("efficiency") or {}).get("device", "?")) for r in complete})
    platforms = sorted({p for p in (_platform(r) for r in complete) if p})
    return Provenance(len(complete), devices, platforms, train, wall, _stamp(min(starts)) if starts else None,
                      _stamp(max(ends)) if ends else None)
