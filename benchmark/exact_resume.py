"""Exact resume: a checkpoint carries whatever decides what training does next, so a run resumed from any
checkpoint ends exactly (bit for bit, on CPU) where an uninterrupted one would.

Lightning's checkpoint already holds the weights, optimizers, schedulers and loop counters; the data
order is resumable through `datamodules.sampling` (its loader state rides in Lightning's checkpoint); a
model's own state (CycleGAN's image pools) is its `on_save_checkpoint`. This callback adds the rest:

- the random states of torch (CPU and every CUDA device), NumPy and Python at the moment of saving. They
  are put back just before the first training batch after the resume, not when the checkpoint is read: in
  between, a restarted process does work an uninterrupted one did not (building loaders), and the data
  pipeline draws nothing from these states (its draws come from (seed, epoch)), so workers have no state
  of their own to carry.
- the training seconds spent before the checkpoint, so `efficiency.train_seconds` of a resumed run counts
  the time before the crash too (`train_seconds`). Training time is the time in Lightning's training loop
  (`on_train_start` to `on_train_end`), summed over the processes that got it there: what an uninterrupted
  run spends, without each restart's start-up.
"""
from __future__ import annotations

import random
import time
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader

from datamodules.sampling import EpochSampler


def random_states() -> dict[str, Any]:
    """Every global random state, in types a `weights_only` load accepts."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    version, state, python_gauss = random.getstate()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(gauss)],
            "python": [version, list(state), python_gauss]}


def set_random_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    name, keys, position, has_gauss, gauss = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    version, state, python_gauss = states["python"]
    random.setstate((version, tuple(state), python_gauss))


def _train_sampler(trainer: L.Trainer) -> EpochSampler | None:
    loader = trainer.train_dataloader
    sampler = getattr(loader, "sampler", None) if isinstance(loader, DataLoader) else None
    return sampler if isinstance(sampler, EpochSampler) else None


class ExactResume(Callback):
    """Saves and restores the random states, the data position and the elapsed training time."""

    def __init__(self) -> None:
        self.train_seconds_before = 0.0
        self.measured = False  # whether this fit trained or resumed (else the caller's own clock counts)
        self._pending: dict[str, Any] | None = None
        self._start: float | None = None
        self._end: float | None = None

    @property
    def state_key(self) -> str:
        return "ExactResume"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start, self._end, self.measured = time.perf_counter(), None, True

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._end = time.perf_counter()

    def seconds(self) -> float:
        """Training seconds so far, those before the checkpoint resumed from included."""
        if self._start is None:
            return self.train_seconds_before
        return self.train_seconds_before + (self._end or time.perf_counter()) - self._start

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self._pending is not None:
            set_random_states(self._pending)
            self._pending = None

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        sampler = _train_sampler(trainer)
        if sampler is not None:
            sampler.mark(trainer.current_epoch, (batch_idx + 1) * trainer.train_dataloader.batch_size)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        sampler = _train_sampler(trainer)
        if sampler is not None:  # runs before the checkpoint callbacks': their files resume at the next epoch
            sampler.mark(trainer.current_epoch + 1, 0)

    def state_dict(self) -> dict[str, Any]:
        return {"random": random_states(), "train_seconds": self.seconds()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict["random"]
        self.train_seconds_before = float(state_dict["train_seconds"])
        self.measured = True


def train_seconds(trainer: L.Trainer, fallback: float) -> float:
    """The fit's training seconds across resumes; `fallback` (the caller's clock) for a trainer without
    this callback or a fit that neither trained nor resumed."""
    found = [c for c in trainer.callbacks if isinstance(c, ExactResume) and c.measured]
    return found[0].seconds() if found else fallback
