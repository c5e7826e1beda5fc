"""`--executor slurm`: the matrix as one SLURM job array (submitit), and a dependent job that regenerates
the leaderboard once every task has ended; sweep workers as an array too.

`--slurm "partition=gpu gpus_per_node=1 timeout_min=240 array_parallelism=16"` passes submitit's
SlurmExecutor parameters (sbatch options by their submitit names, e.g. cpus_per_task, mem_gb, account,
qos, constraint). A task is requeued on pre-emption and time-out and resumes from its checkpoint
(`benchmark.executors.task`); DDP inside a task (`--devices N`, `--num-nodes M`) asks SLURM for N tasks per
node on M nodes, each one rank (Lightning reads its rank from SLURM's variables).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import submitit

from benchmark.errors import UsageError
from benchmark.executors.task import CommandTask

DEFAULTS = {"timeout_min": 240}  # submitit's own default is 5 minutes
LEADERBOARD_OPTIONS = {"timeout_min": 30, "gpus_per_node": 0, "tasks_per_node": 1, "nodes": 1}
ENDED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
         "DEADLINE", "PREEMPTED", "REVOKED"}


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_options(text: str | None) -> dict[str, Any]:
    """`key=value` pairs: submitit's generic executor parameters (timeout_min, gpus_per_node, cpus_per_task,
    mem_gb, ...) and its SLURM ones (partition, account, qos, array_parallelism, ...), unprefixed."""
    generic = submitit.AutoExecutor._valid_parameters()
    specific = submitit.SlurmExecutor._valid_parameters()
    options: dict[str, Any] = dict(DEFAULTS)
    for item in (text or "").split():
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"--slurm {item!r}: expected key=value, e.g. partition=gpu timeout_min=240")
        if key not in generic and key not in specific:
            raise UsageError(f"--slurm {key!r} is not a submitit parameter; valid: "
                             f"{', '.join(sorted(generic | specific))}")
        options[key] = _value(value)
    return options


def _auto_names(options: dict[str, Any]) -> dict[str, Any]:
    """AutoExecutor's spelling: SLURM-only parameters carry the `slurm_` prefix."""
    generic = submitit.AutoExecutor._valid_parameters()
    return {(k if k in generic else f"slurm_{k}"): v for k, v in options.items()}


def rank_layout(devices: str, num_nodes: int, options: dict[str, Any]) -> dict[str, int]:
    """One SLURM task per device: DDP ranks are SLURM tasks. `--devices auto` means every GPU a node is
    given (`gpus_per_node`), as Lightning reads it; a task per node without GPUs."""
    if str(devices).isdigit() and int(devices) > 0:
        per_node = int(devices)
    else:
        per_node = int(options.get("gpus_per_node") or 1)
    return {"tasks_per_node": per_node, "nodes": int(num_nodes)}


def executor(folder: Path, options: dict[str, Any], name: str) -> submitit.AutoExecutor:
    out = submitit.AutoExecutor(folder=folder, cluster="slurm")
    try:
        out.update_parameters(name=name, **_auto_names(options))
    except (ValueError, NameError, AssertionError) as exc:
        raise UsageError(f"--slurm: {str(exc).splitlines()[0] if str(exc) else 'invalid value'}") from None
    return out


def submit_array(tasks: list[CommandTask], folder: Path, options: dict[str, Any], name: str) -> list[Any]:
    """One job array, one task per command."""
    slurm = executor(folder, options, name)
    with slurm.batch():  # one sbatch --array
        jobs = [slurm.submit(task) for task in tasks]
    return jobs


def array_id(jobs: list[Any]) -> str:
    return str(jobs[0].job_id).split("_")[0]


def submit_after(task: CommandTask, jobs: list[Any], folder: Path, options: dict[str, Any], name: str) -> Any:
    """`task` as one job that starts when every job of `jobs` has ended, however it ended."""
    base = {k: v for k, v in options.items() if k in ("partition", "account", "qos")}
    slurm = executor(folder, {**base, **LEADERBOARD_OPTIONS, "dependency": f"afterany:{array_id(jobs)}"},
                     name)
    return slurm.submit(task)


def state(job: Any) -> str:
    """The job's SLURM state: sacct's (through submitit), else squeue's while SLURM still lists the job,
    else ENDED (a cluster without accounting forgets a job once it ends)."""
    try:
        found = str(job.state).split()[0].upper()
    except Exception:  # noqa: BLE001 - sacct missing or failing
        found = "UNKNOWN"
    if found != "UNKNOWN":
        return found
    try:
        queue = subprocess.run(["squeue", "-h", "-j", str(job.job_id), "-o", "%T"], capture_output=True,
                               text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "UNKNOWN"
    listed = queue.stdout.split() if queue.returncode == 0 else []
    return listed[0].upper() if listed else "ENDED"


def _ended(job: Any) -> bool:
    return job.paths.result_pickle.exists() or state(job) in ENDED | {"ENDED"}


def _outcome(job: Any) -> str | None:
    """None when the job returned, else why not (its exception's last line, or its final state)."""
    if not job.paths.result_pickle.exists():
        return f"ended without a result (SLURM {state(job)}; log {job.paths.stderr})"
    try:
        job.result()
        return None
    except Exception as exc:  # noqa: BLE001 - reported, the others go on
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return lines[-1] if lines else type(exc).__name__


def wait(jobs: list[Any], labels: list[str], poll: float = 5.0) -> dict[str, str]:
    """Block until every job has ended, one line per job as it ends; returns failures, label to reason."""
    left, failures = dict(zip(labels, jobs)), {}
    while left:
        for label, job in list(left.items()):
            if not _ended(job):
                continue
            del left[label]
            reason = _outcome(job)
            if reason is None:
                print(f"[slurm] finished {label} (job {job.job_id})", flush=True)
            else:
                failures[label] = reason
                print(f"[slurm] FAILED {label} (job {job.job_id}): {reason}", file=sys.stderr, flush=True)
        if left:
            time.sleep(poll)
    return failures


def python_env() -> dict[str, str]:
    """The interpreter's import path, for tasks on nodes that start from a login shell's environment."""
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
