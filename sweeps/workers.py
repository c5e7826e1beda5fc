"""`--workers K`: K worker processes on this node, each its own `python -m sweeps worker` sharing the study.

Why processes, not threads: each trial is a full Lightning run (its own CUDA context, seeds, loggers).
Where there are GPUs, worker i gets its own `--devices` of them through CUDA_VISIBLE_DEVICES (round-robin
over the visible ones; more workers than GPUs share them). The storage URL reaches workers through the
environment, never their command line, so `ps` shows no password. Each worker's output goes to
`<study folder>/workers/<host>-<i>.log`; this process prints one line per finished trial instead.
More nodes: run the same `python -m sweeps run ...` on each, with a storage all of them reach.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

from benchmark.executors.resources import gpu_slices, visible_gpus
from sweeps.ddp import STORAGE_ENV
from sweeps.storage import StorageSpec


@dataclass
class Worker:
    index: int
    process: subprocess.Popen
    log: Path
    gpus: str | None


def spawn(study: str, spec: StorageSpec, workers: int, devices: int, log_dir: Path,
          worker_args: list[str]) -> list[Worker]:
    log_dir.mkdir(parents=True, exist_ok=True)
    host, started = socket.gethostname(), []
    for index, gpus in enumerate(gpu_slices(workers, devices, visible_gpus())):
        env = {**os.environ, STORAGE_ENV: spec.url, "SWEEPS_WORKER": str(index)}
        if gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = gpus
        log = log_dir / f"{host}-{index}.log"
        with open(log, "ab") as handle:
            process = subprocess.Popen([sys.executable, "-m", "sweeps", "worker", "--study", study, *worker_args],
                                       stdout=handle, stderr=subprocess.STDOUT, env=env)
        started.append(Worker(index, process, log, gpus))
    return started


def describe(trial: optuna.trial.FrozenTrial, objectives: list[str]) -> str:
    """One line for a finished trial, from what it stored."""
    attrs = trial.user_attrs
    where = f" [{attrs['run_dir']}]" if attrs.get("run_dir") else ""
    if trial.state == TrialState.COMPLETE:
        values = ", ".join(f"val {n.upper()} {v:.4g}" for n, v in zip(objectives, trial.values or []))
        return f"trial {trial.number} complete ({attrs.get('worker')}): {values}{where}"
    return f"trial {trial.number} {trial.state.name.lower()} ({attrs.get('worker')}): {attrs.get('reason')}{where}"


def supervise(workers: list[Worker], study: optuna.Study, objectives: list[str],
              announce: Callable[[str], None] = print, poll: float = 2.0,
              after_trial: Callable[[], None] | None = None) -> list[int]:
    """Wait for the workers, announcing trials as they finish (then calling `after_trial`); forward
    SIGTERM/SIGINT to them. Returns their exit codes."""
    seen: set[int] = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}

    def forward(signum: int, frame: object) -> None:
        for w in workers:
            if w.process.poll() is None:
                w.process.send_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            alive = [w for w in workers if w.process.poll() is None]
            fresh = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished() and t.number not in seen]
            for trial in fresh:
                seen.add(trial.number)
                announce(describe(trial, objectives))
            if fresh and after_trial is not None:
                after_trial()
            if not alive:
                return [w.process.returncode for w in workers]
            time.sleep(poll)
    except KeyboardInterrupt:
        forward(signal.SIGINT, None)
        for w in workers:
            w.process.wait()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
