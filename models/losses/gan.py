"""Adversarial objectives on discriminator logits: vanilla (BCE, Goodfellow 2014) and least squares (LSGAN)."""
from __future__ import annotations

import typing
from typing import Literal

import torch
import torch.nn.functional as F

from benchmark.errors import UsageError

GANMode = Literal["vanilla", "lsgan"]
GAN_MODES = typing.get_args(GANMode)


def adversarial_loss(logits: torch.Tensor, real: bool, mode: str = "vanilla") -> torch.Tensor:
    """Loss pushing the logits towards 'real' (1) or 'fake' (0)."""
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(logits.float(), target.float())
    if mode == "lsgan":
        return F.mse_loss(logits.float(), target.float())
    raise UsageError(f"model.gan_mode={mode!r} is not one of {', '.join(GAN_MODES)}")
