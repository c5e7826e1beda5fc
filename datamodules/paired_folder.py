"""Any paired data (``paired-folder``): folders of source/target pairs in PNG, TIFF or NIfTI.

Layout (``root``); partners share a name, the suffix may differ (``a.png`` pairs with ``a.tif``):

    <root>/{train,val,test}/source/<name>.<png|tif|tiff|nii.gz|nii>
    <root>/{train,val,test}/target/<name>.<png|tif|tiff|nii.gz|nii>
    <root>/{train,val,test}/mask/<name>.<...>     optional; with it every image of the split needs a mask

Training uses whole images unless ``crop_size`` is set (random crops and flips, as for every dataset: set it
for large images). A root with ``train/`` needs ``val/`` and ``test/`` too; a root with only ``test/`` is a test set: `python -m
benchmark evaluate` scores a checkpoint on it (training on it fails with one line saying so). Masks are
where full-reference metrics are computed (as MRI's brain mask): nonzero pixels of a PNG/TIFF mask, values
> 0.5 of a NIfTI mask (so probabilistic masks work), on the grid of its image.

Images: 8/16-bit integer or float PNG/TIFF, one or more channels. ``color="keep"`` keeps every stored
channel (an RGB PNG gives 3 channels, its alpha is dropped; a multi-page TIFF ``(C, H, W)`` gives C, up to
16); ``"grey"`` converts RGB with the BT.601 luma weights, as the other datasets' readers do. Source and
target of a pair need the same size and channel count, and every image of the dataset the same channel
count (the model's ``in_channels`` and ``out_channels``).

Volumes: 3-D NIfTI, reoriented to RAS+ (`readers.nifti`) and cut into 2-D slices along ``slice_axis``
(axial, coronal or sagittal); ids are ``<name>/z<slice>``, so metrics are also averaged per volume
(``volumetric``). Pairs must lie on one voxel grid (registered); the shapes are checked. With masks, slices
whose mask covers less than ``min_mask_fraction`` of the slice are dropped (metrics inside an almost empty
mask mean nothing). A dataset holds either images or volumes, not both.

Normalisation to [0, 1] (``normalize``), each channel on its own (channels of multi-channel microscopy are
different stains with unrelated intensity scales), for sources and targets separately:
- ``"percentile"`` (default): (x - lo) / (hi - lo), clipped, with lo the ``percentiles[0]`` percentile of all
  values and hi the ``percentiles[1]`` percentile of the values inside the mask (all values without masks):
  hot pixels and bright background do not set the scale. ``percentiles=[0, 99.5]`` with a brain mask is the
  MRI dataset's rule.
- ``"minmax"``: lo and hi are the minimum and maximum.
- ``"dtype"``: integers divided by their type's maximum (255, 65535), float images must lie in [0, 1]: the
  stored intensities keep their meaning (FMD's and NIR's rule). Not for NIfTI, whose values have no fixed
  range.
``normalize_scope="image"`` (default) computes lo and hi per image (per volume); ``"dataset"`` once over the
training split (the test split of a test-only root), then applies them to every split, so the brightness
differences between images are kept and the test set never sets the scale. What was applied is in
:attr:`PairedFolderDataModule.normalization` (and in ``summary()``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from benchmark.errors import DataError, UsageError
from benchmark.option_types import HoldOutFraction, NonNegativeInt, PositiveInt
from datamodules import register_dataset
from datamodules.base import SPLITS, PairedDataModule, Split
from datamodules.readers import (
    by_stem,
    dtype_scaled,
    image_name,
    intensity_bounds,
    list_images,
    match,
    nifti,
    read_array,
    read_channels,
    read_mask,
    rescale,
    suffix_of,
)

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
SUFFIXES = IMAGE_SUFFIXES + nifti.SUFFIXES
KIND = "PNG/TIFF images or NIfTI volumes (.png, .tif, .tiff, .nii.gz, .nii)"
ROLES = ("source", "target")


@dataclass
class _Pair:
    """The files of one pair (mask optional)."""

    name: str
    source: Path
    target: Path
    mask: Path | None = None

    @property
    def volume(self) -> bool:
        return suffix_of(self.source, SUFFIXES) in nifti.SUFFIXES


@dataclass
class _Item:
    """One pair in stored units: arrays (C, H, W) for images, (1, N, H, W) for volumes; mask (H, W) or
    (N, H, W)."""

    pair: _Pair
    source: np.ndarray
    target: np.ndarray
    mask: np.ndarray | None
    dtypes: tuple[str, str]


@register_dataset("paired-folder")
class PairedFolderDataModule(PairedDataModule):
    """Generic paired dataset: a folder of source/target pairs (PNG, TIFF, NIfTI) with optional masks."""

    name = "paired-folder"
    task = "translate"
    channels = 1  # the instance's value is the channel count of the data, known after setup
    paired = True
    masked_metrics = True
    needs_root: ClassVar[bool] = True  # no synthetic default: not part of `--data all`

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = None,
                 num_workers: NonNegativeInt = 0, seed: int = 0, *,
                 normalize: Literal["percentile", "minmax", "dtype"] = "percentile",
                 normalize_scope: Literal["image", "dataset"] = "image",
                 percentiles: tuple[float, float] = (0.1, 99.9),
                 color: Literal["keep", "grey"] = "keep",
                 slice_axis: Literal["axial", "coronal", "sagittal"] = "axial",
                 min_mask_fraction: HoldOutFraction = 0.01) -> None:
        super().__init__(root=root, batch_size=batch_size, eval_batch_size=eval_batch_size,
                         crop_size=crop_size, num_workers=num_workers, seed=seed)
        if root is None:
            raise UsageError("paired-folder has no synthetic default: give the data folder (--data-root PATH "
                             "or DATA_ROOT=PATH)")
        low, high = (float(p) for p in percentiles)
        if not 0.0 <= low < high <= 100.0:
            raise UsageError(f"data.percentiles={list(percentiles)!r}: expected [low, high] with "
                             "0 <= low < high <= 100")
        self.normalize, self.normalize_scope, self.percentiles = normalize, normalize_scope, (low, high)
        self.color, self.slice_axis, self.min_mask_fraction = color, slice_axis, float(min_mask_fraction)
        self.normalization: dict[str, Any] = {}
        """What was applied (method, scope, percentiles, region, bounds for per-dataset scope, stored
        pixel types), filled when the data are read: a JSON-ready dict for the run record."""

    # -- Lightning hooks ------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            self.splits = self.build_splits()  # complete (train, val, test) or a test-only root

    @property
    def test_only(self) -> bool:
        self.setup()
        return "train" not in self.splits

    @property
    def image_size(self) -> int:
        self._require_training()
        return super().image_size

    def train_dataloader(self):
        self._require_training()
        return super().train_dataloader()

    def val_dataloader(self):
        self._require_training()
        return super().val_dataloader()

    def _require_training(self) -> None:
        if self.test_only:
            raise DataError(f"{self.root}: only a test/ split, a test set for `python -m benchmark "
                            "evaluate`; training needs train/ and val/ beside it")

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out.update(channels=self.channels, volumetric=self.volumetric, normalization=self.normalization)
        if self.test_only:
            out["use"] = "test set for evaluate (no train/ and val/)"
        return out

    # -- splits ---------------------------------------------------------------------------------------
    def build_splits(self) -> dict[str, Split]:
        root = Path(self.root)
        if not root.is_dir():
            raise DataError(f"paired-folder: data root {root} not found (expected "
                            "<root>/{train,val,test}/{source,target}/<name>.png|tif|tiff|nii.gz)")
        present = [s for s in SPLITS if (root / s).is_dir()]
        if not present:
            raise DataError(f"{root}: no split folder (expected <root>/{{train,val,test}}/"
                            "{source,target}/, or only <root>/test/ for a test set)")
        if present != ["test"]:
            for split in SPLITS:
                if split not in present:
                    raise DataError(f"{root / split}: split folder not found (a root with train/ or val/ "
                                    "needs all of train/, val/ and test/; a root with only test/ is a test "
                                    "set)")
        pairs = {split: self._pairs(root / split) for split in present}
        self._check_kinds([p for split in present for p in pairs[split]])
        items = {split: [self._read(p) for p in pairs[split]] for split in present}
        self._check_channels([i for split in present for i in items[split]])
        self._normalise(items, "train" if "train" in items else "test")
        return {split: self._to_split(items[split]) for split in present}

    def _pairs(self, folder: Path) -> list[_Pair]:
        """The pairs of one split folder; every problem is one line naming the file."""
        for role in (*ROLES, "mask"):
            _reject_other_files(folder / role)
        sources = list_images(folder / "source", SUFFIXES, KIND)
        targets = list_images(folder / "target", SUFFIXES, KIND)
        matched, only_source, only_target = match(sources, targets, SUFFIXES)
        for lonely, other in ((only_source, "target"), (only_target, "source")):
            if lonely:
                raise DataError(f"{lonely[0]}: no partner of that name in {folder / other}")
        masks = None
        if (folder / "mask").is_dir():
            masks = by_stem(list_images(folder / "mask", SUFFIXES, KIND), SUFFIXES)
        pairs = []
        for source, target in matched:
            name = image_name(source, SUFFIXES)
            mask = None
            if masks is not None:
                mask = masks.get(name)
                if mask is None:
                    raise DataError(f"{source}: no mask of that name in {folder / 'mask'} (a split with "
                                    "mask/ needs one mask per image)")
            pairs.append(_Pair(name, source, target, mask))
        return pairs

    def _check_kinds(self, pairs: list[_Pair]) -> None:
        """Every pair two images or two volumes (masks alike), and the dataset one kind."""
        for pair in pairs:
            for other in (pair.target, pair.mask):
                if other is not None and (suffix_of(other, SUFFIXES) in nifti.SUFFIXES) != pair.volume:
                    volume, image = "a NIfTI volume", "a 2-D image"
                    mine, its = (volume, image) if pair.volume else (image, volume)
                    raise DataError(f"{other}: {its} paired with {mine} {pair.source} (a pair is two images "
                                    "or two volumes)")
        volumes = [p for p in pairs if p.volume]
        images = [p for p in pairs if not p.volume]
        if volumes and images:
            raise DataError(f"{images[0].source}: a 2-D image in a dataset of NIfTI volumes (such as "
                            f"{volumes[0].source}); use one kind per dataset")
        if volumes and self.normalize == "dtype":
            raise UsageError(f"data.normalize=dtype: NIfTI volumes ({volumes[0].source}) have no fixed "
                             "range; use percentile or minmax")
        self.volumetric = bool(volumes)

    def _read(self, pair: _Pair) -> _Item:
        return self._read_volume(pair) if pair.volume else self._read_image(pair)

    def _read_image(self, pair: _Pair) -> _Item:
        arrays, dtypes = [], []
        for path in (pair.source, pair.target):
            if self.color == "keep":
                values, dtype = read_channels(path)
            else:
                grey, dtype = read_array(path)
                values = grey[None]
            arrays.append(values)
            dtypes.append(str(dtype))
        source, target = arrays
        if source.shape[1:] != target.shape[1:]:
            raise DataError(f"{pair.target}: size {_size(target.shape[1:])} differs from its source "
                            f"{pair.source} ({_size(source.shape[1:])})")
        if source.shape[0] != target.shape[0]:
            raise DataError(f"{pair.target}: {target.shape[0]} channel(s), its source {pair.source} has "
                            f"{source.shape[0]}")
        mask = None
        if pair.mask is not None:
            mask = read_mask(pair.mask).numpy()[0]
            if mask.shape != source.shape[1:]:
                raise DataError(f"{pair.mask}: mask size {_size(mask.shape)} differs from its image "
                                f"{pair.source} ({_size(source.shape[1:])})")
        return _Item(pair, source, target, mask, (dtypes[0], dtypes[1]))

    def _read_volume(self, pair: _Pair) -> _Item:
        source = nifti.to_slices(nifti.read_volume(pair.source)[0], self.slice_axis)
        target = nifti.to_slices(nifti.read_volume(pair.target)[0], self.slice_axis)
        if source.shape != target.shape:
            raise DataError(f"{pair.target}: volume of {_size(target.shape)} (slices x rows x columns) "
                            f"differs from its source {pair.source} ({_size(source.shape)}); a pair shares "
                            "one voxel grid")
        mask = None
        if pair.mask is not None:
            mask = nifti.to_slices(nifti.read_volume(pair.mask)[0], self.slice_axis) > 0.5
            if mask.shape != source.shape:
                raise DataError(f"{pair.mask}: mask shape differs from its volume {pair.source}; the mask "
                                "must lie on the volume's voxel grid")
        return _Item(pair, source[None], target[None], mask, ("nifti", "nifti"))

    def _check_channels(self, items: list[_Item]) -> None:
        first = items[0]
        for item in items:
            if item.source.shape[0] != first.source.shape[0]:
                raise DataError(f"{item.pair.source}: {item.source.shape[0]} channel(s), but "
                                f"{first.pair.source} has {first.source.shape[0]}; every image of a dataset "
                                "needs the same channel count")
        self.channels = int(first.source.shape[0])

    # -- normalisation --------------------------------------------------------------------------------
    def _normalise(self, items: dict[str, list[_Item]], statistics_split: str) -> None:
        every = [item for split_items in items.values() for item in split_items]
        masked = all(item.mask is not None for item in every)
        record: dict[str, Any] = {"method": self.normalize,
                                  "stored_dtypes": sorted({d for item in every for d in item.dtypes})}
        if self.normalize == "dtype":
            record["scope"] = "fixed: the stored type's range"
            for item in every:
                item.source = dtype_scaled(item.source, np.dtype(item.dtypes[0]), item.pair.source)
                item.target = dtype_scaled(item.target, np.dtype(item.dtypes[1]), item.pair.target)
            self.normalization = record
            return
        if self.normalize == "percentile":
            record["percentiles"] = list(self.percentiles)
            record["high_from"] = "inside the mask" if masked else "all pixels"
        record["scope"] = self.normalize_scope
        bounds: dict[str, list[list[float]]] = {}
        if self.normalize_scope == "dataset":
            record["statistics_from"] = f"{statistics_split} split"
            bounds = {role: [list(self._dataset_bounds(items[statistics_split], role, c))
                             for c in range(self.channels)] for role in ROLES}
            record["bounds"] = bounds
        for item in every:
            for role in ROLES:
                values = getattr(item, role)
                out = np.empty(values.shape, dtype=np.float32)
                for c in range(values.shape[0]):
                    lo, hi = bounds[role][c] if bounds else intensity_bounds(
                        values[c], self.normalize, self.percentiles, item.mask)
                    out[c] = rescale(values[c], lo, hi)
                setattr(item, role, out)
        self.normalization = record

    def _dataset_bounds(self, items: list[_Item], role: str, channel: int) -> tuple[float, float]:
        values = np.concatenate([getattr(i, role)[channel].ravel() for i in items])
        region = None
        if all(i.mask is not None for i in items):
            region = np.concatenate([i.mask.ravel() for i in items])
        return intensity_bounds(values, self.normalize, self.percentiles, region)

    # -- to tensors -----------------------------------------------------------------------------------
    def _to_split(self, items: list[_Item]) -> Split:
        sources, targets, ids, masks = [], [], [], []
        for item in items:
            if not self.volumetric:
                sources.append(torch.from_numpy(item.source))
                targets.append(torch.from_numpy(item.target))
                ids.append(item.pair.name)
                if item.mask is not None:
                    masks.append(torch.from_numpy(item.mask[None].copy()))
                continue
            kept = self._kept_slices(item)
            for k in kept:
                sources.append(torch.from_numpy(item.source[:, k].copy()))
                targets.append(torch.from_numpy(item.target[:, k].copy()))
                ids.append(f"{item.pair.name}/z{k:03d}")
                if item.mask is not None:
                    masks.append(torch.from_numpy(item.mask[k][None].copy()))
        return Split(source=sources, target=targets, ids=ids, mask=masks or None)

    def _kept_slices(self, item: _Item) -> list[int]:
        if item.mask is None:
            return list(range(item.source.shape[1]))
        fractions = item.mask.reshape(item.mask.shape[0], -1).mean(axis=1)
        kept = [int(k) for k in np.flatnonzero((fractions >= self.min_mask_fraction) & (fractions > 0))]
        if not kept:
            raise DataError(f"{item.pair.mask}: no slice where the mask covers {self.min_mask_fraction:.0%} "
                            "of the slice (data.min_mask_fraction)")
        return kept


def _reject_other_files(folder: Path) -> None:
    """A file that is not an image in a source/target/mask folder would silently drop a pair: say so."""
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and suffix_of(path, SUFFIXES) is None:
            raise DataError(f"{path}: unsupported file type (expected {KIND}; move other files out of "
                            f"{folder})")


def _size(shape: tuple[int, ...]) -> str:
    return "x".join(str(s) for s in shape)
