"""`residual-cnn`: a plain stack of 3x3 convolutions predicting a correction to the input (DnCNN-style)."""
from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.option_types import PositiveFloat, PositiveInt
from models.base import TranslationModel


class ResidualCNN(TranslationModel):
    """Maps `source` to `source + f(source)`; trained with an L1 loss against `target`."""

    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"model": {"width": 8, "layers": 2}},
        "quick": {"model": {"width": 32, "layers": 6}, "trainer": {"max_epochs": 10}},
    }

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256,
                 width: PositiveInt = 64, layers: PositiveInt = 17, lr: PositiveFloat = 1e-3) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.save_hyperparameters()
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(layers - 2):
            blocks += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        blocks.append(nn.Conv2d(width, out_channels, 3, padding=1))
        self.generator = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.generator(x)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor | None:
        loss = F.l1_loss(self.predict_batch(batch), batch["target"])
        if not self.loss_is_finite(loss):
            return None
        self.log("train/l1", loss.detach(), batch_size=len(batch["id"]))
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr)
