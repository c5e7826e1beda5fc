"""DDP inside one trial (`--devices 2` and more): the extra ranks join the trial rank 0 is running.

Why: Lightning starts ranks 1.. by re-running this very command line when `trainer.fit` begins. Re-run
blindly, each would ask the study for a trial of its own. So rank 0 leaves the study, storage and trial id
in the environment just before it trains (the launched ranks inherit it), and a process that starts with
them and a non-zero LOCAL_RANK joins that trial: it reads the already-sampled parameters back from the
storage, trains its shard and exits. Only rank 0 reports, scores and tells. Pruning then goes through the
storage (RDB only) and `check_pruned()`, as optuna-integration requires.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

STUDY_ENV, TRIAL_ENV, STORAGE_ENV = "I2I_SWEEP_STUDY", "I2I_SWEEP_TRIAL_ID", "SWEEPS_STORAGE"
# What Lightning's launcher sets in rank 0's own environment when it starts ranks 1.. (cleared after a trial).
LAUNCH_ENV = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


def rank() -> int:
    return int(os.environ.get("LOCAL_RANK") or os.environ.get("RANK") or 0)


def is_joining_rank() -> bool:
    """True in a process Lightning launched for ranks 1.. of a sweep trial."""
    return rank() > 0 and bool(os.environ.get(TRIAL_ENV))


@contextmanager
def handoff(study: str, storage_url: str, trial_id: int) -> Iterator[None]:
    """The environment launched ranks inherit for the duration of one trial, cleared afterwards."""
    before = set(os.environ)
    os.environ.update({STUDY_ENV: study, TRIAL_ENV: str(trial_id), STORAGE_ENV: storage_url})
    try:
        yield
    finally:
        for key in set(os.environ) - before:
            if key in (STUDY_ENV, TRIAL_ENV, STORAGE_ENV, *LAUNCH_ENV):
                del os.environ[key]
        release_process_group()


def release_process_group() -> None:
    """End the trial's process group: its other ranks have exited, and the next trial launches its own
    (Lightning would otherwise reuse the dead group, and skip launching because LOCAL_RANK is set)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def join_trial() -> int:
    """Entry point of a launched rank: run rank 0's trial on this rank, then exit."""
    import optuna

    from sweeps.objective import Objective
    from sweeps.settings import ATTR, SweepSettings
    from sweeps.storage import parse

    spec = parse(os.environ[STORAGE_ENV])
    study = optuna.load_study(study_name=os.environ[STUDY_ENV], storage=spec.open(heartbeat_interval=None))
    settings = SweepSettings.from_dict(study.user_attrs[ATTR])
    trial = optuna.trial.Trial(study, int(os.environ[TRIAL_ENV]))
    Objective(settings, study.study_name, spec).run_rank(trial)
    return 0
