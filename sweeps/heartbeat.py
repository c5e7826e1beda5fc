"""A heartbeat for journal-file studies, where Optuna has none.

Why: a worker killed mid-trial (SIGKILL, a pre-empted node) leaves its trial RUNNING for ever, and the study
would wait on it for ever. RDB storages get Optuna's own heartbeat (`sweeps.storage`); for the journal file,
each trial's worker stamps the time into the trial every `interval` seconds, and any worker that finds a
RUNNING trial silent for `grace` seconds fails it and re-queues its parameters
(`RetryHeartbeatStaleTrialCallback`, as Optuna does). Stamps are wall-clock times: keep node clocks in
sync (NTP) and the grace period well above any skew.
"""
from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

KEY = "sweeps:heartbeat"


@contextmanager
def beating(storage: BaseStorage, trial_id: int, interval: float) -> Iterator[None]:
    """Stamp the trial every `interval` seconds while the block runs."""
    stop = threading.Event()

    def stamp() -> None:
        while True:
            try:
                storage.set_trial_system_attr(trial_id, KEY, time.time())
            except UpdateFinishedTrialError:
                return  # failed by another worker meanwhile: nothing left to keep alive
            if stop.wait(interval):
                return

    thread = threading.Thread(target=stamp, name=f"sweeps-heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def last_beat(trial: optuna.trial.FrozenTrial) -> float:
    beat = trial.system_attrs.get(KEY)
    if beat is not None:
        return float(beat)
    return trial.datetime_start.timestamp() if trial.datetime_start else time.time()


def fail_stale(study: optuna.Study, storage: BaseStorage, grace: float, max_retry: int = 3) -> list[int]:
    """Fail (and re-queue) RUNNING trials silent for more than `grace` seconds; their numbers."""
    now, failed = time.time(), []
    with warnings.catch_warnings():  # "experimental" notice
        warnings.simplefilter("ignore")
        retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if now - last_beat(trial) <= grace:
            continue
        try:
            if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue  # another worker got there first
        frozen = storage.get_trial(trial._trial_id)
        retry(study, frozen)
        failed.append(trial.number)
    return failed
