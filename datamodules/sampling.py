"""The training order of an epoch as a function of (seed, epoch) alone, so a run resumed mid-epoch
continues the very order, crops and flips an uninterrupted run would have seen.

Why not torch's `RandomSampler` and the global RNG: their draws depend on how many iterators and samples
came before in this process (and, with workers, on each worker's state), which a restarted process cannot
replay. Here each epoch's permutation and each sample's augmentation seed come from a generator seeded
with (seed, epoch); the sampler yields `(index, draw_seed)` pairs and the dataset draws its crop and flips
from `draw_seed`. The loader is resumable in Lightning's sense (`state_dict` / `load_state_dict`): its
state is the epoch and how many of the epoch's samples were consumed, which the trainer's resume callback
marks after every batch.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

DRAW_SEEDS = 2**62  # range of the per-sample augmentation seeds


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(epoch)) % 2**63)


class EpochSampler(Sampler):
    """Shuffles `size` samples per epoch; after `load_state_dict` the next epoch iterated starts where a
    saved one stopped."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seed = int(size), int(seed)
        self.epoch, self.skip = 0, 0
        self.mark(0, 0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def order(self, epoch: int) -> list[tuple[int, int]]:
        generator = epoch_generator(self.seed, epoch)
        permutation = torch.randperm(self.size, generator=generator).tolist()
        draws = torch.randint(DRAW_SEEDS, (self.size,), generator=generator).tolist()
        return list(zip(permutation, draws))

    def __iter__(self) -> Iterator[tuple[int, int]]:
        skip, self.skip = self.skip, 0
        yield from self.order(self.epoch)[skip:]

    def __len__(self) -> int:
        return self.size

    def mark(self, epoch: int, consumed: int) -> None:
        """Where training stands: the state a checkpoint written now must hold."""
        self.position = {"epoch": int(epoch), "consumed": int(consumed)}

    def state_dict(self) -> dict[str, int]:
        return dict(self.position)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.skip = int(state["epoch"]), int(state["consumed"])
        self.mark(self.epoch, self.skip)


class ResumableLoader(DataLoader):
    """A DataLoader whose `EpochSampler` position is saved in Lightning checkpoints and restored before
    the first batch of a resumed fit is drawn (a sampler Lightning wrapped for DDP has no state: {})."""

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict() if isinstance(self.sampler, EpochSampler) else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state and isinstance(self.sampler, EpochSampler):
            self.sampler.load_state_dict(state)
