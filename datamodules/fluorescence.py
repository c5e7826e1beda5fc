"""Fluorescence x4 super-resolution, the protocol of FI-GAN (Zhang et al., Biomed. Opt. Express 10(3), 2019).

A high-resolution image X (cropped top-left to a multiple of 4) gives the input Y = U(D(X)), D the x4
antialiased bicubic down-sampling and U the bicubic up-sampling back to X's size (`forward.bicubic`);
batches hold ``source`` = Y, ``target`` = X and ``source_lr`` = D(X). Training uses random crops
(``crop_size``: 64 for FI-GAN's first stage, 32 for its fine-tuning; a multiple of 4).
``noise_photons`` (None = off) adds Poisson noise at that many photons for intensity 1 to X before the
down-sampling (the target stays clean; not in the pairs mode, whose LR images are real): the paper's
noise-robustness test.

Real data (``root``); ``mode="auto"`` picks:
- ``pairs`` when ``<root>/lr/`` and ``<root>/hr/`` exist: real low/high pairs with matching names (e.g. a
  diffraction-limited image and its SRRF reconstruction). A smaller LR image (HR = k x LR, one integer k)
  is up-sampled bicubically to the HR size for ``source``; ``source_lr`` is the LR image when k = 4, else
  D(source).
- ``hr`` otherwise: a folder of high-resolution images (``<root>/hr/`` if present, else ``<root>``),
  degraded as above.
Images are 8/16-bit (or float) PNG/TIFF, normalised per image (``normalize``: "percentile", the default,
is a robust min-max between the 0.1 and 99.9 percentiles, clipped, so hot pixels and saturated spots do
not set the scale; "minmax" is plain min-max; "dtype" divides by the type's maximum). Files are split
deterministically by name (ordered by a CRC-32 of the name, independent of listing order and seed):
``test_fraction`` to test and ``val_fraction`` to validation (at least one each), the rest to training.
With fewer than 3 files, or ``train_source="synthetic"``, every real file is a test image and training
and validation use the synthetic default (train on synthetic, score on real).

Synthetic default (``root=None``): procedural scenes (`synthetic.fluorescence_scenes`), degraded as above.

Options (besides the base's; defaults sized for a laptop run):
    mode ("auto" | "hr" | "pairs"), normalize ("percentile" | "minmax" | "dtype"), val_fraction (0.2),
    test_fraction (0.2), train_source ("auto" | "real" | "synthetic"), noise_photons (None)
    size (128, a multiple of 4), train_images (256), val_images (16), test_images (32),
    data_seed (0; null = the run seed): synthetic data (and the noise of ``noise_photons``)
"""
from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from benchmark.errors import DataError, UsageError
from benchmark.option_types import HoldOutFraction, ImageSide, NonNegativeInt, PositiveFloat, PositiveInt
from datamodules import register_dataset
from datamodules.base import PairedDataModule, Split
from datamodules.forward.bicubic import crop_to_multiple, degrade, downsample, upsample
from datamodules.readers import Normalization, list_images, match, read_tensor
from datamodules.synthetic import image_rng
from datamodules.synthetic.fluorescence_scenes import render

FluorescenceMode = Literal["auto", "hr", "pairs"]
TrainSource = Literal["auto", "real", "synthetic"]


def add_shot_noise(image: torch.Tensor, photons: float | None, rng: np.random.Generator) -> torch.Tensor:
    """Poisson noise at ``photons`` photons for intensity 1 (None: unchanged), clipped to [0, 1]."""
    if photons is None:
        return image
    counts = rng.poisson(image.numpy().astype(np.float64) * photons)
    return torch.from_numpy(np.clip(counts / photons, 0.0, 1.0).astype(np.float32))


