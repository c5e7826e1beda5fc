"""What an executor submitted, kept beside submitit's job folders: `$RESULTS_DIR/jobs/<submission>/`.

`python -m benchmark status` reads the newest submission of each run from here to ask the scheduler
about its job; the records themselves stay the truth about what finished.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from benchmark import records

FILE = "manifest.json"


def jobs_dir() -> Path:
    return records.results_dir() / "jobs"


def new_folder(executor: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 10**6:06d}"
    folder = jobs_dir() / f"{stamp}-{executor}"
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def write(folder: Path, executor: str, runs: list[dict[str, Any]], **extra: Any) -> Path:
    """`runs`: each run's key (model, data, preset, seed) with its `job_id`."""
    path = folder / FILE
    records.write_json(path, {"executor": executor, "folder": str(folder), "submitted": time.time(),
                              "runs": runs, **extra})
    return path


def latest_jobs() -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """Each run key's newest submission: executor, folder and job id."""
    found: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for path in sorted(jobs_dir().glob(f"*/{FILE}")):  # oldest first: newer submissions overwrite
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for run in manifest.get("runs", []):
            key = (run["model"], run["data"], run["preset"], int(run["seed"]))
            found[key] = {"executor": manifest["executor"], "folder": manifest["folder"],
                          "job_id": run["job_id"]}
    return found
