"""`--executor local --jobs N`: the matrix's runs on N local worker processes (submitit's LocalExecutor).

Each worker runs in a slot with its own cores, threads and GPUs (`benchmark.executors.resources`) and takes
the next run no worker has taken (`benchmark.executors.run_many`), running it as `python -m benchmark run`
would. How each run ended is read from the records afterwards: a worker killed mid-run leaves that run's
folder resumable, and rerunning the matrix runs what is not complete, from its checkpoint.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import submitit

from benchmark import records
from benchmark.executors.plan import MatrixRun
from benchmark.executors.resources import slots
from benchmark.executors.runstate import state
from benchmark.executors.task import CommandTask

NO_TIME_LIMIT_MIN = 7 * 24 * 60  # submitit's local jobs need one; a run is never stopped by it
POLL_SECONDS = 0.5
QUEUE, CLAIMS = "queue.json", "claims"


def write_queue(runs: list[MatrixRun], folder: Path) -> Path:
    (folder / CLAIMS).mkdir()
    path = folder / QUEUE
    records.write_json(path, {"claims": str(folder / CLAIMS),
                              "runs": [{"label": r.label, **r.key(), "argv": r.task.argv[1:]} for r in runs]})
    return path


def run_local(runs: list[MatrixRun], jobs: int, devices: int, folder: Path) -> dict[str, str]:
    """Run every run on `jobs` workers; returns the runs that did not complete, label to reason."""
    queue = write_queue(runs, folder)
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=NO_TIME_LIMIT_MIN)
    workers = []
    for slot in slots(min(jobs, len(runs)), devices):
        task = CommandTask(["benchmark.executors.run_many", str(queue)], runs[0].task.cwd,
                           {**runs[0].task.env, **slot.env()}, cpus=slot.cores, label=f"worker {slot.index}")
        job = executor.submit(task)
        where = f"cores {','.join(map(str, slot.cores))}" + (f", GPUs {slot.gpus}" if slot.gpus else "")
        print(f"[local] worker {slot.index}: job {job.job_id} ({where}; log {job.paths.stdout})", flush=True)
        workers.append(job)
    announced: set[int] = set()
    try:
        while True:
            for index in sorted(int(p.name) for p in (folder / CLAIMS).iterdir()):
                if index not in announced:
                    announced.add(index)
                    print(f"[local] started {runs[index].label}", flush=True)
            if all(job.done() for job in workers):
                break
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        for job in workers:
            job.cancel()
        raise
    failures = {}
    for run in runs:
        found = state(run.config)
        if found.status != "complete":
            failures[run.label] = f"{found.status}: {found.reason or 'no record'}"
            print(f"[local] FAILED {run.label}: {failures[run.label]}", file=sys.stderr, flush=True)
    return failures
