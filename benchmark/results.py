"""Run records as pandas DataFrames: `runs()` one row per run, `images()` one row per test image.

    from benchmark import results
    runs = results.runs("results")                  # model, dataset, preset, seed, data_source, metrics, ...
    runs.groupby(["dataset", "model"])["psnr"].mean()
    images = results.images("results")              # one row per test image of every complete run

Reading is strict about what a record must hold and honest about what it cannot read: `scan()` returns the
records and, apart, every `metrics.json` it could not use with the file and the reason (not JSON or cut
short, not an object, a required field missing or of the wrong type). The leaderboard ranks only the records
that pass and lists the rest (`python -m benchmark leaderboard --strict` fails when there are any).

Columns of `runs()`: run identity (dataset, model, preset, seed, run_id, status, reason, data_source, kind,
sweep, dir), the test-set mean of every metric under its own name (`psnr`, `ssim`, ...), the input's under
`input_<metric>`, the target's (metrics without a reference) under `target_<metric>`, and the efficiency
fields (`parameters` of the generator, `gflops_per_256`, `train_seconds`, `inference_images_per_s`,
`peak_memory_mb`, `memory_kind`, `epochs`, `device`). `kind` is `baseline` for a model that does not train
and `learned` otherwise (see `model_kind`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.metrics import METRICS
from benchmark.records import results_dir, started

RECORD_GLOB = "*/*/*/*/metrics.json"  # runs/<dataset>/<model>/<preset>/<run_id>/
IDENTITY = ("dataset", "model", "preset", "seed", "run_id")
REQUIRED: dict[str, tuple[type, ...]] = {"status": (str,), "dataset": (str,), "model": (str,), "preset": (str,),
                                         "seed": (int,)}
REQUIRED_COMPLETE: dict[str, tuple[type, ...]] = {"test": (dict,), "input": (dict,), "efficiency": (dict,)}
KEYS = ["dataset", "preset", "model", "seed"]


@dataclass
class Unreadable:
    """A metrics.json the leaderboard cannot use, and why."""
    file: str
    reason: str


@dataclass
class Scan:
    records: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)


def problem(record: Any) -> str | None:
    """Why a parsed metrics.json is not a usable record, or None when it is."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, expected an object with the run's fields"
    for name, types in {**REQUIRED, **(REQUIRED_COMPLETE if record.get("status") == "complete" else {})}.items():
        if name not in record:
            return f"field {name!r} is missing"
        value = record[name]
        if not isinstance(value, types) or isinstance(value, bool):
            return f"field {name!r} is {type(value).__name__}, expected {types[0].__name__}"
    return None


def scan(root: str | Path | None = None) -> Scan:
    """Every record under `<root>/runs/` (default `$RESULTS_DIR`), each with its folder under `_dir`."""
    out = Scan()
    for path in sorted(Path(root or results_dir()).joinpath("runs").glob(RECORD_GLOB)):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            out.unreadable.append(Unreadable(str(path), "not UTF-8 text"))
            continue
        except json.JSONDecodeError as exc:
            out.unreadable.append(Unreadable(str(path), f"not valid JSON, perhaps cut short ({exc.msg}, "
                                                        f"line {exc.lineno} column {exc.colno})"))
            continue
        except OSError as exc:
            out.unreadable.append(Unreadable(str(path), f"cannot be read ({exc.strerror})"))
            continue
        why = problem(record)
        if why:
            out.unreadable.append(Unreadable(str(path), why))
            continue
        record["_dir"] = str(path.parent)
        out.records.append(record)
    return out


def model_kind(record: dict[str, Any]) -> str:
    """`baseline` (not trained) or `learned`, from the record alone.

    The record's own `trainable` field decides where present; older records are judged by what a trained
    run leaves behind: a `validation` section, or more than zero training epochs."""
    if isinstance(record.get("trainable"), bool):
        return "learned" if record["trainable"] else "baseline"
    epochs = (record.get("efficiency") or {}).get("epochs")
    trained = "validation" in record or (isinstance(epochs, (int, float)) and epochs > 0)
    return "learned" if trained else "baseline"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else math.nan


