"""MRI: portable low-field (64 mT) to high-field (3 T) brain MRI translation (LoHiResGAN, Islam et al. 2023).

Samples are axial slices; ids are ``<subject>/z<slice>`` so metrics are also averaged per volume, and the
batch ``mask`` is the brain mask (metrics are computed inside it). Sources:

- **Synthetic default** (``root=None``): one brain per subject, by default the MNI152 template deformed per
  subject (``anatomy="template"``, `synthetic.template_brain`: real anatomy), or the procedural phantom
  (``anatomy="phantom"``, `synthetic.brain_phantom`), imaged at 3 T and at 64 mT from the same tissue fractions (`forward.mri_signal`: field-dependent relaxation times,
  so the contrast differs) with the 64 mT acquisition of `forward.low_field` (thick slices, coarse k-space,
  Rician noise, bias). ``subjects`` = (train, val, test) counts; a subject's anatomy and noise depend only on
  (``data_seed``, split, index), so changing one split's size leaves the others' images unchanged.
  ``data_seed`` is fixed (0) so every training seed is scored on one test set; null follows the run seed.
  ``skull_strip`` (default true) images only the intracranial tissue (scalp fat and skull become air before
  either acquisition), as simulate mode images a skull-stripped 3 T volume: the real high-field sets read
  here (IXI after HD-BET in the shared sample) are skull-stripped, so a model trained on heads with scalp
  would meet a different input at test time.
- **Real data** (``root=PATH``, layouts in `readers.nifti`): ``mode="paired"`` reads 64 mT / 3 T pairs;
  ``mode="simulate"`` reads 3 T volumes only and simulates their 64 mT partners (contrast re-mapped from an
  intensity clustering, then the same acquisition model); ``mode="auto"`` (default) picks ``paired`` when a
  ``<subject>/64mT`` folder exists, else ``simulate``. Subjects are split at subject level (a subject's
  slices never appear in two splits): names sorted, shuffled by ``data_seed``, then about 70/10/20 % with at
  least one subject in val and test (so at least 3 subjects are needed). ``subjects`` applies to synthetic
  data only. ``train_source="synthetic"`` makes every real subject a test subject (train and validation
  then use the synthetic default): what `evaluate` does with a real folder, which may hold one subject.

In-plane grid: synthetic volumes are generated at ``size`` x ``size`` (230 mm field of view). Real slices are
resampled (antialiased bilinear) to isotropic pixels so that the larger side of the field of view spans
``size`` pixels, then zero-padded to ``size`` x ``size``; ``size=None`` keeps the native grid and pads to a
multiple of 16 (so U-Net down-sampling works). Slices whose brain mask covers less than 1 % of the slice are
skipped; ``slices_per_subject`` keeps that many central slices (synthetic default 24; real default: all).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.errors import DataError, UsageError
from benchmark.option_types import ClosedUnitInterval, NonNegativeFloat, NonNegativeInt, PositiveInt, bounded
from datamodules import register_dataset
from datamodules.base import SPLITS, PairedDataModule, Split
from datamodules.forward.low_field import (
    LowFieldAcquisition,
    highfield_acquisition,
    lowfield_acquisition,
    simulate_lowfield,
    slab_margin,
)
from datamodules.forward.mri_signal import TISSUES, tissue_signals, weighted_image
from datamodules.readers import nifti
from datamodules.synthetic import image_rng
from datamodules.synthetic.brain_phantom import Phantom, brain_phantom
from datamodules.synthetic.template_brain import template_subject

MRIMode = Literal["auto", "paired", "simulate"]
Contrast = Literal["T1", "T2"]
Anatomy = Literal["template", "phantom"]  # synthetic subjects: the deformed MNI152 template or the phantom
TrainSource = Literal["real", "synthetic"]  # where a real root's training and validation subjects come from
SNR = bounded("SNR", float, 0.5)  # the 64 mT image's signal-to-noise ratio in white matter
InplaneFactor = bounded("InplaneFactor", float, 1.0, 8.0)  # 64 mT in-plane voxel size over 3 T's
SliceFactor = bounded("SliceFactor", int, 1, 16)  # 64 mT slice thickness over 3 T's
SYNTHETIC_SLICES = 24
MIN_BRAIN_FRACTION = 0.01  # slices with less brain are skipped (near-empty masks make metrics meaningless)
SPLIT_FRACTIONS = {"val": 0.1, "test": 0.2}
GRID_MULTIPLE = 16


@dataclass
class Volume:
    """One subject's kept slices: source (64 mT), target (3 T), mask, and their slice indices."""

    subject: str
    source: np.ndarray
    target: np.ndarray
    mask: np.ndarray
    indices: list[int]


