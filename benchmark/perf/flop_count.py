"""FLOPs of a training step and of a prediction, and the device's measured matmul peak, for MFU.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (convolutions, matmuls and their backward;
one multiply-add is 2 FLOPs; element-wise work, norms and the optimizer are not counted, as usual for MFU).
The peak is measured, not looked up: the best rate of large square matmuls in the precision the step runs
in (bf16 for bf16-mixed, float32 otherwise; TF32 where the fast paths allow it), so MFU = achieved FLOP/s
over what this device, driver and library version reach on the friendliest kernel there is.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmark.perf.timing import PRECISIONS, raw_step, sync
from models.base import TranslationModel


def count_flops(fn: Callable[..., Any], *args: Any) -> int:
    """FLOPs of one call of `fn(*args)`."""
    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


def train_flops_per_image(model: TranslationModel, batch: dict[str, Any]) -> float:
    """Forward and backward FLOPs of one training step (every network of the step), per image."""
    model.train()
    model.setup("fit")
    return count_flops(raw_step(model), batch) / len(batch["id"])


@torch.no_grad()
def inference_flops_per_image(model: TranslationModel, batch: dict[str, Any]) -> float:
    model.eval()
    try:
        return count_flops(model.predict_batch, batch) / len(batch["id"])
    finally:
        model.train()


def matmul_peak_flops(device: torch.device, precision: str, trials: int = 5) -> float:
    """Best FLOP/s of an n x n by n x n matmul in the precision's compute dtype (n = 8192 on CUDA)."""
    dtype = PRECISIONS[precision] or torch.float32
    n, repeats = (8192, 20) if device.type == "cuda" else (1024, 4)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    torch.mm(a, b)
    best = 0.0
    for _ in range(trials):
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        sync(device)
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best
