"""The Lightning Trainer every run uses: devices, precision, checkpoints, loggers and progress output."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger

from benchmark.errors import UsageError

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


def make_trainer(config: dict[str, Any], out: Path, model: L.LightningModule,
                 extra_callbacks: list[Callback] | None = None) -> L.Trainer:
    run, settings = config["run"], dict(config["trainer"])
    devices = run["devices"]
    devices = int(devices) if str(devices).isdigit() else devices
    num_nodes = int(run.get("num_nodes") or 1)
    distributed = num_nodes > 1 or (isinstance(devices, int) and devices > 1)
    strategy = "auto"
    if distributed:
        # Manual-optimization GANs leave the other network's parameters without gradients in each step.
        strategy = "ddp" if model.automatic_optimization else "ddp_find_unused_parameters_true"
    tty = sys.stderr.isatty()
    checkpoint = ModelCheckpoint(dirpath=out / "checkpoints", filename="best", monitor="val/psnr", mode="max",
                                 save_last=True, auto_insert_metric_name=False)
    callbacks: list[Callback] = [checkpoint] + ([] if tty else [PlainProgress()]) + list(extra_callbacks or [])
    settings["precision"] = settings.get("precision") or default_precision()
    return L.Trainer(accelerator="auto", devices=devices, num_nodes=num_nodes, strategy=strategy,
                     callbacks=callbacks, logger=make_loggers(run["logger"], out, out.name, config),
                     enable_progress_bar=tty, enable_model_summary=False, default_root_dir=str(out),
                     num_sanity_val_steps=0, **settings)