def memory(eff: dict[str, Any]) -> tuple[float, str]:
    """(peak MB, kind) of one run: the GPU allocator's peak, else the run's own resident-set peak.

    A record without a per-run scope holds the peak of the whole process (a matrix shares one process), which
    says nothing about the model: it is reported as unknown (NaN) with the kind `process peak`."""
    if "peak_gpu_memory_mb" in eff:
        return _number(eff["peak_gpu_memory_mb"]), "GPU"
    if "peak_rss_mb" not in eff:
        return math.nan, ""
    if eff.get("memory_scope") == "run":
        return _number(eff["peak_rss_mb"]), "RSS"
    return math.nan, "process peak"


def run_row(record: dict[str, Any]) -> dict[str, Any]:
    """One record as a flat row (see the module docstring for the columns)."""
    eff = record.get("efficiency") or {}
    peak, kind = memory(eff)
    row: dict[str, Any] = {k: record.get(k) for k in IDENTITY}
    row.update(status=record.get("status"), reason=record.get("reason"), started=started(record),
               data_source=str(record.get("data_source", "synthetic")), kind=model_kind(record),
               sweep=bool(record.get("sweep")), dir=record.get("_dir"))
    for prefix, section in (("", "test"), ("input_", "input"), ("target_", "target")):
        values = record.get(section) or {}
        row.update({prefix + m: _number(values[m]) for m in METRICS if m in values})
    params = eff.get("parameters")
    row.update(parameters=_number((params or {}).get("generator")) if isinstance(params, dict) else math.nan,
               gflops_per_256=_number(eff.get("gflops_per_256")), train_seconds=_number(eff.get("train_seconds")),
               inference_images_per_s=_number(eff.get("inference_images_per_s")), peak_memory_mb=peak,
               memory_kind=kind, epochs=_number(eff.get("epochs")), device=str(eff.get("device", "?")))
    return row


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([run_row(r) for r in records])
    if frame.empty:
        return pd.DataFrame(columns=[*IDENTITY, "status", "kind"])
    frame["seed"] = frame["seed"].astype(int)
    return frame


def runs(results: str | Path | None = None) -> pd.DataFrame:
    """One row per readable run record under `results` (default `$RESULTS_DIR`), every status."""
    return runs_frame(scan(results).records)


def images_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per test image of each complete run in `frame`, with the run's identity columns."""
    parts = []
    for _, run in frame[frame["status"] == "complete"].iterrows():
        path = Path(str(run["dir"])) / "per_image.csv"
        if not path.is_file():
            continue
        table = pd.read_csv(path, dtype={"id": str}, keep_default_na=True)
        for key in (*IDENTITY, "kind", "data_source"):
            table[key] = run[key]
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=[*IDENTITY, "id"])
    out = pd.concat(parts, ignore_index=True)
    first = [*IDENTITY, "kind", "data_source", "id"]
    return out[first + [c for c in out.columns if c not in first]]


def images(results: str | Path | None = None) -> pd.DataFrame:
    """One row per test image of every complete run under `results` (its per_image.csv)."""
    return images_frame(runs(results))


# -- the leaderboard's aggregation ---------------------------------------------------------------------------
def latest_per_seed(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, preset, model and seed the newest complete run (`records.started`); sweep trials never
    count."""
    chosen = frame[(frame["status"] == "complete") & ~frame["sweep"].astype(bool)]
    return chosen.sort_values(["started", "run_id"], kind="stable").drop_duplicates(KEYS, keep="last").sort_values(KEYS)


def seed_summary(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per dataset, preset and model: `<metric>_mean` and `<metric>_std` over seeds (sample std, 0 for one
    seed; NaN values ignored) and `seeds`, from `latest_per_seed` rows."""
    chosen = latest_per_seed(frame)
    groups = chosen.groupby(["dataset", "preset", "model"], sort=True)
    out = groups.size().rename("seeds").to_frame()
    for m in metrics:
        column = chosen[m] if m in chosen else pd.Series(math.nan, index=chosen.index)
        grouped = column.groupby([chosen["dataset"], chosen["preset"], chosen["model"]])
        out[f"{m}_mean"] = grouped.mean()
        out[f"{m}_std"] = grouped.std(ddof=1).where(grouped.count() > 1, 0.0).where(grouped.count() > 0)
    return out
