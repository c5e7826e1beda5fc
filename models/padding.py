"""Pad an image batch to a multiple of a network's total stride, and crop the output back.

Why: training crops are chosen to fit a network (U-Net-256 needs sides divisible by 256, FI-GAN by 4), but
test images are whole images of whatever size the data has. Replicate padding keeps the border statistics; the
prediction is cropped back so it has exactly the target's shape.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


def padded_apply(net: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, multiple: int,
                 out_scale: int = 1) -> torch.Tensor:
    """`net(x)` with x padded (bottom/right, replicate) to sides divisible by `multiple`, output cropped back.

    `out_scale` is the network's up-sampling factor (the output is cropped to `out_scale` times the input).
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if not pad_h and not pad_w:
        return net(x)
    out = net(F.pad(x, (0, pad_w, 0, pad_h), mode="replicate"))
    return out[..., : h * out_scale, : w * out_scale]
