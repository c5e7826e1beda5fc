"""The optional "Sweeps" section: each study's best trial and the benchmark runs that confirm it.

`sweeps.report.summaries(root)` is imported lazily and guarded, so the leaderboard works where the sweeps
package (or Optuna) is absent or its files are damaged: the section is then simply left out.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def summaries(root: Path) -> list[dict[str, Any]]:
    try:
        from sweeps.report import summaries as read
    except ImportError:
        return []
    try:
        return list(read(root))
    except Exception:  # noqa: BLE001 -- a damaged study folder must not take the leaderboard down
        return []


def relative(path: str | None, root: Path) -> str | None:
    """A run folder relative to the results root (links in the generated files)."""
    if not path:
        return None
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return str(path)


def rows(items: list[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """Flat rows for the output formats: study, model, data, preset, best trial, value, trial and confirmation
    run folders."""
    out = []
    for s in items:
        best = s.get("best") or {}
        values = best.get("values") or {}
        confirmations = s.get("confirmations") or []
        out.append({
            "study": str(s.get("study", "?")), "model": str(s.get("model", "?")), "data": str(s.get("data", "?")),
            "preset": str(s.get("preset", "?")), "trial": best.get("trial"),
            "objective": ", ".join(f"{k} {v:.4g}" if isinstance(v, (int, float)) else f"{k} {v}"
                                   for k, v in values.items()) or "no complete trial",
            "trial_run": relative(best.get("run_dir"), root),
            "benchmark_runs": [relative(c.get("run_dir"), root) for c in confirmations if c.get("run_dir")],
            "counts": s.get("counts") or {},
        })
    return out
