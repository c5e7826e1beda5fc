"""FMD: Poisson-Gaussian denoising of fluorescence microscopy (Zhang et al., CVPR 2019).

Real layout (``root``), as released:

    <root>/<Type>/{raw,avg2,avg4,avg8,avg16}/<fov>/<capture>.png    noise levels 1, 2, 4, 8, 16
    <root>/<Type>/gt/<fov>/avg50.png                                 ground truth (average of 50 captures)
    <root>/test_mix/{raw,avg2,avg4,avg8,avg16,gt}/<name>.png         FMD's mixed test set (optional)

Split as the paper: FOV ``test_fov`` (19) is the test set, FOV ``val_fov`` (18, our choice) validation,
every other FOV training. The test split is ``test_mix`` when the root has one (``test_set="auto"``; FMD
builds it from FOV 19 images), else the test FOV of every type; FOV 19 never enters training either way.
A root that holds only test images (``test_mix`` alone, or only FOV 19) is an evaluation root: with
``train_source="auto"`` training and validation then use the synthetic default, so a model trained on
synthetic data is scored on the real images. Every image carries the tags ``noise_level`` ("1".."16") and
``type`` (the FMD type, "unknown" for a test_mix name without one) for per-level and per-type results.

Synthetic default (``root=None``): procedural specimens of the 12 FMD types (`synthetic.fmd_specimens`)
through the Poisson-Gaussian model with FMD's frame averaging (`forward.poisson_gaussian`), stored as 8-bit
images. Training fields are each rendered at one noise level (cycling through ``train_levels``: a
mixed-level training set, as FMD's); validation and test fields at every level of ``test_levels``, so
per-level results compare the same specimens. The target is the clean image by default (``gt="clean"``: an
exact reference without a noise floor); ``gt="avg50"`` gives the 50-capture average instead, which carries
a little residual noise correlated with the input, exactly like the real data.

Options (besides the base's; defaults sized for a laptop run):
    types: FMD types to use (list or comma-separated; None = all)
    train_levels, test_levels: noise levels among 1, 2, 4, 8, 16 (or raw, avg2...; None = all five, or all
        found in a real root)
    captures_per_fov (1): real data only: captures per FOV and level, evenly spaced (FMD has 50; memory)
    val_fov (18), test_fov (19): real data only
    test_set ("auto" | "fov" | "test_mix"), train_source ("auto" | "real" | "synthetic")
    gt ("clean" | "avg50"), size (128), train_fields (320), val_fields (8), test_fields (16): synthetic data
    data_seed (0; null = the run seed): seed of the synthetic images, fixed so all training seeds share one data set
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from benchmark.errors import DataError, UsageError
from benchmark.option_types import ImageSide, NonNegativeInt, PositiveInt
from datamodules import register_dataset
from datamodules.base import PairedDataModule, Split
from datamodules.forward.poisson_gaussian import (
    GT_CAPTURES,
    LEVELS,
    averaged_captures,
    quantize,
    sample_params,
)
from datamodules.readers import list_images, read_tensor
from datamodules.synthetic import image_rng
from datamodules.synthetic.fmd_specimens import FMD_TYPES, render

LEVEL_DIRS = {1: "raw", 2: "avg2", 4: "avg4", 8: "avg8", 16: "avg16"}
TestSet = Literal["auto", "fov", "test_mix"]
TrainSource = Literal["auto", "real", "synthetic"]
GroundTruth = Literal["clean", "avg50"]
# Noise levels: frames averaged (1, 2, 4, 8, 16) or their folder names (raw, avg2, ...), one or a list.
Levels = int | str | list[int | str]


def _names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(v).strip() for v in items if str(v).strip())


def parse_levels(value: Levels | None, option: str) -> tuple[int, ...] | None:
    """Noise levels as ints from 1, 2, 4, 8, 16 (or their folder names raw, avg2...); None = all available."""
    if value is None:
        return None
    items = str(value).split(",") if isinstance(value, (str, int)) else list(value)
    by_name = {v: k for k, v in LEVEL_DIRS.items()}
    levels = []
    for item in items:
        text = str(item).strip()
        level = by_name.get(text, int(text) if text.isdigit() else None)
        if level not in LEVEL_DIRS:
            raise UsageError(f"data.{option}={value!r}: levels must be among 1, 2, 4, 8, 16 "
                             "(or raw, avg2, avg4, avg8, avg16)")
        levels.append(level)
    if not levels:
        raise UsageError(f"data.{option} is empty: give at least one of 1, 2, 4, 8, 16")
    return tuple(sorted(set(levels)))


def _fmd_type(name: str) -> str:
    """The FMD type a test_mix file name starts with (longest match), else 'unknown'."""
    matches = [t for t in FMD_TYPES if name.startswith(t)]
    return max(matches, key=len) if matches else "unknown"


class _Builder:
    """Accumulates the fields of one Split."""

    def __init__(self) -> None:
        self.source: list[torch.Tensor] = []
        self.target: list[torch.Tensor] = []
        self.ids: list[str] = []
        self.levels: list[str] = []
        self.types: list[str] = []

    def add(self, source: torch.Tensor, target: torch.Tensor, image_id: str, level: int,
            fmd_type: str) -> None:
        self.source.append(source)
        self.target.append(target)
        self.ids.append(image_id)
        self.levels.append(str(level))
        self.types.append(fmd_type)

    def split(self) -> Split:
        tags = {"noise_level": self.levels, "type": self.types}
        return Split(self.source, self.target, self.ids, tags=tags)


def _check_pair(noisy: torch.Tensor, gt: torch.Tensor, noisy_path: Path, gt_path: Path) -> None:
    if noisy.shape != gt.shape:
        raise DataError(f"{noisy_path}: size {tuple(noisy.shape[-2:])} differs from its ground truth "
                        f"{gt_path} {tuple(gt.shape[-2:])}")


@register_dataset("fmd")
class FMDDataModule(PairedDataModule):
    """FMD denoising: a capture (or an average of n) -> the 50-capture average (real) or clean image."""

    name = "fmd"
    task = "denoise"
    channels = 1
    paired = True
    scale = 1
    masked_metrics = True
    mixes_sources = True
    extra_metrics: tuple[str, ...] = ()

    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"data": {"size": 32, "crop_size": 32, "train_fields": 4, "val_fields": 1, "test_fields": 1}},
    }

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = 64,
                 num_workers: NonNegativeInt = 0, seed: int = 0, *,
                 types: str | list[str] | None = None, train_levels: Levels | None = None,
                 test_levels: Levels | None = None, captures_per_fov: PositiveInt = 1, val_fov: PositiveInt = 18,
                 test_fov: PositiveInt = 19, test_set: TestSet = "auto", train_source: TrainSource = "auto",
                 gt: GroundTruth = "clean", size: ImageSide = 128, train_fields: PositiveInt = 320,
                 val_fields: PositiveInt = 8, test_fields: PositiveInt = 16,
                 data_seed: NonNegativeInt | None = 0) -> None:
        super().__init__(root=root, batch_size=batch_size, eval_batch_size=eval_batch_size,
                         crop_size=crop_size, num_workers=num_workers, seed=seed)
        self.data_seed = int(seed if data_seed is None else data_seed)
        self.types = _names(types)
        unknown = [t for t in self.types or () if t not in FMD_TYPES and root is None]
        if unknown or self.types == ():
            raise UsageError(f"data.types={types!r}: synthetic types are {', '.join(FMD_TYPES)}")
        self.train_levels = parse_levels(train_levels, "train_levels")
        self.test_levels = parse_levels(test_levels, "test_levels")
        self.captures_per_fov, self.val_fov, self.test_fov = captures_per_fov, val_fov, test_fov
        if self.val_fov == self.test_fov:
            raise UsageError(f"data.val_fov={val_fov} must differ from data.test_fov={test_fov}")
        self.test_set, self.train_source, self.gt, self.size = test_set, train_source, gt, size
        if crop_size is not None and int(crop_size) > self.size and root is None:
            raise UsageError(f"data.crop_size={crop_size} exceeds the synthetic image size data.size={size}")
        self.train_fields, self.val_fields, self.test_fields = train_fields, val_fields, test_fields

    # -- splits ---------------------------------------------------------------------------------------
    def build_splits(self) -> dict[str, Split]:
        if self.root is None:
            return {name: self._synthetic(name) for name in ("train", "val", "test")}
        root = Path(self.root)
        if not root.is_dir():
            raise DataError(f"{root}: FMD root folder not found")
        splits = {"test": self._real_test(root)}
        train_val = None if self.train_source == "synthetic" else self._real_train_val(root)
        if train_val is None:
            if self.train_source == "real":
                raise DataError(f"{root}: no training FOVs (expected <Type>/<level>/<fov>/ for FOVs other "
                                f"than {self.val_fov} and {self.test_fov})")
            train_val = {name: self._synthetic(name) for name in ("train", "val")}
        splits.update(train_val)
        return splits

    # -- synthetic --------------------------------------------------------------------------------------
    def _synthetic(self, split: str) -> Split:
        self.synthetic_splits.add(split)
        # Real roots may name custom types; synthetic data renders the known ones among them (else all).
        types = [t for t in self.types or () if t in FMD_TYPES] or list(FMD_TYPES)
        if split == "train":
            n_fields, levels = self.train_fields, self.train_levels or LEVELS
        else:
            n_fields = self.val_fields if split == "val" else self.test_fields
            levels = self.test_levels or LEVELS
        shape = (self.size, self.size)
        out = _Builder()
        for i in range(n_fields):
            fmd_type = types[i % len(types)]
            clean = render(image_rng(self.data_seed, split, i, "specimen"), fmd_type, shape)
            field_levels = [levels[(i // len(types)) % len(levels)]] if split == "train" else list(levels)
            counts = tuple(field_levels) + ((GT_CAPTURES,) if self.gt == "avg50" else ())
            noise_rng = image_rng(self.data_seed, split, i, "noise")
            params = sample_params(noise_rng, FMD_TYPES[fmd_type][0])
            averages = averaged_captures(noise_rng, clean, params, counts)
            target = quantize(averages[GT_CAPTURES]) if self.gt == "avg50" else clean
            target_t = torch.from_numpy(target[None].astype(np.float32))
            for level in field_levels:
                source = torch.from_numpy(quantize(averages[level])[None].astype(np.float32))
                image_id = f"syn{self.data_seed}/{fmd_type}/{split}{i:04d}/{LEVEL_DIRS[level]}"
                out.add(source, target_t, image_id, level, fmd_type)
        return out.split()

    # -- real -----------------------------------------------------------------------------------------
    def _type_dirs(self, root: Path) -> list[Path]:
        dirs = sorted(p for p in root.iterdir()
                      if p.is_dir() and p.name != "test_mix" and (p / "gt").is_dir())
        if self.types is not None:
            missing = [t for t in self.types if not (root / t / "gt").is_dir()]
            if missing and not (root / "test_mix").is_dir():
                raise DataError(f"{root / missing[0]}: FMD type folder not found "
                                f"(expected {root / missing[0] / 'gt'})")
            dirs = [p for p in dirs if p.name in self.types]
        return dirs

    def _levels_of(self, folder: Path, requested: tuple[int, ...] | None) -> list[int]:
        """Requested levels (their folders must exist), or all levels with a folder."""
        if requested is None:
            found = [level for level, name in LEVEL_DIRS.items() if (folder / name).is_dir()]
            if not found:
                raise DataError(f"{folder}: no noise-level folders (expected raw, avg2, avg4, avg8 or avg16)")
            return found
        for level in requested:
            if not (folder / LEVEL_DIRS[level]).is_dir():
                raise DataError(f"{folder / LEVEL_DIRS[level]}: noise-level folder not found")
        return list(requested)

    def _subsample(self, files: list[Path]) -> list[Path]:
        """captures_per_fov captures, evenly spaced over the sorted list (deterministic, seed-independent)."""
        if len(files) <= self.captures_per_fov:
            return files
        picks = np.unique(np.linspace(0, len(files) - 1, self.captures_per_fov).round().astype(int))
        return [files[i] for i in picks]

    def _add_fov(self, out: _Builder, type_dir: Path, fov: str, levels: list[int]) -> None:
        gt_path = type_dir / "gt" / fov / "avg50.png"
        if not gt_path.is_file():
            raise DataError(f"{gt_path}: ground truth not found (expected <Type>/gt/<fov>/avg50.png)")
        gt = read_tensor(gt_path)
        for level in levels:
            for path in self._subsample(list_images(type_dir / LEVEL_DIRS[level] / fov)):
                noisy = read_tensor(path)
                _check_pair(noisy, gt, path, gt_path)
                image_id = f"{type_dir.name}/{fov}/{LEVEL_DIRS[level]}/{path.stem}"
                out.add(noisy, gt, image_id, level, type_dir.name)

    def _fovs(self, type_dir: Path) -> list[str]:
        return sorted((p.name for p in (type_dir / "gt").iterdir() if p.is_dir()),
                      key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s))

    def _real_train_val(self, root: Path) -> dict[str, Split] | None:
        train, val = _Builder(), _Builder()
        for type_dir in self._type_dirs(root):
            for fov in self._fovs(type_dir):
                if fov == str(self.test_fov):
                    continue
                is_val = fov == str(self.val_fov)
                levels = self._levels_of(type_dir, self.test_levels if is_val else self.train_levels)
                self._add_fov(val if is_val else train, type_dir, fov, levels)
        if not train.ids:
            return None
        if not val.ids:
            raise DataError(f"{root}: no images of the validation FOV {self.val_fov} (expected "
                            f"<Type>/gt/{self.val_fov}/; choose another with data.val_fov)")
        return {"train": train.split(), "val": val.split()}

    def _real_test(self, root: Path) -> Split:
        mix = root / "test_mix"
        use_mix = self.test_set == "test_mix" or (self.test_set == "auto" and mix.is_dir())
        out = _Builder()
        if use_mix:
            self._add_test_mix(out, mix)
        else:
            for type_dir in self._type_dirs(root):
                if (type_dir / "gt" / str(self.test_fov)).is_dir():
                    levels = self._levels_of(type_dir, self.test_levels)
                    self._add_fov(out, type_dir, str(self.test_fov), levels)
        if not out.ids:
            where = mix if use_mix else root / f"<Type>/gt/{self.test_fov}"
            raise DataError(f"{where}: no FMD test images found")
        return out.split()

    def _add_test_mix(self, out: _Builder, mix: Path) -> None:
        if not mix.is_dir():
            raise DataError(f"{mix}: test_mix folder not found")
        gt_files = {p.stem: p for p in list_images(mix / "gt")}
        for level in self._levels_of(mix, self.test_levels):
            for path in list_images(mix / LEVEL_DIRS[level]):
                fmd_type = _fmd_type(path.stem)
                if self.types is not None and fmd_type not in self.types:
                    continue
                gt_path = gt_files.get(path.stem)
                if gt_path is None:
                    raise DataError(f"{path}: no ground truth partner "
                                    f"(expected {mix / 'gt' / path.name})")
                noisy, gt = read_tensor(path), read_tensor(gt_path)
                _check_pair(noisy, gt, path, gt_path)
                out.add(noisy, gt, f"test_mix/{LEVEL_DIRS[level]}/{path.stem}", level, fmd_type)
