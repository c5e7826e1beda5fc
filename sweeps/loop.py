"""One worker's loop: trials until the study holds N complete or pruned ones (see `sweeps.accounting`).

Each trial goes through `study.optimize(n_trials=1)`, so Optuna's own machinery applies to it: the
heartbeat thread of RDB storages, failing stale trials first, and popping re-queued (WAITING) trials
before sampling new ones. Between trials the loop re-reads the target N (a later `run --trials` may raise
it), fails stale trials (a dead worker's), and waits while the trials still running could complete the
study, since one of them may yet fail.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import optuna

from benchmark.errors import BenchError
from sweeps import accounting, heartbeat
from sweeps.objective import Objective, Outcome, Surplus, TrialFailed
from sweeps.settings import ATTR
from sweeps.storage import StorageSpec

MAX_FAILURES_IN_A_ROW = 3


@dataclass
class LoopResult:
    stopped: str  # "done" (N reached) or "timeout"
    trials_run: int


def fail_stale(study: optuna.Study, spec: StorageSpec, backend: optuna.storages.BaseStorage,
               grace: float, max_retry: int) -> None:
    """Fail (and re-queue) the trials of dead workers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if spec.heartbeat == "optuna":
            optuna.storages.fail_stale_trials(study)
        else:
            heartbeat.fail_stale(study, backend, grace, max_retry)


def work(study: optuna.Study, objective: Objective, spec: StorageSpec, backend: optuna.storages.BaseStorage,
         timeout: float | None = None, grace: float = 120, max_retry: int = 3, poll: float = 2.0,
         announce: Callable[[str], None] = print, after_trial: Callable[[], None] | None = None) -> LoopResult:
    """Run trials until N are complete or pruned across all workers, or `timeout` seconds have passed
    (no trial starts after it; the running one finishes). Raises BenchError after
    MAX_FAILURES_IN_A_ROW failed trials of this worker (a setup problem every trial would hit)."""
    start, ran, failures = time.monotonic(), 0, 0
    while True:
        objective.target = int(study.user_attrs[ATTR]["trials"])
        fail_stale(study, spec, backend, grace, max_retry)
        counts = accounting.counts(study)
        if counts.done >= objective.target:
            return LoopResult("done", ran)
        if timeout is not None and time.monotonic() - start >= timeout:
            return LoopResult("timeout", ran)
        if counts.done + counts.running >= objective.target:
            time.sleep(poll)  # the running trials may finish the study, or fail and need replacing
            continue
        study.optimize(objective, n_trials=1, catch=(TrialFailed, Surplus))
        outcome = objective.last
        if outcome is None or outcome.state == "surplus":
            time.sleep(poll)
            continue
        ran += 1
        announce(describe(outcome, objective.settings.objectives))
        if after_trial is not None:
            after_trial()  # e.g. refresh the study's outputs, so a long study can be read while it runs
        failures = failures + 1 if outcome.state == "failed" else 0
        if failures >= MAX_FAILURES_IN_A_ROW:
            raise BenchError(f"{failures} trials in a row failed, the last with: {outcome.reason} "
                             f"(see the trials' run folders, e.g. {outcome.run_dir})")


def describe(outcome: Outcome, objectives: list[str]) -> str:
    """One line per finished trial."""
    head = f"trial {outcome.number} {outcome.state}"
    if outcome.state == "complete":
        shown = ", ".join(f"val {n.upper()} {v:.4g}" for n, v in zip(objectives, outcome.values))
        return f"{head}: {shown} [{outcome.run_dir}]"
    return f"{head}: {outcome.reason}" + (f" [{outcome.run_dir}]" if outcome.run_dir else "")
