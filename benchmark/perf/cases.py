"""What the harness times: a model built as a preset builds it, and in-memory batches of the model's shape.

Sizes default to each method's paper training resolution (256 x 256; SRGAN 96 x 96 high-resolution crops at
x4; FI-GAN 64 x 64 crops, batch 64) at batch 16, the batch the issue's GPU targets are stated for.
Two settings differ from a benchmark run, for timing only: perceptual networks get random weights (the
ImageNet ones may be offline; the arithmetic is the same) and SRGAN skips its MSE pre-training phase (the
adversarial step is the one worth timing; pre-training is a cheaper subset of it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from benchmark.config import parameters
from benchmark.errors import UsageError
from benchmark.run_config import RunRequest, model_for, prepare
from datamodules import DATASETS
from models import MODELS
from models.base import TranslationModel
from models.gan_base import GANModel
from models.unet import UNetModel

DEFAULT_SIZE, DEFAULT_BATCH = 256, 16


def dataset_of(model: str) -> str:
    """Whose preset sections (and x4 scale) a model is built with: a model that up-samples itself needs the
    super-resolution task."""
    return "fluorescence" if "scale" in parameters(MODELS[model]) else "mri"


def paper_shape(model: str) -> tuple[int, int]:
    """(side, batch) a model is timed at by default: its paper preset's training crop (else 256) and batch
    (else 16, where the paper trains on single images)."""
    data = prepare(RunRequest(model=model, data=dataset_of(model), preset="paper")).sections["data"]
    batch = data.get("batch_size") or 1
    return data.get("crop_size") or DEFAULT_SIZE, batch if batch > 1 else DEFAULT_BATCH
TIMING_ONLY = {"perceptual_weights": "random", "pretrain_fraction": 0.0}
DISTINCT_BATCHES = 4


def timeable(name: str) -> bool:
    """Models the raw loop reproduces: the U-Net's L1 step and the shared GAN step (not staged models)."""
    cls = MODELS[name]
    staged = hasattr(cls, "training_stages")
    return cls.trainable and not staged and (issubclass(cls, GANModel) or issubclass(cls, UNetModel))


def timeable_models() -> list[str]:
    return [name for name in MODELS if timeable(name)]


@dataclass
class Case:
    """One model at one shape: `size` is the output side, `batch` the batch size."""

    model: str
    size: int
    batch: int
    preset: str

    def build(self) -> TranslationModel:
        """The model with the preset's widths, sized like the runner sizes it."""
        if not timeable(self.model):
            raise UsageError(f"perf: {self.model!r} cannot be timed (valid: {', '.join(timeable_models())})")
        cls = MODELS[self.model]
        data = dataset_of(self.model)
        params = parameters(cls)
        timing = {k: v for k, v in TIMING_ONLY.items() if k in params}
        config = prepare(RunRequest(model=self.model, data=data, preset=self.preset, values={"model": timing}))
        sizing: dict[str, Any] = {"in_channels": 1, "out_channels": 1, "image_size": self.size}
        if "scale" in params:
            sizing["scale"] = DATASETS[data].scale
        torch.manual_seed(0)
        return model_for(config, sizing)

    def batches(self, model: TranslationModel) -> list[dict[str, Any]]:
        """A few distinct batches in the datamodules' format (values are random: speed does not care)."""
        generator = torch.Generator().manual_seed(0)
        scale = int(getattr(model.hparams, "scale", 1) or 1) if model.input_key == "source_lr" else 1
        if self.size % scale:
            raise UsageError(f"perf: --size {self.size} must be a multiple of {self.model}'s scale {scale}")
        out = []
        for index in range(DISTINCT_BATCHES):
            shape = (self.batch, model.in_channels, self.size, self.size)
            batch: dict[str, Any] = {"source": torch.rand(shape, generator=generator),
                                     "target": torch.rand(shape, generator=generator),
                                     "id": [f"perf-{index}-{i}" for i in range(self.batch)]}
            if scale > 1:
                batch["source_lr"] = torch.nn.functional.avg_pool2d(batch["target"], scale)
            out.append(batch)
        return out


class _Cycle(Dataset):
    """Pre-collated batches served in turn, `length` times in all."""

    def __init__(self, batches: list[dict[str, Any]], length: int) -> None:
        self.items, self.length = batches, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.items[index % len(self.items)]


def loader(batches: list[dict[str, Any]], steps: int) -> DataLoader:
    """The one loader both the Lightning and the raw loop iterate (pinned like the datamodules' on CUDA)."""
    return DataLoader(_Cycle(batches, steps), batch_size=None, shuffle=False, num_workers=0,
                      pin_memory=torch.cuda.is_available())


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
