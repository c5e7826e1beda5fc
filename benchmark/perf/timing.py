"""Training and inference step times: the Lightning loop the benchmark runs, and the same steps in plain PyTorch.

Both loops iterate the same in-memory loader, run the same networks and losses and make the same optimizer
steps, so their ratio is Lightning's cost per step. A time is the wall time of a window of `steps`
consecutive steps, from the end of one step to the end of the last (data fetch, device transfer, hooks and
logging included); the device is synchronised at window boundaries only, so queued GPU work is not
serialised step by step.
"""
from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import CSVLogger

from benchmark.fast_paths import channels_last_batch, enable_fast_paths
from benchmark.perf.cases import loader, to_device
from models.base import TranslationModel
from models.gan_base import GANModel

PRECISIONS = {"32-true": None, "bf16-mixed": torch.bfloat16}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast Lightning's precision plugin uses for `precision` (no context for full precision)."""
    dtype = PRECISIONS[precision]
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def total_steps(warmup: int, steps: int, windows: int) -> int:
    """Steps to run: `warmup` untimed ones (at least 1), then `windows` windows of `steps`."""
    return max(1, warmup) + windows * steps + 1


def is_boundary(index: int, warmup: int, steps: int) -> bool:
    """Whether step `index` ends a window (or the warm-up): where the device is synchronised."""
    warmup = max(1, warmup)
    return index >= warmup and (index - warmup) % steps == 0


class PairedWindows(L.Callback):
    """Inside `trainer.fit`: after each window of Lightning steps, a window of the same steps in plain PyTorch.

    Why interleave inside one fit: on a shared machine the load drifts within seconds, and alternating short
    windows exposes both loops to the same load. The Lightning window runs from the end of one step to the
    end of the step `steps` later (data fetch, transfer, hooks, logging all included) and its clock restarts
    after the raw window, so neither window contains any of the other's time.
    """

    def __init__(self, model: TranslationModel, batches: list[dict[str, Any]], device: torch.device,
                 precision: str, warmup: int, steps: int, channels_last: bool) -> None:
        self.device, self.precision, self.warmup, self.steps = device, precision, max(1, warmup), steps
        self.raw = raw_step(model)
        self.raw_batches = device_batches(batches, device, 10**9, channels_last)
        self.lightning: list[float] = []
        self.plain: list[float] = []
        self.start = 0.0

    def _raw_window(self, steps: int) -> float:
        sync(self.device)
        start = time.perf_counter()
        for _ in range(steps):
            with autocast(self.device, self.precision):
                self.raw(next(self.raw_batches))
        sync(self.device)
        return (time.perf_counter() - start) / steps

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if not is_boundary(batch_idx, self.warmup, self.steps):
            return
        sync(self.device)
        now = time.perf_counter()
        if batch_idx == self.warmup:
            self._raw_window(self.warmup)  # the raw loop's own warm-up
        else:
            self.lightning.append((now - self.start) / self.steps)
            self.plain.append(self._raw_window(self.steps))
        self.start = time.perf_counter()


def paired_step_times(model: TranslationModel, batches: list[dict[str, Any]], device: torch.device,
                      precision: str, warmup: int, steps: int, windows: int, log_every: int,
                      compile: bool = False, channels_last: bool | None = None) -> tuple[list[float], list[float]]:
    """Seconds per step of `windows` Lightning windows and as many raw windows, interleaved.

    The Lightning side is configured as `benchmark.trainer.make_trainer` configures a run's steps: the CSV
    logger every `log_every` steps, no progress bar (batch jobs), the fast paths; no validation and no
    checkpoints (they are per epoch, not per step).
    """
    fast = enable_fast_paths(model, compile=compile, channels_last=channels_last, cuda=device.type == "cuda")
    model.setup("fit")  # the raw step needs what Lightning's fit builds (perceptual networks) from the start
    pairs = PairedWindows(model, batches, device, precision, warmup, steps, bool(fast.channels_last))
    total = total_steps(warmup, steps, windows)
    with tempfile.TemporaryDirectory(prefix="i2i-perf-") as out:
        trainer = L.Trainer(accelerator=device.type, devices=1, precision=precision, max_epochs=1,
                            limit_train_batches=total, limit_val_batches=0, num_sanity_val_steps=0,
                            logger=CSVLogger(out, name="logs", version=""), log_every_n_steps=log_every,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[pairs, *fast.callbacks], default_root_dir=out, **fast.trainer_options)
        with warnings.catch_warnings():  # training steps only, on purpose: no validation loader
            warnings.filterwarnings("ignore", message="You defined a `validation_step` but have no `val_dataloader`")
            trainer.fit(model, train_dataloaders=loader(batches, total))
    return pairs.lightning, pairs.plain


def raw_step(model: TranslationModel) -> Callable[[dict[str, Any]], None]:
    """One training step of `model` in plain PyTorch: its networks, losses and optimizers, nothing else."""
    configured = model.configure_optimizers()
    optimizers = configured[0] if isinstance(configured, tuple) else configured
    if not isinstance(model, GANModel):
        optimizer = optimizers[0] if isinstance(optimizers, list) else optimizers

        def regression(batch: dict[str, Any]) -> None:
            loss = F.l1_loss(model.predict_batch(batch), batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return regression
    opt_g, opt_d = optimizers

    def adversarial(batch: dict[str, Any]) -> None:
        fakes = model.generate(batch)
        d_loss = sum(model.discriminator_loss(batch, {k: v.detach() for k, v in fakes.items()}).values())
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        for net in model.discriminators():
            net.requires_grad_(False)
        g_loss = sum(model.generator_loss(batch, fakes).values())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for net in model.discriminators():
            net.requires_grad_(True)

    return adversarial


def device_batches(batches: list[dict[str, Any]], device: torch.device, total: int,
                   channels_last: bool) -> Iterator[dict[str, Any]]:
    for batch in loader(batches, total):
        batch = to_device(batch, device)
        yield channels_last_batch(batch) if channels_last else batch


@torch.no_grad()
def inference_times(model: TranslationModel, batch: dict[str, Any], device: torch.device, precision: str,
                    warmup: int, steps: int, windows: int) -> list[float]:
    """Seconds per `predict_batch` call in eval mode (the runner's inference rate, in the run's precision)."""
    model.to(device).eval()
    batch = to_device(batch, device)
    times = []
    with autocast(device, precision):
        for _ in range(warmup + 1):
            model.predict_batch(batch)
        for _ in range(windows):
            sync(device)
            start = time.perf_counter()
            for _ in range(steps):
                model.predict_batch(batch)
            sync(device)
            times.append((time.perf_counter() - start) / steps)
    model.train()
    return times


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
