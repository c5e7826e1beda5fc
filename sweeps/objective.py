"""One trial: sampled settings -> a real benchmark run -> one validated number per objective.

Each trial is `benchmark.runner.execute` (the same code and the same run records as `make benchmark`),
marked `{"sweep": {"study", "trial"}}` so the leaderboard leaves it out. It is scored on the validation
split only: the record's `validation.psnr` (the best epoch, whose checkpoint the run keeps) and, for the
two-objective mode, the validation SSIM of that same epoch. The test split stays untouched by the search.

Outcomes (each reason is kept in the trial's user attributes, never only in a log):
- complete: the value(s), always finite;
- pruned: stopped by the pruner, or diverged (FloatingPointError from the model base, a non-finite
  validation metric): a bad region the sampler should learn to avoid, and it counts towards N;
- failed (`TrialFailed`): the run failed for another reason (out of memory, data, ...); not counted;
- a missing metric (`MetricMissing`) stops the sweep: every trial would be blind to it.
"""
from __future__ import annotations

import os
import socket
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.storages import BaseStorage

from benchmark.errors import BenchError
from benchmark.records import run_dir
from benchmark.run_config import RunConfig, RunRequest, prepare
from benchmark.runner import execute
from sweeps import accounting, ddp, heartbeat
from sweeps.callbacks import MONITOR, DivergenceGuard, Pruning, RunLink, ValidationHistory, finite
from sweeps.settings import SweepSettings
from sweeps.storage import StorageSpec


class TrialFailed(Exception):
    """The trial's run failed for a reason other than divergence (the trial ends FAIL, the sweep goes on)."""


class Surplus(Exception):
    """The trial lost a start race: N trials were already complete or running (ends FAIL, not trained)."""


class MetricMissing(BenchError):
    """The metric the sweeper optimises was never logged: a setup error, so the sweep stops."""


@dataclass
class Outcome:
    number: int
    state: str  # complete | pruned | failed | surplus
    values: list[float] = field(default_factory=list)
    reason: str | None = None
    run_dir: str | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def is_divergence(reason: str | None) -> bool:
    return bool(reason) and reason.startswith("FloatingPointError")  # type: ignore[union-attr]


