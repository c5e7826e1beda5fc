"""`--executor local --jobs N`: the matrix's jobs as local processes, N at once (submitit's LocalExecutor).

Each job runs in a slot with its own cores, threads and GPUs (`benchmark.executors.resources`); a slot
takes the next run as soon as its job ends. A job that fails leaves its run's folder resumable: rerunning
the matrix runs what is not complete, continuing each run from its checkpoint.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import submitit

from benchmark.executors.plan import MatrixRun
from benchmark.executors.resources import Slot, slots

NO_TIME_LIMIT_MIN = 7 * 24 * 60  # submitit's local jobs need one; a run is never stopped by it
POLL_SECONDS = 0.5


def _tail(text: str | None, lines: int = 3) -> str:
    kept = [line for line in (text or "").splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


def run_local(runs: list[MatrixRun], jobs: int, devices: int, folder: Path) -> dict[str, str]:
    """Run every job, `jobs` at once; returns the failures, label to reason."""
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=NO_TIME_LIMIT_MIN)
    free: list[Slot] = slots(min(jobs, len(runs)) or 1, devices)
    pending, running, failures = list(runs), [], {}
    try:
        while pending or running:
            while pending and free:
                item, slot = pending.pop(0), free.pop(0)
                item.task.env.update(slot.env())
                item.task.cpus = slot.cores
                job = executor.submit(item.task)
                where = f"cores {','.join(map(str, slot.cores))}" + (f", GPUs {slot.gpus}" if slot.gpus else "")
                print(f"[local] started {item.label} (job {job.job_id}, {where}; log {job.paths.stdout})",
                      flush=True)
                running.append((item, slot, job))
            for entry in [e for e in running if e[2].done()]:
                item, slot, job = entry
                running.remove(entry)
                free.append(slot)
                try:
                    job.result()
                    print(f"[local] finished {item.label}", flush=True)
                except Exception as exc:  # noqa: BLE001 - a failed job is reported, the matrix goes on
                    reason = _tail(job.stderr()) or str(exc).splitlines()[-1]
                    failures[item.label] = reason
                    print(f"[local] FAILED {item.label}: {reason} (log {job.paths.stderr})", file=sys.stderr,
                          flush=True)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        for _, _, job in running:
            job.cancel()
        raise
    return failures