@register_dataset("mri")
class MRIDataModule(PairedDataModule):
    """64 mT -> 3 T brain MRI, T1w or T2w; synthetic by default, paired/simulated NIfTI folders otherwise.

    Options (``data.<name>``; the base ones are ``batch_size``, ``eval_batch_size``, ``crop_size``,
    ``num_workers``):
        contrast            "T1" | "T2"
        size                in-plane matrix, a multiple of 16 >= 32 (96 quick, 256 paper); null: native grid
        subjects            synthetic (train, val, test) subject counts
        slices_per_subject  central slices kept per subject (null: 24 synthetic, all non-empty for real data)
        mode                "auto" | "paired" | "simulate" (real data only)
        snr                 64 mT WM SNR of the image (10)
        snr_highfield       3 T WM SNR of a 1 mm isotropic voxel, scaled by voxel volume (40; 0: no noise)
        bias                64 mT receive-bias amplitude, field in [exp(-bias), exp(bias)] (0.2)
        inplane_factor      64 mT in-plane resolution / grid resolution (1.6)
        slice_factor        64 mT slice thickness in grid slices (2)
        data_seed           seed of the synthetic anatomy and noise, and of the real-data split (0; null: the run seed)
        train_source        "real" | "synthetic" (real data only: every real subject is then a test subject)
        anatomy             "template" | "phantom": the synthetic subjects' anatomy (template: real brains)
        skull_strip         synthetic subjects without scalp and skull, as skull-stripped real data (true)
        t1_variation        spread (log-normal sigma) of each synthetic subject's CSF, GM and WM T1 around the
                            `mri_signal` values, one factor per tissue at both fields, as subjects differ in
                            tissue composition (0: every subject has the same relaxation times; no checked
                            source gives a between-subject spread, so the default adds none)
    """

    name = "mri"
    task = "translate"
    channels = 1
    volumetric = True
    unit_of_analysis = "volume"
    masked_metrics = True
    mixes_sources = True
    # LoHiResGAN (Islam et al. 2023) reports PIQE of the 64 mT, 3 T and translated images.
    extra_metrics = ("piqe",)

    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"data": {"size": 32, "subjects": [2, 1, 1], "slices_per_subject": 3}},
        "paper": {"data": {"size": 256}},
    }

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = None,
                 num_workers: NonNegativeInt = 0, seed: int = 0, contrast: Contrast = "T1",
                 size: PositiveInt | None = 96,
                 subjects: tuple[PositiveInt, PositiveInt, PositiveInt] = (12, 2, 4),
                 slices_per_subject: PositiveInt | None = None, mode: MRIMode = "auto", snr: SNR = 10.0,
                 snr_highfield: NonNegativeFloat = 40.0, bias: ClosedUnitInterval = 0.2,
                 inplane_factor: InplaneFactor = 1.6, slice_factor: SliceFactor = 2,
                 data_seed: NonNegativeInt | None = 0, train_source: TrainSource = "real",
                 anatomy: Anatomy = "template", skull_strip: bool = True,
                 t1_variation: NonNegativeFloat = 0.0) -> None:
        super().__init__(root=root, batch_size=batch_size, eval_batch_size=eval_batch_size,
                         crop_size=crop_size, num_workers=num_workers, seed=seed)
        self.contrast, self.mode, self.train_source, self.anatomy = contrast, mode, train_source, anatomy
        self.skull_strip = bool(skull_strip)
        if root is None and self.mode != "auto":
            raise UsageError(f"data.mode={mode!r} reads real data: give a data root (DATA_ROOT / "
                             "--data-root); the synthetic default needs no mode")
        self.size = _size(size)
        self.subjects = tuple(int(n) for n in subjects)
        self.slices_per_subject = slices_per_subject
        self.acquisition = LowFieldAcquisition(inplane_factor=float(inplane_factor), slice_factor=int(slice_factor),
                                               snr=float(snr), bias=float(bias))
        self.snr_highfield = float(snr_highfield)
        self.t1_variation = float(t1_variation)
        self.data_seed = int(seed if data_seed is None else data_seed)
        if self.size is None and root is None:
            raise UsageError("data.size=null keeps the native grid of real data; the synthetic default needs "
                             "a size (a multiple of 16, e.g. 96)")
        self.resolved_mode = "synthetic" if root is None else None

    # -- splits ----------------------------------------------------------------------------------------------
    def build_splits(self) -> dict[str, Split]:
        volumes = self._synthetic() if self.root is None else self._real()
        return {split: _to_split(vols) for split, vols in volumes.items()}

    def _synthetic(self) -> dict[str, list[Volume]]:
        counts = dict(zip(SPLITS, self.subjects, strict=True))
        return {split: [self.synthetic_subject(split, i)[0] for i in range(counts[split])]
                for split in SPLITS}

    def synthetic_subject(self, split: str, index: int) -> tuple[Volume, Phantom]:
        """Image one subject at 3 T and at 64 mT; the 64 mT slice k is the thick slab centred on 3 T slice k.

        Returns the kept slices and the phantom (all generated slices): kept slice k is phantom slice
        k + m, and its 64 mT slab spans phantom slices k .. k + 2m, with m = ``slab_margin(slice_factor)``.
        """
        keep = self.slices_per_subject or SYNTHETIC_SLICES
        margin = slab_margin(self.acquisition.slice_factor)
        generate = template_subject if self.anatomy == "template" else brain_phantom
        phantom = generate(image_rng(self.data_seed, split, index, "anatomy"), size=self.size,
                           n_slices=keep + 2 * margin)
        if self.skull_strip:
            phantom = strip_skull(phantom)
        rng = image_rng(self.data_seed, split, index, "acquisition")
        centre = slice(margin, margin + keep)
        # SNR is relative to the signal of pure white matter (a slab near the vertex may hold none).
        t1_scale = self.t1_scale(split, index)
        low = weighted_image(phantom.fractions, "64mT", self.contrast, t1_scale) * phantom.texture
        source = lowfield_acquisition(low, tissue_signals("64mT", self.contrast, t1_scale)["wm"],
                                      self.acquisition, rng)

        high = (weighted_image(phantom.fractions, "3T", self.contrast, t1_scale) * phantom.texture)[centre]
        high = highfield_acquisition(high, tissue_signals("3T", self.contrast, t1_scale)["wm"], self.snr_highfield,
                                     phantom.voxel_mm, rng)
        mask = phantom.brain_mask[centre]
        volume = Volume(subject=f"{split}{index:03d}", source=nifti.normalise(source, mask),
                        target=nifti.normalise(high, mask), mask=mask, indices=list(range(keep)))
        return volume, phantom

    def t1_scale(self, split: str, index: int) -> dict[str, float]:
        """One subject's T1 factors for CSF, GM and WM, log-normal with ``t1_variation`` as the spread, the
        same at both fields (their own random stream: the anatomy and noise do not change with it)."""
        rng = image_rng(self.data_seed, split, index, "relaxation")
        factors = np.exp(rng.normal(0.0, self.t1_variation, 3))
        return dict(zip(("csf", "gm", "wm"), factors.tolist()))

    def _real(self) -> dict[str, list[Volume]]:
        root = Path(self.root)
        mode = nifti.detect_mode(root) if self.mode == "auto" else self.mode
        self.resolved_mode = mode
        files = nifti.find_subjects(root, self.contrast, mode)
        if self.train_source == "synthetic":
            synthetic = self._synthetic()
            self.synthetic_splits |= {"train", "val"}
            return {"train": synthetic["train"], "val": synthetic["val"],
                    "test": [self._real_subject(entry) for entry in files]}
        assignment = split_subjects([f.subject for f in files], self.data_seed, root)
        out: dict[str, list[Volume]] = {split: [] for split in SPLITS}
        for entry in files:
            out[assignment[entry.subject]].append(self._real_subject(entry))
        return out

    def _real_subject(self, files: nifti.SubjectFiles) -> Volume:
        vols = nifti.load_subject(files, self.contrast)
        target = to_grid(vols.highfield, vols.spacing, self.size)
        mask = to_grid(vols.mask.astype(np.float32), vols.spacing, self.size) > 0.5
        if vols.lowfield is not None:
            source = to_grid(vols.lowfield, vols.spacing, self.size)
        else:
            rng = image_rng(self.data_seed, "simulate", 0, files.subject)
            source = simulate_lowfield(target, mask, self.contrast, self.acquisition, rng)
            source = nifti.normalise(source, mask)
        keep = _kept_slices(mask, self.slices_per_subject)
        if not keep:
            raise _empty(files)
        return Volume(subject=files.subject, source=source[keep], target=target[keep], mask=mask[keep],
                      indices=keep)

    # -- inference on 64 mT scans without a partner -------------------------------------------------------
    def lowfield_inputs(self, path: str | Path) -> list[dict[str, Any]]:
        """Real 64 mT scans (a file or a ``<subject>/64mT/`` folder) as model inputs on this module's grid.

        One dict per scan: ``source`` float32 (N, 1, H, W) in [0, 1], ``mask`` bool (N, 1, H, W) (foreground),
        ``id`` list of ``<subject>/z<slice>``; slices with less than 1 % foreground are skipped.
        """
        out = []
        for scan in nifti.load_lowfield_only(path, self.contrast):
            source = to_grid(scan.slices, scan.spacing, self.size)
            mask = to_grid(scan.mask.astype(np.float32), scan.spacing, self.size) > 0.5
            keep = _kept_slices(mask, None)
            out.append({"source": torch.from_numpy(source[keep]).unsqueeze(1),
                        "mask": torch.from_numpy(mask[keep]).unsqueeze(1),
                        "id": [f"{scan.subject}/z{k:03d}" for k in keep]})
        return out

    @property
    def volume_protocols(self) -> dict[str, dict[str, Any]]:
        """Whole-volume scoring (`benchmark.volume_protocols`): true volume metrics (fastMRI reports per-volume
        figures), the ULF-EnC challenge protocol of the LoHiResGAN authors, and morphometry (LoHiResGAN's
        paper judges synthetic 3 T images by brain tissue volumes)."""
        return {"volume": {}, "ulf_enc": {}, "morphometry": {"contrast": self.contrast}}

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        out.update(contrast=self.contrast, mode=self.resolved_mode)
        return out


