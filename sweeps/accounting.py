"""Counting a study's trials, so that all workers together finish exactly N complete or pruned ones.

Why not `MaxTrialsCallback(N, states=(COMPLETE, PRUNED))` alone: it only stops a worker after a trial ends,
so K workers that start together overshoot N by up to K - 1, and a worker that stops while others still run
leaves the study short when one of those fails. The loop (`sweeps.loop`) starts a trial only while
complete + pruned + running < N, waits (rather than exits) while running trials may still fail, and a trial
whose number shows it lost a start race (`surplus`) is failed at once without training.
"""
from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

DONE = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True)
class Counts:
    complete: int = 0
    pruned: int = 0
    running: int = 0
    waiting: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.complete + self.pruned


def counts(study: optuna.Study) -> Counts:
    trials = study.get_trials(deepcopy=False)
    by_state = {state: sum(t.state == state for t in trials) for state in TrialState}
    return Counts(by_state[TrialState.COMPLETE], by_state[TrialState.PRUNED], by_state[TrialState.RUNNING],
                  by_state[TrialState.WAITING], by_state[TrialState.FAIL])


def surplus(study: optuna.Study, number: int, target: int) -> bool:
    """True when `target` trials numbered below `number` are already complete, pruned or running."""
    live = study.get_trials(deepcopy=False, states=(*DONE, TrialState.RUNNING))
    return sum(t.number < number for t in live) >= target
