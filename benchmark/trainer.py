"""The Lightning Trainer every run uses: devices, precision, checkpoints, loggers and progress output."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger

from benchmark.checkpoints import AtomicCheckpointIO, LastCheckpoint
from benchmark.config import RUNNER_KEYS
from benchmark.errors import UsageError
from benchmark.exact_resume import ExactResume

if TYPE_CHECKING:
    from benchmark.run_config import RunConfig

LOGGERS = ("csv", "wandb")


class PlainProgress(Callback):
    """One plain line per epoch when output is not a terminal (CI logs, batch jobs)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_rank != 0:
            return
        shown = {k: float(v) for k, v in trainer.callback_metrics.items()
                 if k.startswith("val/") or k.endswith("_loss") or k == "train/l1"}
        values = " ".join(f"{k}={v:.4g}" for k, v in sorted(shown.items()))
        print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs} {values} "
              f"({time.perf_counter() - self.start:.0f} s)", flush=True)


def default_precision() -> str:
    """bf16 mixed precision where the GPU supports it, full precision elsewhere."""
    import torch

    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def make_loggers(kind: str, out: Path, run_id: str, config: dict[str, Any]) -> list[Logger]:
    if kind not in LOGGERS:
        raise UsageError(f"--logger {kind!r} is not one of {', '.join(LOGGERS)}")
    loggers: list[Logger] = [CSVLogger(out, name="logs", version="")]
    if kind == "wandb":
        from lightning.pytorch.loggers import WandbLogger

        # Offline unless the user configured wandb (an API key or an explicit WANDB_MODE).
        offline = os.environ.get("WANDB_MODE", "offline" if not os.environ.get("WANDB_API_KEY") else "online")
        loggers.append(WandbLogger(project=os.environ.get("WANDB_PROJECT", "i2i-bench"), name=run_id,
                                   save_dir=str(out), offline=offline != "online", config=config))
    return loggers


def resolve_devices(devices: str | int) -> str | int:
    """A device count where it can be known here: `auto` is every visible GPU (Lightning's meaning), or 1.

    Why: `auto` on a multi-GPU node is DDP, and the strategy must then be chosen here (GANs need
    `ddp_find_unused_parameters_true`), not left to Lightning's `auto`.
    """
    import torch

    if str(devices).isdigit():
        return int(devices)
    if str(devices) in ("auto", "-1"):
        return torch.cuda.device_count() if torch.cuda.is_available() else 1
    return devices  # an explicit list such as "0,2" is Lightning's to parse


def is_distributed(config: RunConfig) -> bool:
    devices = resolve_devices(config.devices)
    many = isinstance(devices, int) and devices > 1 or isinstance(devices, str) and "," in devices.strip(",")
    return config.num_nodes > 1 or many


# Every launcher's rank variables: torchrun (RANK, LOCAL_RANK, GROUP_RANK), SLURM (SLURM_PROCID) and
# Lightning's own subprocess launcher (LOCAL_RANK, NODE_RANK).
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")


def is_rank_zero(distributed: bool = True) -> bool:
    """Whether this process is global rank 0 of its run, known before any process group exists.

    Why the environment: a launched rank must not write files before `trainer.fit` sets the ranks up,
    and global rank 0 is the one process whose every launcher rank variable is 0. A run that is not
    distributed is always its own rank 0, whatever the environment (a sweep worker inside `srun`).
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return not distributed or all(int(os.environ.get(k) or 0) == 0 for k in RANK_VARIABLES)


def _placement(config: RunConfig, model: L.LightningModule) -> dict[str, Any]:
    """Where and how precisely a run computes: the same for training and for scoring (`evaluate`)."""
    devices = resolve_devices(config.devices)
    strategy = "auto"
    if is_distributed(config):
        # Manual-optimization GANs leave the other network's parameters without gradients in each step.
        strategy = "ddp" if model.automatic_optimization else "ddp_find_unused_parameters_true"
    return {"accelerator": "auto", "devices": devices, "num_nodes": config.num_nodes, "strategy": strategy,
            "precision": config.trainer["precision"] or default_precision()}


def make_trainer(config: RunConfig, out: Path, model: L.LightningModule,
                 extra_callbacks: list[Callback] | None = None) -> L.Trainer:
    from benchmark.console import quiet_libraries
    from benchmark.fast_paths import enable_fast_paths

    quiet_libraries()
    settings = {k: v for k, v in config.trainer.items() if k not in RUNNER_KEYS and k != "precision"}
    every = config.trainer["checkpoint_every_n_batches"]
    tty = sys.stderr.isatty()
    # best.ckpt by validation PSNR (overwritten in place, also after a resume); last.ckpt is LastCheckpoint's.
    checkpoint = ModelCheckpoint(dirpath=out / "checkpoints", filename="best", monitor="val/psnr", mode="max",
                                 save_last=False, auto_insert_metric_name=False, enable_version_counter=False)
    last = LastCheckpoint(out / "checkpoints", every)
    fast = enable_fast_paths(model, compile=config.compile)
    callbacks: list[Callback] = ([checkpoint, last, ExactResume()] + ([] if tty else [PlainProgress()]) + fast.callbacks
                                 + list(extra_callbacks or []))
    return L.Trainer(**_placement(config, model), callbacks=callbacks,
                     logger=make_loggers(config.logger, out, out.name, config.saved()),
                     enable_progress_bar=tty, enable_model_summary=False, default_root_dir=str(out),
                     num_sanity_val_steps=0, plugins=[AtomicCheckpointIO()], **fast.trainer_options,
                     **settings)


def scoring_trainer(config: RunConfig, model: L.LightningModule, callbacks: list[Callback]) -> L.Trainer:
    """A trainer that only tests, placed and with the precision of the run it scores."""
    from benchmark.console import quiet_libraries
    from benchmark.fast_paths import enable_fast_paths

    quiet_libraries()
    fast = enable_fast_paths(model, compile=config.compile)
    return L.Trainer(**_placement(config, model), callbacks=[*fast.callbacks, *callbacks], logger=False,
                     enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False,
                     **fast.trainer_options)
