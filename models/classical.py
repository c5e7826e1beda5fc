"""The base of the classical, non-learned baselines: a numpy restoration applied per image and channel.

Why: a method that needs no training is the honest reference a learned model must beat besides the input
itself. They are scored by the shared base like every model (`trainable = False`: the runner only tests them).
Each runs on the CPU through numpy inside `forward`, one (H, W) float64 image at a time.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from benchmark.errors import UsageError
from models.base import TranslationModel


class ClassicalModel(TranslationModel):
    trainable = False

    # Nothing to shrink: a classical method runs the same in every preset.
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {"smoke": {}, "quick": {}, "paper": {}}

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256) -> None:
        super().__init__(in_channels, out_channels, image_size)
        if in_channels != out_channels:
            raise UsageError(f"{type(self).__name__} restores an image in place: it needs as many target as "
                             f"source channels, got {in_channels} -> {out_channels}")
        self.generator = nn.Identity()  # no parameters: the record counts 0

    def restore(self, image: np.ndarray) -> np.ndarray:
        """The restored (H, W) image in [0, 1] of one (H, W) float64 channel in [0, 1]."""
        raise NotImplementedError

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = x.detach().to("cpu", torch.float64).numpy()
        out = np.stack([np.stack([self.restore(channel) for channel in image]) for image in images])
        return torch.from_numpy(np.clip(out, 0.0, 1.0)).to(x.device, x.dtype)
