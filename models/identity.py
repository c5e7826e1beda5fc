"""`identity`: the input itself. Not trained; it is the floor every model must beat, scored like any model."""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from models import register_model
from models.base import TranslationModel


@register_model("identity")
class IdentityModel(TranslationModel):
    trainable = False

    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {"smoke": {}, "quick": {}, "paper": {}}

    def __init__(self, in_channels: int = 1, out_channels: int = 1, image_size: int = 256) -> None:
        super().__init__(in_channels, out_channels, image_size)
        self.generator = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