# --- helpers -----------------------------------------------------------------------------------------------
def strip_skull(phantom: Phantom) -> Phantom:
    """The phantom with scalp fat and skull turned to air (background): a skull-stripped head."""
    fractions = phantom.fractions.copy()
    air, removed = TISSUES.index("background"), [TISSUES.index("fat"), TISSUES.index("skull")]
    fractions[air] += fractions[removed].sum(axis=0)
    fractions[removed] = 0.0
    return replace(phantom, fractions=fractions)


def split_subjects(names: list[str], seed: int, root: Path | str = "") -> dict[str, str]:
    """Subject-level split: sorted names shuffled by ``seed``; ~20 % test and ~10 % val, each at least one."""
    n = len(names)
    if n < 3:
        raise DataError(f"mri: a subject-level train/val/test split needs at least 3 subjects, found {n} "
                        f"under {root}")
    order = [sorted(names)[i] for i in np.random.default_rng(seed).permutation(n)]
    n_test = max(1, round(SPLIT_FRACTIONS["test"] * n))
    n_val = max(1, round(SPLIT_FRACTIONS["val"] * n))
    if n - n_test - n_val < 1:
        n_test, n_val = 1, 1
    labels = ["test"] * n_test + ["val"] * n_val + ["train"] * (n - n_test - n_val)
    return dict(zip(order, labels, strict=True))


