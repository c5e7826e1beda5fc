"""`python -m benchmark status <the run command's options>`: where each run of a matrix stands.

From the records first (complete, failed with its reason, interrupted, running while its folder's lock is
held) and, for runs without a final record, from the scheduler: a SLURM job pending or requeued is
`queued`, one running `running`, one that ended without a record `failed` with the job's state.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.executors import manifest
from benchmark.executors.runstate import RunState, state
from benchmark.run_config import RunConfig

WAITING = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "RESIZING", "SUSPENDED",
           "PREEMPTED"}
RUNNING = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}


def _slurm_state(folder: str, job_id: str) -> str:
    import submitit

    from benchmark.executors.slurm import state as job_state

    return job_state(submitit.SlurmJob(folder=Path(folder), job_id=job_id))


def describe(config: RunConfig, job: dict[str, Any] | None) -> dict[str, Any]:
    found: RunState = state(config)
    row: dict[str, Any] = {"model": config.model, "data": config.data, "preset": config.preset,
                           "seed": config.seed, "status": found.status, "reason": found.reason,
                           "folder": str(found.folder) if found.folder else None, "job": None}
    if job is None or job["executor"] != "slurm" or job.get("job_id") is None:
        return row
    row["job"] = f"slurm {job['job_id']}"
    scheduler = _slurm_state(job["folder"], job["job_id"])
    row["job_state"] = scheduler
    if found.status in ("complete", "failed"):
        return row
    if scheduler in WAITING:
        row["status"], row["reason"] = "queued", f"SLURM {scheduler}" + (
            f"; {found.status} before" if found.status != "missing" else "")
    elif scheduler in RUNNING:
        row["status"] = "running"
    elif scheduler != "COMPLETED" and scheduler != "UNKNOWN":
        row["status"], row["reason"] = "failed", f"SLURM job {scheduler}" + (
            f" ({found.reason})" if found.reason else "")
    return row


def report(configs: list[RunConfig], as_json: bool = False) -> str:
    jobs = manifest.latest_jobs()
    rows = [describe(c, jobs.get((c.model, c.data, c.preset, c.seed))) for c in configs]
    if as_json:
        return json.dumps(rows, indent=2)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    lines = [f"{len(rows)} run(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))]
    width = max(len(f"{r['model']} on {r['data']} seed {r['seed']}") for r in rows)
    for r in rows:
        label = f"{r['model']} on {r['data']} seed {r['seed']}".ljust(width)
        extra = "; ".join(x for x in (r.get("job"), r.get("reason"), r.get("folder")) if x)
        lines.append(f"  {label}  {r['status']:<11} {extra}".rstrip())
    return "\n".join(lines)
