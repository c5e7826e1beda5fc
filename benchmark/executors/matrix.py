"""Run a prepared matrix on the local or the SLURM executor (inline stays in `benchmark.cli.cmd_run`)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from benchmark.errors import UsageError
from benchmark.executors import manifest
from benchmark.executors.plan import MatrixRun, job_env, plan
from benchmark.executors.task import CommandTask

LEADERBOARD = ["benchmark", "leaderboard"]


def run_matrix(args: argparse.Namespace, configs: list[dict[str, Any]]) -> int:
    if args.executor == "local" and (args.jobs is None or args.jobs < 1):
        raise UsageError(f"--jobs {args.jobs}: expected a count of at least 1")
    if args.executor != "slurm" and (args.slurm or args.wait):
        raise UsageError("--slurm and --wait belong to --executor slurm")
    todo, done = plan(args, configs)
    for item in done:
        print(f"already complete: {item.label}", flush=True)
    if args.executor == "local":
        return _local(args, todo, len(configs))
    return _slurm(args, todo)


def _summary(total: int, failures: dict[str, str]) -> int:
    print(f"{total - len(failures)}/{total} runs complete", file=sys.stderr)
    for label, reason in failures.items():
        print(f"  failed: {label}: {reason}", file=sys.stderr)
    return 1 if failures else 0


def _regenerate(args: argparse.Namespace) -> None:
    """The leaderboard in this process, which has imported what it needs already (a child would pay the
    imports again: seconds of a short matrix's wall time)."""
    if args.no_leaderboard:
        return
    from benchmark import leaderboard

    paths = leaderboard.generate()
    print(f"leaderboard: {paths[0]}")


def _local(args: argparse.Namespace, todo: list[MatrixRun], total: int) -> int:
    from benchmark.executors.local import run_local

    failures: dict[str, str] = {}
    if todo:
        folder = manifest.new_folder("local")
        print(f"[local] {len(todo)} run(s), {min(args.jobs, len(todo))} at once; jobs in {folder}", flush=True)
        manifest.write(folder, "local", [item.key() | {"job_id": None} for item in todo])
        devices = int(todo[0].config.devices) if str(todo[0].config.devices).isdigit() else 1
        failures = run_local(todo, args.jobs, devices, folder)
    _regenerate(args)
    return _summary(total, failures)


def _slurm(args: argparse.Namespace, todo: list[MatrixRun]) -> int:
    from benchmark.executors import slurm

    given = slurm.parse_options(args.slurm)
    if not todo:
        print("[slurm] every run is complete; nothing submitted", flush=True)
        return 0
    # The prepared configuration's placement (options, else --config's execution section, else defaults).
    first = todo[0].config
    options = {**slurm.rank_layout(str(first.devices), first.num_nodes, given), **given}
    folder = manifest.new_folder("slurm")
    for item in todo:
        item.task.env.update(slurm.python_env())
    jobs = slurm.submit_array([item.task for item in todo], folder, options, "i2i-bench")
    runs = [item.key() | {"job_id": str(job.job_id)} for item, job in zip(todo, jobs)]
    board = None
    if not args.no_leaderboard:
        task = CommandTask(LEADERBOARD, os.getcwd(), {**job_env(), **slurm.python_env()}, label="leaderboard")
        board = slurm.submit_after(task, jobs, folder, options, "i2i-bench-leaderboard")
    manifest.write(folder, "slurm", runs, array_job=slurm.array_id(jobs),
                   leaderboard_job=str(board.job_id) if board else None)
    print(f"[slurm] submitted {len(jobs)} run(s) as array {slurm.array_id(jobs)}"
          + (f"; leaderboard job {board.job_id} after it" if board else "") + f"; logs in {folder}", flush=True)
    print("[slurm] follow with: python -m benchmark status " + _matrix_options(args), flush=True)
    if not args.wait:
        return 0
    failures = slurm.wait(jobs + ([board] if board else []), [i.label for i in todo] + (["leaderboard"] if board else []))
    return _summary(len(todo), {k: v for k, v in failures.items() if k != "leaderboard"}) or (
        1 if "leaderboard" in failures else 0)


def _matrix_options(args: argparse.Namespace) -> str:
    seeds = f"--seeds {args.seeds}" if args.seeds else f"--seed {args.seed or 0}"
    return f"--model {args.model} --data {args.data} --preset {args.preset} {seeds}"
