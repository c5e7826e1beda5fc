"""`speckle`: smooth random scenes under multiplicative speckle (gamma-distributed, `looks` averaged)."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.option_types import ImageSide, PositiveFloat, PositiveInt
from datamodules.base import SPLITS, PairedDataModule, Split


class SpeckleDataModule(PairedDataModule):
    name = "speckle"
    task = "denoise"

    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"data": {"size": 32, "crop_size": 32, "images": 4}},
    }

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = 32,
                 num_workers: int = 0, seed: int = 0, *, size: ImageSide = 64, images: PositiveInt = 16,
                 looks: PositiveFloat = 4.0) -> None:
        super().__init__(root=root, batch_size=batch_size, eval_batch_size=eval_batch_size,
                         crop_size=crop_size, num_workers=num_workers, seed=seed)
        self.size, self.images, self.looks = size, images, looks

    def build_splits(self) -> dict[str, Split]:
        splits = {}
        for index, split in enumerate(SPLITS):
            rng = np.random.default_rng([self.seed, index])
            coarse = torch.from_numpy(rng.random((self.images, 1, self.size // 8, self.size // 8), np.float32))
            clean = F.interpolate(coarse, size=(self.size, self.size), mode="bicubic", align_corners=False)
            clean = clean.clamp(0.05, 1.0)
            speckle = rng.gamma(self.looks, 1.0 / self.looks, clean.shape).astype(np.float32)
            noisy = (clean * torch.from_numpy(speckle)).clamp(0, 1)
            splits[split] = Split(source=list(noisy), target=list(clean),
                                  ids=[f"{split}{i:03d}" for i in range(self.images)])
        return splits
