"""Compute cost of a model's prediction, counted once at run time and stored in the run record.

Why at run time: the record is the only thing the leaderboard reads, and the counted network is exactly the
trained one (its preset's width and depth), not a re-built registry default.

Protocol: `torch.utils.flop_counter.FlopCounterMode` over the model's own `forward` (what predicts, padding
and clamping included) on one zero image that yields a 256 x 256 output: 1 x C x 256 x 256, or 256 / scale on
a side for models that up-sample themselves (`input_key = "source_lr"`). One multiply-add counts as 2 FLOPs
(PyTorch's convention). Classical baselines run numpy inside `forward`, which PyTorch cannot count: None.
Layers that compute a convolution another way for speed (`PolyphaseConv2d`) are counted as the convolution
they stand for, so the count is the network's, whatever device it runs on.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

SIDE = 256


def count_flops(fn: Callable[..., Any], *args: Any) -> int:
    """FLOPs of one call of `fn(*args)`, every convolution counted as itself."""
    from torch.utils.flop_counter import FlopCounterMode

    from models.networks.polyphase_conv import plain_convolutions

    with plain_convolutions(), FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


def gflops_per_image(model: Any, channels: int, scale: int = 1, side: int = SIDE) -> float | None:
    """GFLOPs of one prediction with a `side` x `side` output; None when not countable (numpy baselines)."""
    from models.classical import ClassicalModel

    if isinstance(model, ClassicalModel):
        return None
    size = side // scale if getattr(model, "input_key", "source") == "source_lr" else side
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    x = torch.zeros(1, channels, size, size, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            flops = count_flops(model, x)
    finally:
        model.train(was_training)
    return flops / 1e9
