"""How N jobs at once share one machine: disjoint CPU cores and a fair thread count each, GPUs split.

Why cores and threads together: N PyTorch processes that each start one thread per core oversubscribe the
machine N-fold and thrash; pinning job slot k to its own cores and setting its intra-op thread count to
that many cores keeps every core busy with one thread. GPUs: slot k gets `devices` of the visible GPUs,
consecutive and wrapping round, so more jobs than GPUs share them evenly.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def visible_gpus() -> list[str]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else every device torch sees."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def gpu_slices(slots: int, devices: int, gpus: list[str]) -> list[str | None]:
    """CUDA_VISIBLE_DEVICES of each slot: `devices` consecutive GPUs each, wrapping round."""
    if not gpus:
        return [None] * slots
    return [",".join(gpus[(s * devices + j) % len(gpus)] for j in range(devices)) for s in range(slots)]


def core_slices(slots: int, cores: list[int]) -> list[list[int]]:
    """Disjoint, contiguous runs of cores, sizes differing by at most one; with more slots than cores,
    slot k shares core k mod n."""
    if slots >= len(cores):
        return [[cores[s % len(cores)]] for s in range(slots)]
    base, extra = divmod(len(cores), slots)
    out, start = [], 0
    for s in range(slots):
        size = base + (1 if s < extra else 0)
        out.append(cores[start:start + size])
        start += size
    return out


@dataclass(frozen=True)
class Slot:
    """What job slot `index` of a local pool may use."""

    index: int
    cores: list[int]
    gpus: str | None

    def env(self) -> dict[str, str]:
        env = {name: str(len(self.cores)) for name in THREAD_VARIABLES}
        if self.gpus is not None:
            env["CUDA_VISIBLE_DEVICES"] = self.gpus
        return env


def slots(jobs: int, devices: int = 1) -> list[Slot]:
    cores = sorted(os.sched_getaffinity(0))
    gpus = gpu_slices(jobs, devices, visible_gpus())
    return [Slot(k, c, g) for k, (c, g) in enumerate(zip(core_slices(jobs, cores), gpus))]