@register_dataset("fluorescence")
class FluorescenceDataModule(PairedDataModule):
    """x4 super-resolution of fluorescence images: U(D(X)) -> X."""

    name = "fluorescence"
    task = "super_resolve"
    channels = 1
    paired = True
    scale = 4
    masked_metrics = True
    extra_metrics: tuple[str, ...] = ()
    mixes_sources = True

    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"data": {"size": 32, "crop_size": 32, "train_images": 4, "val_images": 2, "test_images": 2}},
    }

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = 64,
                 num_workers: NonNegativeInt = 0, seed: int = 0, *,
                 mode: FluorescenceMode = "auto", normalize: Normalization = "percentile",
                 val_fraction: HoldOutFraction = 0.2, test_fraction: HoldOutFraction = 0.2,
                 train_source: TrainSource = "auto", noise_photons: PositiveFloat | None = None,
                 size: ImageSide = 128, train_images: PositiveInt = 256, val_images: PositiveInt = 16,
                 test_images: PositiveInt = 32, data_seed: NonNegativeInt | None = 0) -> None:
        super().__init__(root=root, batch_size=batch_size, eval_batch_size=eval_batch_size,
                         crop_size=crop_size, num_workers=num_workers, seed=seed)
        self.data_seed = int(seed if data_seed is None else data_seed)
        self.mode, self.normalize, self.train_source = mode, normalize, train_source
        self.val_fraction, self.test_fraction = float(val_fraction), float(test_fraction)
        self.noise_photons = None if noise_photons is None else float(noise_photons)
        self.size = size
        if self.size % self.scale:
            raise UsageError(f"data.size={size} must be a multiple of the scale factor {self.scale}")
        if crop_size is not None and int(crop_size) > self.size and root is None:
            raise UsageError(f"data.crop_size={crop_size} exceeds the synthetic image size data.size={size}")
        self.counts = {"train": train_images, "val": val_images, "test": test_images}

    # -- splits ----------------------------------------------------------------------------------------------
    def build_splits(self) -> dict[str, Split]:
        if self.root is None:
            return {name: self._synthetic(name) for name in ("train", "val", "test")}
        root = Path(self.root)
        if not root.is_dir():
            raise DataError(f"{root}: fluorescence root folder not found")
        has_pairs = (root / "lr").is_dir() and (root / "hr").is_dir()
        pairs = self.mode == "pairs" or (self.mode == "auto" and has_pairs)
        items = self._pair_files(root) if pairs else [(None, p) for p in self._hr_files(root)]
        assigned = self._assign(items, root)
        splits = {name: self._real_split(name, items) for name, items in assigned.items() if items}
        for name in ("train", "val"):
            if name not in splits:
                splits[name] = self._synthetic(name)
        return splits

    def _assign(self, items: list[tuple[Path | None, Path]], root: Path) -> dict[str, list]:
        """Deterministic split by file name (CRC-32 order), or all-test when training is synthetic."""
        if self.train_source == "synthetic" or (self.train_source == "auto" and len(items) < 3):
            return {"test": items}
        if len(items) < 3:
            raise DataError(f"{root}: {len(items)} image(s) found; real training needs at least 3 (one "
                            "each for train, val and test), or set data.train_source=synthetic")
        ordered = sorted(items, key=lambda item: (zlib.crc32(item[1].name.encode()), item[1].name))
        n = len(ordered)
        n_test = max(1, round(self.test_fraction * n))
        n_val = max(1, round(self.val_fraction * n))
        if n_test + n_val >= n:
            n_test, n_val = 1, 1
        return {"test": ordered[:n_test], "val": ordered[n_test:n_test + n_val],
                "train": ordered[n_test + n_val:]}

    # -- synthetic -------------------------------------------------------------------------------------------
    def _synthetic(self, split: str) -> Split:
        self.synthetic_splits.add(split)
        shape = (self.size, self.size)
        sources, targets, lows, ids = [], [], [], []
        for i in range(self.counts[split]):
            scene = render(image_rng(self.data_seed, split, i, "scene"), shape)
            target = torch.from_numpy(scene[None].astype(np.float32))
            noisy = add_shot_noise(target, self.noise_photons, image_rng(self.data_seed, split, i, "noise"))
            source, low = degrade(noisy, self.scale)
            sources.append(source)
            targets.append(target)
            lows.append(low)
            ids.append(f"syn{self.data_seed}/{split}{i:04d}")
        return Split(sources, targets, ids, source_lr=lows)

    # -- real ------------------------------------------------------------------------------------------------
    def _hr_files(self, root: Path) -> list[Path]:
        folder = root / "hr" if (root / "hr").is_dir() else root
        return list_images(folder)

    def _pair_files(self, root: Path) -> list[tuple[Path | None, Path]]:
        pairs, lonely_lr, lonely_hr = match(list_images(root / "lr"), list_images(root / "hr"))
        if lonely_lr:
            raise DataError(f"{lonely_lr[0]}: no high-resolution partner (expected {root / 'hr'}/"
                            f"{lonely_lr[0].stem}.png or .tif)")
        if lonely_hr:
            raise DataError(f"{lonely_hr[0]}: no low-resolution partner (expected {root / 'lr'}/"
                            f"{lonely_hr[0].stem}.png or .tif)")
        return [(lr, hr) for lr, hr in pairs]

    def _real_split(self, split: str, entries: list[tuple[Path | None, Path]]) -> Split:
        sources, targets, lows, ids = [], [], [], []
        for index, (lr_path, hr_path) in enumerate(entries):
            target = read_tensor(hr_path, self.normalize)
            if min(target.shape[-2:]) < 2 * self.scale:
                raise DataError(f"{hr_path}: image {tuple(target.shape[-2:])} is too small for x{self.scale} "
                                "super-resolution")
            if lr_path is None:
                target = crop_to_multiple(target, self.scale)
                rng = image_rng(self.data_seed, split, index, "noise")
                noisy = add_shot_noise(target, self.noise_photons, rng)
                source, low = degrade(noisy, self.scale)
            else:
                source, low, target = self._real_pair(lr_path, hr_path, target)
            sources.append(source)
            targets.append(target)
            lows.append(low)
            ids.append(hr_path.stem)
        return Split(sources, targets, ids, source_lr=lows)

    def _real_pair(self, lr_path: Path, hr_path: Path,
                   target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        low = read_tensor(lr_path, self.normalize)
        (lh, lw), (hh, hw) = low.shape[-2:], target.shape[-2:]
        factor = hh // lh if lh else 0
        if factor < 1 or hh != factor * lh or hw != factor * lw:
            raise DataError(f"{lr_path}: size {lh}x{lw} does not divide its high-resolution partner "
                            f"{hr_path} ({hh}x{hw}) by one integer factor")
        target = crop_to_multiple(target, math.lcm(self.scale, factor))  # LR and HR stay aligned
        h, w = target.shape[-2:]
        low = low[..., : h // factor, : w // factor]
        source = low if factor == 1 else upsample(low, (h, w))
        lr = low if factor == self.scale else downsample(source, self.scale)
        return source, lr, target
