"""Sweep results for readers: the grid's Table-1 style table, the k_max table, and the leaderboard's section.

`summaries(results_root)` is what the leaderboard generator calls: one dict per study folder under
`<results_root>/sweeps/` (read from its summary.json, so no database is needed), each with the best trial,
its run record, and any later benchmark runs of best.yaml ("confirmations": non-sweep records of the same
model and dataset whose model settings equal the best configuration's).
"""
from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import yaml
from optuna.trial import FrozenTrial, TrialState

from sweeps.space import fraction_order


def mean_std(values: list[float]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (0 for one value); None for none."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def fmt(pair: tuple[float, float] | None, digits: int = 2) -> str:
    return "n/a" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def grid_table(trials: list[FrozenTrial], variants: list[str]) -> list[dict[str, Any]]:
    """Per variant (in the space file's order): seeds done, validation PSNR, test PSNR and SSIM, mean ± std."""
    rows = []
    for variant in variants:
        done = [t for t in trials if t.state == TrialState.COMPLETE and t.params.get("variant") == variant]
        rows.append({"variant": variant, "seeds": sorted(int(t.params["seed"]) for t in done),
                     "val_psnr": mean_std([t.values[0] for t in done]),
                     "test_psnr": mean_std([t.user_attrs.get("test_psnr") for t in done]),
                     "test_ssim": mean_std([t.user_attrs.get("test_ssim") for t in done])})
    return rows


def grid_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| Variant | Seeds | Val PSNR (dB) | Test PSNR (dB) | Test SSIM |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['variant']} | {len(r['seeds'])} | {fmt(r['val_psnr'])} | {fmt(r['test_psnr'])} | "
                     f"{fmt(r['test_ssim'], 4)} |")
    return "\n".join(lines)


def k_max_table(trials: list[FrozenTrial], param: str = "k_max") -> list[dict[str, Any]]:
    """Per k_max fraction: complete trials, best and median validation PSNR."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and param in t.params and t.values]
    rows = []
    for label in sorted({str(t.params[param]) for t in done}, key=fraction_order):
        values = sorted(t.values[0] for t in done if str(t.params[param]) == label)
        rows.append({"k_max": label, "trials": len(values), "best": values[-1], "median": statistics.median(values)})
    return rows


def k_max_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| k_max (of crop) | Trials | Best val PSNR (dB) | Median val PSNR (dB) |", "|---|---|---|---|"]
    for r in rows:
        label = f"{r['k_max']} (paper)" if r["k_max"] == "1/2" else r["k_max"]
        lines.append(f"| {label} | {r['trials']} | {r['best']:.2f} | {r['median']:.2f} |")
    return "\n".join(lines)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def confirmations(root: Path, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Benchmark runs (not sweep trials) of this model and dataset with the best trial's model settings."""
    from benchmark.records import load_records

    best = (summary.get("best") or {}).get("config", {}).get("model") or {}
    if not best:
        return []
    found = []
    for record in load_records(root):
        if "sweep" in record or record.get("model") != summary["model"] or record.get("dataset") != summary["data"]:
            continue
        try:
            config = yaml.safe_load((Path(record["_dir"]) / "config.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        model = config.get("model") or {}
        if all(key in model and _same(model[key], value) for key, value in best.items()):
            found.append({"run_dir": record["_dir"], "preset": record.get("preset"), "seed": record.get("seed"),
                          "status": record.get("status"), "test": record.get("test")})
    return found


def summaries(results_root: str | Path | None = None) -> list[dict[str, Any]]:
    """One dict per sweep study under `<results_root>/sweeps/` (default: $RESULTS_DIR or results/)."""
    from benchmark.records import results_dir

    root = Path(results_root) if results_root is not None else results_dir()
    out = []
    for path in sorted((root / "sweeps").glob("*/summary.json")):
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue  # written atomically: only a foreign or damaged file lands here
        summary["folder"] = str(path.parent)
        summary["confirmations"] = confirmations(root, summary)
        out.append(summary)
    return out
