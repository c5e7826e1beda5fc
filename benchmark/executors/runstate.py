"""What the run records say about one configuration: its newest folder and that folder's status.

A configuration's run folders are its attempts (`benchmark.resume.attempts`, named by the run's identity):
the folders `benchmark.resume` resumes, so an executor, `status` and a rerun agree on which runs of a
matrix are done.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.resume import LOCK_FILE, RunLock, attempts, same_config
from benchmark.run_config import RunConfig


@dataclass(frozen=True)
class RunState:
    """`status`: complete, failed, interrupted, running (its lock is held), started (a folder whose
    process died before it wrote a record) or missing (no folder of this configuration)."""

    status: str
    folder: Path | None = None
    reason: str | None = None


def folders(config: RunConfig) -> list[Path]:
    """This configuration's begun run folders (attempts with a config.yaml), newest first."""
    return [f for _, f in reversed(attempts(config)) if same_config(f, config)]


def _record(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _held(folder: Path) -> bool:
    if not (folder / LOCK_FILE).exists():
        return False
    lock = RunLock(folder)
    if lock.acquire():
        lock.release()
        return False
    return True


def state(config: RunConfig) -> RunState:
    """A complete folder wins; otherwise the newest folder tells (a run resumes in the newest)."""
    found = folders(config)
    for folder in found:
        if _record(folder).get("status") == "complete":
            return RunState("complete", folder)
    if not found:
        return RunState("missing")
    newest = found[0]
    if _held(newest):
        return RunState("running", newest)
    record = _record(newest)
    status = record.get("status")
    if status in ("failed", "interrupted"):
        return RunState(status, newest, record.get("reason"))
    return RunState("started", newest, "no record: the process ended before writing one (resumable)")
