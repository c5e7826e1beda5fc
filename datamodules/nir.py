"""NIR-I/IIa -> NIR-IIb translation of in vivo fluorescence images (Ma et al., PNAS 118(1), 2021).

Ma et al., "Deep learning for in vivo near-infrared imaging", translate NIR-I/NIR-IIa images into the sharper
NIR-IIb window.

Real layout (``root``): ``<root>/{train,val,test}/{A,B}/*.png|tif``, A = NIR-I or NIR-IIa, B = NIR-IIb
(8-bit, 640x512 in that release; any size and 16-bit accepted), optional signal masks
``<split>/mask/<name>`` named after the A image. A split is *paired* when every A name has a B partner
(sizes must then match) and *unpaired* when no name matches (CycleGAN-style data, as Ma et al. trained
with: the split lists every A and every B image, cycling the shorter list, and training draws B
independently of A); partly matching names are taken for a missing partner and fail. ``self.paired``
reflects the training split (the base reads it) and is known from the file names at construction;
``summary()`` reports every split. Full-reference metrics are only meaningful on a paired test split. The
mask is the signal region for the signal-to-background ratio (``masked_metrics = False``: full-reference
metrics stay whole-image).

A root may hold only some splits. ``train_source="auto"``: real train and val when ``<root>/train``
exists (``<root>/val`` is then required), otherwise synthetic train and val, so an evaluation-only root
(just ``test/``) scores a model trained on synthetic data on real images.

Synthetic default (``root=None``): procedural fluorophore scenes (`synthetic.nir_scenes`) imaged through
the wavelength-dependent scattering model of `forward.nir_scattering` in ``band_a`` (A) and NIR-IIb (B),
each with its own autofluorescence and shot noise, stored as 8-bit images; paired, with ``mask`` = signal
(vessels, lymph nodes, tumour) and the aux masks ``tumour_mask`` and ``normal_mask`` for the
tumour-to-normal-tissue ratio.

NIR-I generalisation (Ma et al. report that a network trained on NIR-IIa -> NIR-IIb also improves NIR-I images
it never saw): with ``generalise`` (default) and ``band_a="nir_iia"``, the synthetic test split holds every
test scene twice, its NIR-IIa source and its NIR-I source, both against the same NIR-IIb target; the tag
``band`` ("nir_iia" | "nir_i") tells them apart. The headline test means are over the NIR-IIa images only
(``headline``); the NIR-I block is the ``band = nir_i`` group of the record's ``by_tag``. Every test image is
tagged with its band, real ones with ``band_a``.

Options (besides the base's; defaults sized for a laptop run):
    band_a ("nir_iia" | "nir_i"), tissue ("skin" | "soft_tissue" | "brain": scattering coefficients),
    photons (400: photons at the signal's robust peak), size (128), train_images (256), val_images (16),
    test_images (32), data_seed (0; null = the run seed): synthetic data
    generalise (true: NIR-I copies of the synthetic test scenes, when band_a is nir_iia)
    train_source ("auto" | "real" | "synthetic")
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from benchmark.errors import DataError, UsageError
from benchmark.option_types import ImageSide, NonNegativeInt, PositiveFloat, PositiveInt
from datamodules import register_dataset
from datamodules.base import PairedDataModule, Split
from datamodules.forward.nir_scattering import BANDS, acquire, blur_layers
from datamodules.readers import list_images, match, read_mask, read_tensor
from datamodules.synthetic import image_rng
from datamodules.synthetic.nir_scenes import render

BandA = Literal["nir_iia", "nir_i"]
TrainSource = Literal["auto", "real", "synthetic"]
Tissue = Literal["soft_tissue", "skin", "brain"]  # the scattering spectra of `datamodules.forward.nir_scattering`
PIXEL_MM = 0.1


def _mask_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)[None].astype(bool))


@register_dataset("nir")
class NIRDataModule(PairedDataModule):
    """NIR-IIa (or NIR-I) -> NIR-IIb translation, paired (synthetic, co-registered real) or unpaired."""

    name = "nir"
    task = "translate"
    channels = 1
    paired = True  # the synthetic default; an instance attribute reflects a real root's training split
    scale = 1
    masked_metrics = False
    mixes_sources = True
    extra_metrics = ("sbr", "tnr")

    # Smoke at 48 rather than 32 px, so the synthetic scene keeps a non-empty normal-tissue mask (TNR defined).
    presets: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "smoke": {"data": {"size": 48, "crop_size": 32, "train_images": 4, "val_images": 2, "test_images": 2}},
    }

    def __init__(self, root: str | None = None, batch_size: PositiveInt = 8,
                 eval_batch_size: PositiveInt | None = None, crop_size: PositiveInt | None = 64,
                 num_workers: NonNegativeInt = 0, seed: int = 0, *,
                 band_a: BandA = "nir_iia", tissue: Tissue = "skin", photons: PositiveFloat = 400.0,
                 train_source: TrainSource = "auto", size: ImageSide = 128, train_images: PositiveInt = 256,
                 val_images: PositiveInt = 16, test_images: PositiveInt = 32,
                 data_seed: NonNegativeInt | None = 0, generalise: bool = True) -> None:
        super().__init__(root=root, batch_size=batch_size, eval_batch_size=eval_batch_size,
                         crop_size=crop_size, num_workers=num_workers, seed=seed)
        self.data_seed = int(seed if data_seed is None else data_seed)
        self.band_a, self.tissue, self.photons = band_a, tissue, float(photons)
        self.train_source, self.size = train_source, size
        self.generalise = bool(generalise) and band_a == "nir_iia"
        self.headline = {"band": band_a}  # the rows the headline test means are over (benchmark.evaluation)
        if crop_size is not None and int(crop_size) > self.size and root is None:
            raise UsageError(f"data.crop_size={crop_size} exceeds the synthetic image size data.size={size}")
        self.counts = {"train": train_images, "val": val_images, "test": test_images}
        self.split_paired: dict[str, bool] = {}
        self.paired = self._scan_paired()

    # -- pairing ---------------------------------------------------------------------------------------------
    def _uses_real_training(self) -> bool:
        return (self.root is not None and self.train_source != "synthetic"
                and (self.train_source == "real" or (Path(self.root) / "train").is_dir()))

    def _scan_paired(self) -> bool:
        """Whether the training split is paired, from file names only (errors surface in build_splits)."""
        if not self._uses_real_training():
            return True
        try:
            a = list_images(Path(self.root) / "train" / "A")
            b = list_images(Path(self.root) / "train" / "B")
        except DataError:
            return True
        pairs, _, _ = match(a, b)
        return bool(pairs)

    # -- splits ----------------------------------------------------------------------------------------------
    def build_splits(self) -> dict[str, Split]:
        if self.root is None:
            self.split_paired = {name: True for name in ("train", "val", "test")}
            return {name: self._synthetic(name) for name in ("train", "val", "test")}
        root = Path(self.root)
        if not root.is_dir():
            raise DataError(f"{root}: NIR root folder not found "
                            "(expected <root>/{train,val,test}/{A,B}/)")
        splits: dict[str, Split] = {}
        if (root / "test").is_dir():
            splits["test"] = self._real_split(root / "test")
        if self._uses_real_training():
            for name in ("train", "val"):
                if not (root / name).is_dir():
                    raise DataError(f"{root / name}: split folder not found (expected "
                                    f"{root / name}/{{A,B}}/, or set data.train_source=synthetic)")
                splits[name] = self._real_split(root / name)
        else:
            for name in ("train", "val"):
                splits[name] = self._synthetic(name)
                self.split_paired[name] = True
        self.paired = self.split_paired.get("train", True)
        return splits

    def summary(self) -> dict:
        """The base summary plus, per real split, whether its images are paired."""
        out = super().summary()
        for name, paired in self.split_paired.items():
            if isinstance(out.get(name), dict):
                out[name]["paired"] = paired
        return out

    # -- synthetic -------------------------------------------------------------------------------------------
    def _synthetic(self, split: str) -> Split:
        """Rendered scenes; the test split also holds the NIR-I copies when ``generalise`` (ids ``...@nir_i``).

        A scene's NIR-IIa source, NIR-IIb target and their noise draw from the same generators with or
        without the NIR-I copies, so adding them leaves the NIR-IIa images unchanged.
        """
        self.synthetic_splits.add(split)
        shape = (self.size, self.size)
        extra = ["nir_i"] if self.generalise and split == "test" else []
        fields: dict[str, list] = {k: [] for k in ("a", "b", "mask", "tumour", "normal", "ids", "band")}
        for i in range(self.counts[split]):
            scene = render(image_rng(self.data_seed, split, i, "scene"), shape, PIXEL_MM)
            names = [self.band_a, *extra, "nir_iib"]
            clean = dict(zip(names, blur_layers(scene.layers, [BANDS[n] for n in names], self.tissue, PIXEL_MM),
                             strict=True))
            images = {}
            for name, key in ((self.band_a, "a"), ("nir_iib", "b"), *((n, f"a_{n}") for n in extra)):
                rng = image_rng(self.data_seed, split, i, key)
                image = np.round(acquire(clean[name], scene.tissue, BANDS[name], rng, self.photons) * 255) / 255
                images[name] = torch.from_numpy(image[None].astype(np.float32))
            for band in (self.band_a, *extra):
                fields["a"].append(images[band])
                fields["b"].append(images["nir_iib"])
                fields["mask"].append(_mask_tensor(scene.signal))
                fields["tumour"].append(_mask_tensor(scene.tumour))
                fields["normal"].append(_mask_tensor(scene.normal))
                suffix = "" if band == self.band_a else f"@{band}"
                fields["ids"].append(f"syn{self.data_seed}/{split}{i:04d}{suffix}")
                fields["band"].append(band)
        return Split(fields["a"], fields["b"], fields["ids"], mask=fields["mask"],
                     aux={"tumour_mask": fields["tumour"], "normal_mask": fields["normal"]},
                     tags={"band": fields["band"]})

    # -- real ------------------------------------------------------------------------------------------------
    def _real_split(self, folder: Path) -> Split:
        a_files, b_files = list_images(folder / "A"), list_images(folder / "B")
        pairs, only_a, only_b = match(a_files, b_files)
        paired = not only_a and not only_b
        if pairs and not paired:
            lonely = (only_a or only_b)[0]
            other = "B" if only_a else "A"
            raise DataError(f"{lonely}: no partner in {folder / other} (names match for {len(pairs)} "
                            "images, so the split is paired: every image needs a partner of its name)")
        self.split_paired[folder.name] = paired
        masks = self._masks(folder, a_files)
        sources, targets, ids, mask_list = [], [], [], []
        if paired:
            for a_path, b_path in pairs:
                a, b = read_tensor(a_path), read_tensor(b_path)
                if a.shape != b.shape:
                    raise DataError(f"{b_path}: size {tuple(b.shape[-2:])} differs from its partner "
                                    f"{a_path} {tuple(a.shape[-2:])}")
                sources.append(a)
                targets.append(b)
                ids.append(a_path.stem)
                if masks is not None:
                    mask_list.append(self._checked_mask(masks[a_path.stem], a, a_path))
        else:
            a_images = [read_tensor(p) for p in a_files]
            b_images = [read_tensor(p) for p in b_files]
            for i in range(max(len(a_files), len(b_files))):
                ia, ib = i % len(a_files), i % len(b_files)
                sources.append(a_images[ia])
                targets.append(b_images[ib])
                ids.append(f"{a_files[ia].stem}|{b_files[ib].stem}")
                if masks is not None:
                    mask_path = masks[a_files[ia].stem]
                    mask_list.append(self._checked_mask(mask_path, a_images[ia], a_files[ia]))
        return Split(sources, targets, ids, mask=mask_list if masks is not None else None,
                     tags={"band": [self.band_a] * len(ids)})

    @staticmethod
    def _masks(folder: Path, a_files: list[Path]) -> dict[str, Path] | None:
        """Mask file per A image, when the split has a mask folder (then every A image needs one)."""
        if not (folder / "mask").is_dir():
            return None
        found = {p.stem: p for p in list_images(folder / "mask")}
        for path in a_files:
            if path.stem not in found:
                raise DataError(f"{path}: no signal mask "
                                f"(expected {folder / 'mask' / path.stem}.png or .tif)")
        return found

    @staticmethod
    def _checked_mask(path: Path, image: torch.Tensor, image_path: Path) -> torch.Tensor:
        mask = read_mask(path)
        if mask.shape != image.shape:
            raise DataError(f"{path}: mask size {tuple(mask.shape[-2:])} differs from its image "
                            f"{image_path} {tuple(image.shape[-2:])}")
        return mask