class Objective:
    """Callable for `study.optimize`; `target` (N) is kept current by the worker loop."""

    def __init__(self, settings: SweepSettings, study_name: str, storage: StorageSpec,
                 max_nonfinite_steps: int = 0, heartbeat_interval: float | None = None,
                 backend: BaseStorage | None = None) -> None:
        self.settings, self.study_name, self.storage, self.backend = settings, study_name, storage, backend
        self.space = settings.search_space()
        self.max_nonfinite_steps = max_nonfinite_steps
        self.heartbeat_interval = heartbeat_interval
        self.target = settings.trials
        self.last: Outcome | None = None

    # -- configuration -------------------------------------------------------------------------------------
    def configure(self, trial: optuna.trial.BaseTrial) -> RunConfig:
        """The trial's complete run configuration: preset, the study's fixed --set, then the sampled values."""
        s = self.settings
        if s.grid:
            assert self.space.grid is not None
            sampled, seed = self.space.grid.suggest(trial, s.seeds)
        else:
            sampled, seed = self.space.suggest(trial, s.crop), s.seed
        return prepare(RunRequest(model=s.model, data=s.data, preset=s.preset, seed=seed, data_root=s.data_root,
                                  devices=s.devices, overrides=tuple(s.overrides), values=sampled))

    def callbacks(self, trial: optuna.trial.Trial) -> tuple[list[Any], Pruning | None, ValidationHistory]:
        history = ValidationHistory()
        pruning = Pruning(trial) if self.settings.pruner != "none" and not self.settings.multi \
            and not self.settings.grid else None
        callbacks: list[Any] = [history, RunLink(trial), DivergenceGuard(self.max_nonfinite_steps)]
        return callbacks + ([pruning] if pruning else []), pruning, history

    # -- the trial ---------------------------------------------------------------------------------------------
    def __call__(self, trial: optuna.trial.Trial) -> float | list[float]:
        self.last = Outcome(trial.number, "failed")
        if accounting.surplus(trial.study, trial.number, self.target):
            reason = f"surplus: {self.target} trials were already complete or running when it started"
            trial.set_user_attr("reason", reason)
            self.last = Outcome(trial.number, "surplus", reason=reason)
            raise Surplus(reason)
        trial.set_user_attr("worker", worker_name())
        for stale in ("reason", "diverged", "run_dir", "run_id", "status"):  # a re-queued trial's old attributes
            if stale in trial.user_attrs:
                trial.set_user_attr(stale, None)
        try:
            config = self.configure(trial)
        except BenchError as exc:
            self._fail(trial, f"configuration: {exc}")
        trial.set_user_attr("config", config.sections)
        trial.set_user_attr("seed", config.seed)
        callbacks, pruning, history = self.callbacks(trial)
        beat = heartbeat.beating(self.backend, trial._trial_id, self.heartbeat_interval) \
            if self.backend is not None and self.storage.heartbeat == "sweeps" and self.heartbeat_interval \
            else nullcontext()
        # trial._trial_id: the storage id launched DDP ranks need to join this trial (no public accessor).
        with beat, ddp.handoff(self.study_name, self.storage.url, trial._trial_id):
            try:
                record = execute(config, callbacks=callbacks,
                                 extra={"sweep": {"study": self.study_name, "trial": trial.number}})
            except BenchError as exc:  # raised before the run folder exists (e.g. bad data)
                self._fail(trial, f"{type(exc).__name__}: {exc}")
        return self.score(trial, config, record, pruning, history)

    def run_rank(self, trial: optuna.trial.Trial) -> None:
        """A launched DDP rank's share of rank 0's trial: same configuration, same callbacks, no scoring."""
        callbacks, _, _ = self.callbacks(trial)
        execute(self.configure(trial), callbacks=callbacks,
                extra={"sweep": {"study": self.study_name, "trial": trial.number}})

    # -- scoring -------------------------------------------------------------------------------------------
    def score(self, trial: optuna.trial.Trial, config: RunConfig, record: dict[str, Any],
              pruning: Pruning | None, history: ValidationHistory) -> float | list[float]:
        folder = str(run_dir(config.data, config.model, config.preset, record["run_id"]))
        trial.set_user_attr("run_dir", folder)
        trial.set_user_attr("run_id", record["run_id"])
        trial.set_user_attr("status", record["status"])
        self.last = Outcome(trial.number, "failed", run_dir=folder)
        if pruning is not None:
            try:
                with warnings.catch_warnings():  # it re-reports rank 0's values: "already reported" notices
                    warnings.simplefilter("ignore")
                    pruning.check_pruned()  # DDP: the pruning decision travelled through the storage
            except optuna.TrialPruned as exc:
                self._prune(trial, f"{exc} (DDP; validation PSNR {pruning.last_score})")
            if pruning.pruned_epoch is not None:
                if not finite(pruning.last_score):
                    self._prune(trial, f"diverged: validation PSNR {pruning.last_score} at epoch "
                                       f"{pruning.pruned_epoch}", diverged=True)
                self._prune(trial, f"pruned at epoch {pruning.pruned_epoch} "
                                   f"(validation PSNR {pruning.last_score:.3f} dB)")
        if record["status"] != "complete":
            reason = record.get("reason") or "unknown"
            if is_divergence(reason):
                self._prune(trial, f"diverged: {reason}", diverged=True)
            self._fail(trial, reason)
        psnr = (record.get("validation") or {}).get("psnr")
        if psnr is None:
            raise MetricMissing(f"the sweep optimises {MONITOR} but trial {trial.number}'s run never logged it "
                                f"(run {folder}): check the model's validation_step and trainer.limit_val_batches")
        if not finite(psnr):
            self._prune(trial, f"diverged: validation PSNR is {psnr}", diverged=True)
        values = [float(psnr)]
        best = history.at_best()
        if best is not None and finite(best.get("val/ssim")):
            trial.set_user_attr("val_ssim", best["val/ssim"])
        if self.settings.multi:
            ssim = best.get("val/ssim") if best else None
            if ssim is None:
                raise MetricMissing(f"the sweep optimises val/ssim but trial {trial.number}'s run never logged it")
            if not finite(ssim):
                self._prune(trial, f"diverged: validation SSIM is {ssim}", diverged=True)
            values.append(float(ssim))
        for split in ("test", "input"):
            for name in ("psnr", "ssim"):
                if finite((record.get(split) or {}).get(name)):
                    trial.set_user_attr(f"{split}_{name}", float(record[split][name]))
        self.last = Outcome(trial.number, "complete", values, run_dir=folder)
        return values if self.settings.multi else values[0]

    def _prune(self, trial: optuna.trial.Trial, reason: str, diverged: bool = False) -> None:
        trial.set_user_attr("reason", reason)
        if diverged:
            trial.set_user_attr("diverged", True)
        self.last = Outcome(trial.number, "pruned", reason=reason, run_dir=trial.user_attrs.get("run_dir"))
        raise optuna.TrialPruned(reason)

    def _fail(self, trial: optuna.trial.Trial, reason: str) -> None:
        trial.set_user_attr("reason", reason)
        self.last = Outcome(trial.number, "failed", reason=reason, run_dir=trial.user_attrs.get("run_dir"))
        raise TrialFailed(reason)
