"""Checkpoints a crash cannot spoil: written atomically, the latest state always in `last.ckpt`, read safely.

Why: Lightning's own writer stages a checkpoint in the system temporary folder and moves it into place, a
copy rather than a rename when the results live on another file system (a SIGKILL mid-copy leaves a
truncated file), and since Lightning 2.6 `ModelCheckpoint(save_last=True)` refreshes `last.ckpt` only when
a new best is saved, so after a crash it can be many epochs old. Here every checkpoint goes to a temporary
file beside its target and is renamed over it, and `LastCheckpoint` rewrites `last.ckpt` every
`trainer.checkpoint_every_n_batches` training batches and at the end of every epoch. Checkpoints hold
tensors and plain types only, and are read with `weights_only=True`: unpickling cannot run code.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from benchmark import records
from benchmark.config import DEFAULT_EVERY_N_BATCHES

FOLDER = "checkpoints"
LAST = "last.ckpt"
BEST = "best.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O with an atomic rename beside the target and `weights_only=True` loading
    (for `fit(ckpt_path=...)` and `test(ckpt_path=...)` alike)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO.save_checkpoint takes no storage_options")
        records.atomic_write(Path(path), lambda handle: torch.save(checkpoint, handle))

    def load_checkpoint(self, path: Any, map_location: Any = None, weights_only: bool | None = None) -> Any:
        return super().load_checkpoint(path, map_location=map_location, weights_only=True)


class LastCheckpoint(Checkpoint):
    """Keeps `checkpoints/last.ckpt` at most `every_n_batches` training batches old (0: epoch ends only).

    A `Checkpoint` subclass, so Lightning calls its epoch-end hook after the model's own: the GANs' per-epoch
    scheduler steps are in the file, and a resumed run does not repeat or skip one.
    """

    def __init__(self, dirpath: Path, every_n_batches: int = DEFAULT_EVERY_N_BATCHES) -> None:
        self.path = Path(dirpath) / LAST
        self.every_n_batches = int(every_n_batches)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        loop = trainer.fit_loop.epoch_loop
        if (self.every_n_batches and (loop.total_batch_idx + 1) % self.every_n_batches == 0
                and not loop.batch_progress.is_last_batch):  # the epoch end saves the last batch anyway
            trainer.save_checkpoint(self.path, weights_only=False)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)


@dataclass(frozen=True)
class CheckpointInfo:
    """Where a checkpoint stands. `step` is Lightning's global_step: optimizer steps, so a GAN's two
    optimizers count two per batch; `batches` is training batches that stepped (the CSV logs' step)."""

    path: Path
    step: int
    epoch: int
    batches: int


def read_info(path: Path) -> CheckpointInfo | None:
    """The position of a sound checkpoint; None (and a warning) for one that cannot be read back whole."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        loop = state["loops"]["fit_loop"]["epoch_loop.state_dict"]
        return CheckpointInfo(Path(path), int(state["global_step"]), int(state["epoch"]),
                              int(loop.get("_batches_that_stepped", 0)))
    except Exception as exc:  # noqa: BLE001 - truncated, foreign or damaged: never resumed from
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        print(f"warning: ignoring checkpoint {path}: {first}", file=sys.stderr)
        return None


def latest(folder: Path) -> CheckpointInfo | None:
    """The readable checkpoint of a run folder (`last.ckpt`, else `best.ckpt`) that got furthest."""
    found = [info for name in (LAST, BEST) if (folder / FOLDER / name).is_file()
             for info in [read_info(folder / FOLDER / name)] if info is not None]
    return max(found, key=lambda i: (i.step, i.batches, i.path.name == LAST), default=None)
