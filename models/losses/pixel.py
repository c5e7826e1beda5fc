"""Pixel L1 on the intensity scale of the pix2pix/CycleGAN code, whose published weights assume it.

Why: that code normalises images to [-1, 1] (`transforms.Normalize((0.5,), (0.5,))` in its
`data/base_dataset.py`) and weighs its L1 terms there against the adversarial loss (pix2pix lambda_L1 = 100,
CycleGAN lambda = 10). Images here lie in [0, 1], where the same pair of images is half as far apart in L1, so
the published weights would count the L1 term half as much against the adversarial one.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

PAPER_SCALE = 2.0  # width of [-1, 1] over the width of [0, 1]


def paper_l1(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of two [0, 1] images, as measured on their [-1, 1] versions."""
    return PAPER_SCALE * F.l1_loss(prediction, target)
