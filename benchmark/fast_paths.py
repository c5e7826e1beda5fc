"""GPU fast paths, switched on in one place for the trainer and the performance harness.

On CUDA: cuDNN's autotuner (`benchmark=True`: training crops have one fixed shape), TF32 for float32 matmuls
(bf16-mixed is the default precision anyway; see `benchmark.trainer.default_precision`), channels_last
weights and batches, and a few loader workers per process (`default_num_workers`). Everywhere, on request:
`torch.compile` of each network (generators and discriminators separately, never the LightningModule, so
Lightning's hooks and the manual GAN loop stay eager and checkpoints keep their keys).

Every switch changes speed, never results beyond floating-point rounding; on a CPU without `compile`
nothing here does anything.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn

MAX_LOADER_WORKERS = 4


@dataclass
class FastPaths:
    """What `enable_fast_paths` switched on: extra Trainer options and callbacks, and a summary."""

    trainer_options: dict[str, Any] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    channels_last: list[str] = field(default_factory=list)
    compiled: list[str] = field(default_factory=list)


def networks_of(model: nn.Module) -> dict[str, nn.Module]:
    """Every trained network of a model: `networks()` plus the discriminators of a GAN, each once."""
    found: dict[str, nn.Module] = dict(model.networks()) if hasattr(model, "networks") else {}
    for index, net in enumerate(getattr(model, "discriminators", list)()):
        if all(net is not known for known in found.values()):
            found[f"discriminator_{index}"] = net
    return found


def uses_instance_norm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.instancenorm._InstanceNorm) for m in net.modules())


def to_channels_last(model: nn.Module, force: bool | None = None) -> list[str]:
    """Convert the networks' 4-D weights to channels_last; the names converted.

    `force=None` skips networks with instance norm: PyTorch normalises an instance-norm input through a
    contiguous (N, C*H*W) view, so each such layer would add two layout copies and undo the gain. The
    performance harness can force either way (`--channels-last on|off`) to measure it on the GPU at hand.
    """
    if force is False:
        return []
    names = []
    for name, net in networks_of(model).items():
        if force or not uses_instance_norm(net):
            net.to(memory_format=torch.channels_last)
            names.append(name)
    return names


def channels_last_batch(batch: Any) -> Any:
    """4-D floating tensors of a dict batch in channels_last, in place (Lightning hands hooks and steps
    the same dict). One-channel images already are, so this only moves multi-channel data."""
    if isinstance(batch, dict):
        for key, value in batch.items():
            if isinstance(value, torch.Tensor) and value.dim() == 4 and value.is_floating_point():
                batch[key] = value.contiguous(memory_format=torch.channels_last)
    return batch


class ChannelsLastBatches(Callback):
    """Moves every batch to channels_last after the device transfer, before the step sees it."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        channels_last_batch(batch)

    def on_validation_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                                  batch_idx: int, dataloader_idx: int = 0) -> None:
        channels_last_batch(batch)

    def on_test_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                            batch_idx: int, dataloader_idx: int = 0) -> None:
        channels_last_batch(batch)


def compile_networks(model: nn.Module, **options: Any) -> list[str]:
    """`torch.compile` each network in place (`nn.Module.compile`): state-dict keys are unchanged, so
    checkpoints load into an uncompiled model. A network compiled before is left as it is."""
    names = []
    for name, net in networks_of(model).items():
        if getattr(net, "_compiled_call_impl", None) is None:
            net.compile(**options)
        names.append(name)
    return names


def enable_fast_paths(model: nn.Module, compile: bool = False, channels_last: bool | None = None,
                      cuda: bool | None = None) -> FastPaths:
    """Switch on what helps on this machine (see the module docstring); `cuda=None`: when CUDA is present.

    Idempotent: a staged model gets a trainer per stage, and each calls this again.
    """
    cuda = torch.cuda.is_available() if cuda is None else cuda
    fast = FastPaths()
    if cuda:
        fast.trainer_options["benchmark"] = True  # Lightning sets torch.backends.cudnn.benchmark from it
        torch.backends.cudnn.benchmark = True
        torch.set_float32_matmul_precision("high")
        fast.channels_last = to_channels_last(model, channels_last)
        if fast.channels_last:
            fast.callbacks.append(ChannelsLastBatches())
    elif channels_last:
        fast.channels_last = to_channels_last(model, True)
        fast.callbacks.append(ChannelsLastBatches())
    if compile:
        fast.compiled = compile_networks(model)
    return fast


def default_num_workers() -> int:
    """Loader workers per process on a GPU node, 0 elsewhere.

    The datamodules generate their data once and keep it in memory, so a worker only crops, flips and
    collates; a few per process keep a GPU fed, and more would take CPU cores from the other ranks.
    """
    if not torch.cuda.is_available():
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    per_process = cpus // max(1, torch.cuda.device_count())
    return max(1, min(MAX_LOADER_WORKERS, per_process - 1))
