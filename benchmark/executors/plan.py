"""A matrix as jobs: one `python -m benchmark run` command per (model, dataset, seed), and what is left.

Each job repeats the user's options for its one run, so the configuration a job builds is the one the
submitting process prepared (same options, same working folder), and records match across the two.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from benchmark import records
from benchmark.executors.runstate import state
from benchmark.executors.task import CommandTask
from benchmark.run_config import RunConfig

RUN_ONE = "benchmark.executors.run_one"


@dataclass
class MatrixRun:
    config: RunConfig
    task: CommandTask

    @property
    def label(self) -> str:
        return f"{self.config.model} on {self.config.data} seed {self.config.seed}"

    def key(self) -> dict[str, Any]:
        c = self.config
        return {"model": c.model, "data": c.data, "preset": c.preset, "seed": c.seed}


def run_arguments(args: argparse.Namespace, config: RunConfig, fresh: bool) -> list[str]:
    """`run ...` for one run of the matrix `args` describes; never the leaderboard (the executor's job)."""
    out = ["run", "--model", config.model, "--data", config.data, "--preset", config.preset,
           "--seed", str(config.seed), "--devices", str(config.devices), "--num-nodes", str(config.num_nodes),
           "--logger", config.logger, "--no-leaderboard"]
    if config.data_root:
        out += ["--data-root", config.data_root]
    if args.config:
        out += ["--config", args.config]
    overrides = " ".join(item for group in args.overrides for item in group.split())
    if overrides:
        out += ["--set", overrides]
    if config.compile:
        out.append("--compile")
    return out + (["--fresh"] if fresh else [])


def job_env() -> dict[str, str]:
    """What every job must see as the submitting process does: where the results are."""
    return {"RESULTS_DIR": str(records.results_dir().resolve())}


def plan(args: argparse.Namespace, configs: list[RunConfig]) -> tuple[list[MatrixRun], list[MatrixRun]]:
    """(to run, already complete). With --fresh every run is to run, and its job resumes after a requeue."""
    todo, done = [], []
    for config in configs:
        argv = [RUN_ONE, *run_arguments(args, config, fresh=args.fresh)]
        retry = [RUN_ONE, *run_arguments(args, config, fresh=False)]
        item = MatrixRun(config, CommandTask(argv, os.getcwd(), job_env(), retry_argv=retry))
        item.task.label = item.label
        (done if not args.fresh and state(config).status == "complete" else todo).append(item)
    return todo, done
