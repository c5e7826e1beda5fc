"""`python -m sweeps run ... --executor slurm --workers K`: the K workers as one SLURM job array.

Each array task is `python -m sweeps worker --study NAME ...`, exactly what `--workers K` starts on this
node, joining the study through its storage (PostgreSQL, or a journal file on a shared file system): the
heartbeat and retry of a dead worker's trial work across nodes as they do across processes. The storage
URL reaches the tasks through the environment sbatch exports, never a file or a command line. A task
pre-empted or timed out is requeued (`benchmark.executors.task`) and joins the study again.
"""
from __future__ import annotations

import os
import sys
from typing import Any

from benchmark import records
from benchmark.errors import BenchError
from benchmark.executors import slurm
from benchmark.executors.manifest import new_folder
from benchmark.executors.task import CommandTask
from sweeps.ddp import STORAGE_ENV


def run_on_slurm(study: Any, spec: Any, workers: int, worker_args: list[str], options: str | None,
                 wait: bool) -> str:
    """Submit the workers; with `wait`, block until they end. Returns how the sweep stopped (or `submitted`)."""
    if spec.kind == "sqlite":
        print("warning: SQLite on a shared file system can lock up under many workers; prefer "
              "--storage journal:///shared/f.log or postgresql://...", file=sys.stderr)
    # One task per worker: a DDP trial's extra ranks are started by Lightning from the worker (`sweeps.ddp`).
    settings = {"tasks_per_node": 1, "nodes": 1, **slurm.parse_options(options)}
    env = {"RESULTS_DIR": str(records.results_dir().resolve()), **slurm.python_env()}
    tasks = [CommandTask(["sweeps", "worker", "--study", study.study_name, *worker_args], os.getcwd(),
                         {**env, "SWEEPS_WORKER": str(i)}, label=f"sweep worker {i}") for i in range(workers)]
    folder = new_folder("slurm-sweep")
    os.environ[STORAGE_ENV] = spec.url  # exported to the tasks by sbatch (its default, --export=ALL)
    try:
        jobs = slurm.submit_array(tasks, folder, settings, f"sweep-{study.study_name}")
    finally:
        os.environ.pop(STORAGE_ENV, None)
    print(f"[slurm] submitted {workers} worker(s) as array {slurm.array_id(jobs)}; logs in {folder}", flush=True)
    if not wait:
        print(f"[slurm] follow with: python -m sweeps show --study {study.study_name}", flush=True)
        return "submitted"
    failures = slurm.wait(jobs, [t.label for t in tasks])
    from sweeps import accounting

    if accounting.counts(study).done >= int(study.user_attrs["sweeps:settings"]["trials"]):
        return "done"
    if failures:
        raise BenchError(f"{len(failures)} worker job(s) failed and the study is incomplete (logs: {folder})")
    return "timeout"
