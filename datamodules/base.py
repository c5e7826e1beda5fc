"""The shared paired datamodule: every dataset yields the same batch format.

A concrete dataset only builds its splits (synthetic default or a real folder) as :class:`Split` objects;
this base turns them into loaders that yield dicts

    source, target : float32 (B, C, H, W) in [0, 1]
    id             : list[str], stable per image (per-image results are keyed on it)
    mask           : bool (B, 1, H, W), optional (brain mask, signal region)
    source_lr      : float32 (B, C, H/s, W/s), optional (the down-sampled input for models that up-sample)
    <aux>          : extra per-image tensors of the image's size, optional (e.g. NIR tumour/normal masks)
    <tag>          : list[str], optional per-image tags (e.g. FMD noise level) copied into per-image rows

Training batches are random crops (``crop_size``) with random flips, in an order and with draws that depend
on the run's seed and the epoch only (``datamodules.sampling``: a resumed run sees what an uninterrupted one
would); unpaired datasets draw the target of a
training sample independently of its source. Evaluation batches are whole images, batched when all images
of the split share a shape, one at a time otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from benchmark.errors import DataError, UsageError
from benchmark.evaluation import unit_id
from benchmark.option_types import NonNegativeInt, PositiveInt
from datamodules.sampling import EpochSampler, ResumableLoader

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    """One split held in memory: lists of (C, H, W) tensors, possibly of different sizes."""

    source: list[torch.Tensor]
    target: list[torch.Tensor]
    ids: list[str]
    mask: list[torch.Tensor] | None = None
    source_lr: list[torch.Tensor] | None = None
    aux: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.source) != n or len(self.target) != n:
            raise DataError(f"split has {len(self.source)} sources, {len(self.target)} targets, {n} ids")
        if len(set(self.ids)) != n:
            raise DataError("image ids within a split must be unique")
        for image_id in self.ids:  # a file name that is not UTF-8 (surrogate-escaped) cannot be recorded
            try:
                image_id.encode("utf-8")
            except UnicodeEncodeError:
                shown = image_id.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                raise DataError(f"file name {shown!r} is not valid UTF-8: rename it (per-image results are "
                                "keyed on the name)") from None
        for name, values in (("mask", self.mask), ("source_lr", self.source_lr), *self.aux.items(),
                             *self.tags.items()):
            if values is not None and len(values) != n:
                raise DataError(f"split field {name!r} has {len(values)} entries, expected {n}")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def uniform(self) -> bool:
        """Whether every image has the same shape (then evaluation can batch)."""
        return len({tuple(t.shape) for t in self.target}) <= 1


class _SplitDataset(Dataset):
    """Serves samples of a split: random crops and flips for training, whole images otherwise."""

    def __init__(self, split: Split, crop_size: int | None, train: bool, unpaired: bool, scale: int) -> None:
        self.split, self.crop_size, self.train = split, crop_size, train
        self.unpaired, self.scale = unpaired, scale

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, Any]:
        # Training keys are (index, draw seed) from `EpochSampler`: the augmentation is a function of them.
        index, draw = item if isinstance(item, tuple) else (item, None)
        s = self.split
        sample: dict[str, Any] = {"source": s.source[index], "target": s.target[index], "id": s.ids[index]}
        if s.mask is not None:
            sample["mask"] = s.mask[index]
        if s.source_lr is not None:
            sample["source_lr"] = s.source_lr[index]
        for key, values in (*s.aux.items(), *s.tags.items()):
            sample[key] = values[index]
        if not self.train:
            return sample
        generator = torch.Generator().manual_seed(draw) if draw is not None else None
        if self.unpaired:
            other = int(torch.randint(len(s), (1,), generator=generator))
            sample["target"] = s.target[other]
        if self.crop_size:
            sample = self._crop(sample, generator)
        return self._flip(sample, generator)

    def _crop(self, sample: dict[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        size, scale = self.crop_size, self.scale
        _, h, w = sample["source"].shape
        th, tw = sample["target"].shape[-2:]
        h, w = min(h, th), min(w, tw)
        if size > min(h, w):
            raise UsageError(f"data.crop_size={size} is larger than an image of the split ({h}x{w})")
        # Offsets on the low-resolution grid so source_lr crops stay aligned with the high-resolution ones.
        top = int(torch.randint((h - size) // scale + 1, (1,), generator=generator)) * scale
        left = int(torch.randint((w - size) // scale + 1, (1,), generator=generator)) * scale
        out = {}
        for key, value in sample.items():
            if key == "source_lr":
                t, l, n = top // scale, left // scale, size // scale
                out[key] = value[..., t:t + n, l:l + n]
            elif isinstance(value, torch.Tensor):
                out[key] = value[..., top:top + size, left:left + size]
            else:
                out[key] = value
        return out

    @staticmethod
    def _flip(sample: dict[str, Any], generator: torch.Generator | None) -> dict[str, Any]:
        flips = torch.rand(2, generator=generator)
        dims = [d for d, flip in ((-1, flips[0] < 0.5), (-2, flips[1] < 0.5)) if flip]
        if not dims:
            return sample
        return {k: v.flip(dims) if isinstance(v, torch.Tensor) else v for k, v in sample.items()}


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep strings as lists."""
    batch: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        batch[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else list(values)
    return batch


class PairedDataModule(L.LightningDataModule):
    """Base of every dataset. Subclasses declare the class attributes and implement :meth:`build_splits`."""

    name: ClassVar[str] = ""
    task: ClassVar[str] = "translate"  # denoise | super_resolve | translate
    channels: ClassVar[int] = 1
    paired: ClassVar[bool] = True
    volumetric: ClassVar[bool] = False  # ids are "<volume>/<slice>": metrics also per volume
    scale: ClassVar[int] = 1  # source_lr down-sampling factor (super-resolution tasks)
    masked_metrics: ClassVar[bool] = True  # full-reference metrics only inside `mask` (False: mask is a signal region)
    extra_metrics: ClassVar[tuple[str, ...]] = ()
    # Real roots that may lack a split get synthetic stand-ins: such datamodules add those splits' names to
    # `synthetic_splits`, and `summary` says per split whether its images are real or synthetic.
    mixes_sources: ClassVar[bool] = False
    # Per-preset sections, as on models (`models.base.TranslationModel.presets`): smoke sizes live here.
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {}
    # What statistics treat as one independent test case (`benchmark.evaluation.UNIT_RULES`): per-image values
    # are averaged per unit before they are tested, bootstrapped or ranked.
    unit_of_analysis: ClassVar[str] = "image"

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = None,
                 num_workers: NonNegativeInt = 0, seed: int = 0) -> None:
        super().__init__()
        self.root, self.batch_size, self.crop_size = root, int(batch_size), crop_size
        self.eval_batch_size = int(eval_batch_size or batch_size)
        self.num_workers, self.seed = int(num_workers), int(seed)
        if crop_size is not None and int(crop_size) % self.scale:
            raise UsageError(f"data.crop_size={crop_size} must be a multiple of the scale factor {self.scale}")
        self.splits: dict[str, Split] = {}
        self.synthetic_splits: set[str] = set()

    @classmethod
    def unit_of(cls, image_id: str, row: dict[str, Any] | None = None) -> str:
        """The unit (volume, field of view, image) a test image belongs to; `row` (its per-image row) is
        there for datasets whose unit a tag names."""
        return unit_id(cls.unit_of_analysis, image_id)

    # -- to implement ---------------------------------------------------------------------------------
    def build_splits(self) -> dict[str, Split]:
        """Return the splits ``train``, ``val`` and ``test`` (synthetic when ``root`` is None)."""
        raise NotImplementedError

    # -- Lightning hooks ------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if not self.splits:
            splits = self.build_splits()
            missing = [name for name in SPLITS if name not in splits or len(splits[name]) == 0]
            if missing:
                where = f"under {self.root}" if self.root else "in the synthetic data"
                raise DataError(f"{self.name}: no images for split(s) {', '.join(missing)} {where}")
            self.splits = splits

    @property
    def image_size(self) -> int:
        """Spatial size the model sees in training: the crop, else the smallest side of a training image."""
        self.setup()
        if self.crop_size:
            return int(self.crop_size)
        return min(min(t.shape[-2:]) for t in self.splits["train"].target)

    def summary(self) -> dict[str, Any]:
        """Counts and shapes per split (for `data check` and the run record)."""
        self.setup()
        out: dict[str, Any] = {"dataset": self.name, "task": self.task, "paired": self.paired,
                               "source": self.root or "synthetic"}
        for name, split in self.splits.items():
            shapes = sorted({tuple(t.shape) for t in split.target})
            out[name] = {"images": len(split), "shapes": [list(s) for s in shapes[:5]],
                         "masks": split.mask is not None}
            if self.mixes_sources:
                out[name]["source"] = "synthetic" if name in self.synthetic_splits else "real"
        return out

    def _loader(self, stage: str, train: bool) -> DataLoader:
        self.setup()
        split = self.splits[stage]
        dataset = _SplitDataset(split, self.crop_size if train else None, train,
                                unpaired=train and not self.paired, scale=self.scale)
        batch_size = self.batch_size if train else (self.eval_batch_size if split.uniform else 1)
        if train and not self.crop_size and not split.uniform:
            batch_size = 1
        workers = self.num_workers
        # The run's seed (set by the runner before the loaders exist) fixes each epoch's order
        # (`datamodules.sampling`); the loader's own generator keeps its worker seeds off the global RNG.
        seed = torch.initial_seed()
        return ResumableLoader(dataset, batch_size=min(batch_size, len(split)),
                               sampler=EpochSampler(len(split), seed) if train else None, drop_last=False,
                               collate_fn=collate, num_workers=workers, persistent_workers=workers > 0,
                               pin_memory=torch.cuda.is_available(),
                               generator=torch.Generator().manual_seed(seed))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
