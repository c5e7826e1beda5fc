"""The committed reference leaderboard: `results/reference/`, a folder no run ever writes to.

Why: runs regenerate `results/LEADERBOARD.md` and its siblings (git-ignored, generated); a reference kept
there would be overwritten, its figures deleted, and a fresh clone's checkout dirtied by its first run. The
reference instead holds the records it was rendered from (only the small files the report reads, below), so
it re-renders with the current code on its own:

    python -m benchmark leaderboard --out results/reference --keep-records   # snapshot results/runs (make reference)
    python -m benchmark leaderboard --results results/reference              # re-render the committed records
"""
from __future__ import annotations

import shutil
from pathlib import Path

from benchmark.errors import BenchError
from benchmark.report.tables import shown_records

# What the report reads from a run folder; checkpoints, sample PNGs and logger folders stay behind.
KEPT_FILES = ("metrics.json", "per_image.csv", "config.yaml", "environment.json", "samples.npz",
              "logs/metrics.csv")


def shown_runs(root: Path) -> list[Path]:
    """The run folders the leaderboard shows (`tables.shown_records`)."""
    return [Path(r["_dir"]) for r in shown_records(root)]


def snapshot(root: Path, out: Path) -> int:
    """Replace `out/runs/` by copies of the shown runs' small files under `root/runs/`; returns the bytes kept."""
    folders = shown_runs(root)
    if not folders:
        raise BenchError(f"no complete run records under {root / 'runs'}: nothing to keep as a reference")
    if out.resolve() == root.resolve():
        raise BenchError(f"--keep-records: --out {out} is the results folder itself; give another folder")
    staging = out / ".runs.new"
    shutil.rmtree(staging, ignore_errors=True)
    kept = 0
    for folder in folders:
        relative = folder.relative_to(root / "runs")
        for name in KEPT_FILES:
            source = folder / name
            if source.is_file():
                target = staging / relative / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                kept += source.stat().st_size
    old = out / "runs"
    shutil.rmtree(old, ignore_errors=True)  # the reference is replaced as a whole, never merged
    staging.rename(old)
    return kept
