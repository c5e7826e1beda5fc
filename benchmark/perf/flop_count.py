"""FLOPs of a training step and of a prediction, and the device's measured matmul peak, for MFU.

FLOPs are counted by `benchmark.flops.count_flops` (PyTorch's `FlopCounterMode`: convolutions, matmuls and their backward;
one multiply-add is 2 FLOPs; element-wise work, norms and the optimizer are not counted, as usual for MFU).
The peak is measured, not looked up: the best rate of large square matmuls in the precision the step runs
in (bf16 for bf16-mixed, float32 otherwise; TF32 where the fast paths allow it), so MFU = achieved FLOP/s
over what this device, driver and library version reach on the friendliest kernel there is.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from benchmark.flops import count_flops
from benchmark.perf.timing import PRECISIONS, raw_step, sync
from models.base import TranslationModel


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


def matmul_peak_flops(device: torch.device, precision: str, trials: int = 3) -> float:
    """Best FLOP/s of square matmuls in the precision's compute dtype, over a few sizes.

    Why several sizes: on a CPU shared with other jobs the best size depends on how much cache the others
    leave (here 512 beat 1024 by 2x); on a GPU the largest wins. Each trial does about 10 GFLOP on a CPU and
    20 TFLOP on a GPU.
    """
    dtype = PRECISIONS[precision] or torch.float32
    cuda = device.type == "cuda"
    best = 0.0
    for n in (4096, 8192) if cuda else (512, 1024, 2048):
        repeats = max(1, int((2e13 if cuda else 1e10) / (2 * n**3)))
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
        b = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
        torch.mm(a, b)
        for _ in range(trials):
            sync(device)
            start = time.perf_counter()
            for _ in range(repeats):
                torch.mm(a, b)
            sync(device)
            best = max(best, 2 * n**3 * repeats / (time.perf_counter() - start))
    return best


class PeakTracker:
    """The best matmul rate seen so far in a session, per precision: measured again before each model, so
    a shared machine's busy moments do not make a low peak (and an MFU above 1)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.best: dict[str, float] = {}

    def update(self, precision: str) -> float:
        self.best[precision] = max(self.best.get(precision, 0.0), matmul_peak_flops(self.device, precision))
        return self.best[precision]