def to_grid(volume: np.ndarray, spacing: tuple[float, float], size: int | None) -> np.ndarray:
    """Axial slices (Z, H, W) onto the square grid: isotropic resampling to ``size``, centred zero padding."""
    h, w = volume.shape[1:]
    if size is None:
        target = (-(-h // GRID_MULTIPLE) * GRID_MULTIPLE, -(-w // GRID_MULTIPLE) * GRID_MULTIPLE)
        return _pad(volume.astype(np.float32), target)
    pixel = max(h * spacing[0], w * spacing[1]) / size
    new = (min(size, max(1, round(h * spacing[0] / pixel))), min(size, max(1, round(w * spacing[1] / pixel))))
    tensor = torch.from_numpy(np.ascontiguousarray(volume, dtype=np.float32)).unsqueeze(1)
    resized = F.interpolate(tensor, size=new, mode="bilinear", align_corners=False, antialias=True)
    return _pad(resized.squeeze(1).numpy(), (size, size))


def _pad(volume: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = volume.shape[1:]
    top, left = (shape[0] - h) // 2, (shape[1] - w) // 2
    out = np.zeros((volume.shape[0], *shape), dtype=np.float32)
    out[:, top:top + h, left:left + w] = volume
    return out


def _kept_slices(mask: np.ndarray, count: int | None) -> list[int]:
    """Slices with enough brain; the ``count`` central ones of them when ``count`` is given."""
    fractions = mask.reshape(mask.shape[0], -1).mean(axis=1)
    keep = [int(k) for k in np.flatnonzero(fractions >= MIN_BRAIN_FRACTION)]
    if count is not None and len(keep) > count:
        start = (len(keep) - count) // 2
        keep = keep[start:start + count]
    return keep


def _to_split(volumes: list[Volume]) -> Split:
    source, target, mask, ids = [], [], [], []
    for vol in volumes:
        for row, k in enumerate(vol.indices):
            source.append(torch.from_numpy(vol.source[row].copy()).unsqueeze(0))
            target.append(torch.from_numpy(vol.target[row].copy()).unsqueeze(0))
            mask.append(torch.from_numpy(vol.mask[row].copy()).unsqueeze(0))
            ids.append(f"{vol.subject}/z{k:03d}")
    return Split(source=source, target=target, ids=ids, mask=mask)


def _empty(files: nifti.SubjectFiles) -> DataError:
    return DataError(f"mri: subject {files.subject}: no slice with brain (the mask covers less than "
                     f"{MIN_BRAIN_FRACTION:.0%} of every slice of {files.highfield})")


def _size(size: int | None) -> int | None:
    """The grid side: a multiple of GRID_MULTIPLE (what the U-Net family's strides need), at least 32."""
    if size is None:
        return None
    if size < 32 or size % GRID_MULTIPLE:
        raise UsageError(f"data.size={size!r}: expected a multiple of {GRID_MULTIPLE} >= 32 (e.g. 96, 256) "
                         "or null")
    return int(size)
