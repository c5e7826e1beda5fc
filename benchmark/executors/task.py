"""What a job runs: one project command (`python -m benchmark ...`, `python -m sweeps worker ...`) in a child
process, as a submitit callable that survives pre-emption and time limits.

Why a child process: the command is exactly what a user would type, so a job and an interactive run share
one code path (and a run folder, found by its configuration, `benchmark.resume`). The job process itself
stays light (no torch) and keeps submitit's signal handling apart from Lightning's.

How requeueing works (submitit's `Checkpointable` protocol): SLURM sends SIGUSR2 `signal_delay_s` before the
time limit or on pre-emption, to every process of the job step. The child ignores it; submitit's handler
here calls `checkpoint()`, which sends the child SIGTERM. Lightning turns that into `SIGTERMException` at
the end of the current batch, `benchmark.checkpoints.LastCheckpoint` saves `last.ckpt` at that batch, and
the run records `status: interrupted`. submitit then requeues the job (`scontrol requeue`; locally, exit
code 144 restarts it) and the same command resumes from that checkpoint. Lightning's own SLURM requeue
(SIGUSR1, `hpc_ckpt_*.ckpt`) is never armed: submitit asks SLURM for SIGUSR2 only.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

GRACE_SECONDS = 60.0  # how long a SIGTERMed child may take to save its checkpoint and record


class CommandFailed(RuntimeError):
    """The command exited with a non-zero code (the job then counts as failed, also to SLURM)."""


def _ignore_requeue_signal() -> None:
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # submitit's signal is the job process's to handle


@dataclass
class CommandTask:
    """`argv` after `python -m`, run in `cwd` with `env` added; `retry_argv` replaces it on a requeue (a
    `--fresh` run must resume, not start over, after its first attempt). `cpus`: the cores it may use."""

    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=dict)
    retry_argv: list[str] | None = None
    cpus: list[int] | None = None
    label: str = ""
    _child: Any = field(default=None, repr=False, compare=False)

    def command(self) -> list[str]:
        return [sys.executable, "-m", *self.argv]

    def __call__(self) -> int:
        env = {**os.environ, **self.env}
        cpus = self.cpus

        def prepare_child() -> None:
            _ignore_requeue_signal()
            if cpus:
                os.sched_setaffinity(0, cpus)

        print(f"job {self.label}: {' '.join(self.command())}", flush=True)
        # The job process runs no threads of its own, so a function between fork and exec is safe here.
        self._child = subprocess.Popen(self.command(), cwd=self.cwd, env=env,
                                       preexec_fn=prepare_child)  # noqa: PLW1509
        while self._child.poll() is None:  # poll, not wait: `checkpoint` may run in between, from a signal
            time.sleep(0.5)
        code = self._child.returncode
        if code != 0:
            raise CommandFailed(f"{self.label or self.argv[0]}: exit code {code}")
        return code

    def checkpoint(self) -> Any:
        """Called by submitit on pre-emption or time-out: stop the child cleanly, then requeue this task."""
        import submitit

        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + GRACE_SECONDS
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
        retry = replace(self, argv=self.retry_argv or self.argv, _child=None)
        return submitit.helpers.DelayedSubmission(retry)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_child": None}  # a process handle is not pickled with the task
