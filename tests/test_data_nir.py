"""NIR-IIa -> NIR-IIb: scattering model, synthetic default with masks, paired and unpaired real folders."""
from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from conftest import configured_datamodule

from benchmark.errors import DataError, UsageError
from datamodules.forward.nir_scattering import BANDS, absorption, layer_psf, reduced_scattering
from datamodules.nir import NIRDataModule

SMALL = {"size": 64, "crop_size": 32, "batch_size": 4, "train_images": 6, "val_images": 2, "test_images": 8}


@pytest.fixture(scope="module")
def small() -> NIRDataModule:
    dm = NIRDataModule(seed=0, **SMALL)
    dm.setup()
    return dm


def _sbr(image: torch.Tensor, mask: torch.Tensor) -> float:
    return float(image[mask].mean() / image[~mask].mean().clamp_min(1e-6))


def _sharpness(image: torch.Tensor) -> float:
    """Gradient energy relative to intensity: higher for a narrower PSF."""
    gy, gx = image.diff(dim=-2), image.diff(dim=-1)
    return float((gy ** 2).mean() + (gx ** 2).mean()) / float((image ** 2).mean())


def test_batch_format(small: NIRDataModule) -> None:
    batch = next(iter(small.train_dataloader()))
    assert batch["source"].shape == batch["target"].shape == (4, 1, 32, 32)
    for key in ("mask", "tumour_mask", "normal_mask"):
        assert batch[key].dtype == torch.bool and batch[key].shape == (4, 1, 32, 32)
    test = next(iter(small.test_dataloader()))
    for key in ("source", "target"):
        assert test[key].dtype == torch.float32 and test[key].shape == (4, 1, 64, 64)
        assert 0.0 <= float(test[key].min()) and float(test[key].max()) <= 1.0
    assert small.paired is True and small.extra_metrics == ("sbr", "tnr") and small.masked_metrics is False
    split = small.splits["test"]
    for signal, tumour, normal in zip(split.mask, split.aux["tumour_mask"], split.aux["normal_mask"]):
        assert tumour.any() and normal.any()
        assert not (normal & signal).any() and bool((tumour <= signal).all())


def test_determinism(small: NIRDataModule) -> None:
    again = NIRDataModule(seed=0, **SMALL)
    again.setup()
    other = NIRDataModule(seed=0, data_seed=1, **SMALL)
    other.setup()
    assert all(torch.equal(a, b) for a, b in zip(small.splits["test"].source, again.splits["test"].source))
    assert all(torch.equal(a, b) for a, b in zip(small.splits["test"].mask, again.splits["test"].mask))
    assert not torch.equal(small.splits["test"].target[0], other.splits["test"].target[0])


def test_nir_iib_is_sharper_with_higher_sbr(small: NIRDataModule) -> None:
    split = small.splits["test"]
    sbr_a = np.mean([_sbr(a, m) for a, m in zip(split.source, split.mask)])
    sbr_b = np.mean([_sbr(b, m) for b, m in zip(split.target, split.mask)])
    assert sbr_b > 1.1 * sbr_a > 1.1
    sharp_a = np.mean([_sharpness(a) for a in split.source])
    sharp_b = np.mean([_sharpness(b) for b in split.target])
    assert sharp_b > sharp_a


def test_scattering_model_properties() -> None:
    i, iia, iib = BANDS["nir_i"], BANDS["nir_iia"], BANDS["nir_iib"]
    assert reduced_scattering(i) > reduced_scattering(iia) > reduced_scattering(iib)  # power law in lambda
    assert absorption(iib) > absorption(iia) > absorption(i)  # water
    for depth in (0.5, 1.0, 2.0):
        psfs = [layer_psf(band, depth) for band in (i, iia, iib)]
        halo_share = [p.halo_weight / (p.halo_weight + p.sharp_weight) for p in psfs]
        assert halo_share[0] > halo_share[1] > halo_share[2]
    shallow, deep = layer_psf(iia, 0.2), layer_psf(iia, 2.0)
    assert deep.halo_sigma > shallow.halo_sigma and deep.sharp_weight < shallow.sharp_weight


@pytest.mark.parametrize("options, name", [
    ({"band_a": "nir_iib"}, "band_a"), ({"tissue": "bone"}, "tissue"), ({"photons": -1}, "photons"),
    ({"train_source": "x"}, "train_source"), ({"crop_size": 256}, "crop_size"),
])
def test_bad_options(options: dict, name: str) -> None:
    with pytest.raises(UsageError, match=f"data.{name}"):
        configured_datamodule("nir", **options)


# -- real data ------------------------------------------------------------------------------------------


def test_real_paired_test_only_root(shared_data: Path) -> None:
    root = shared_data / "nir" / "icg_pairs"
    dm = NIRDataModule(root=str(root), **SMALL)
    dm.setup()
    test = dm.splits["test"]
    assert test.ids == ["pair1", "pair2", "pair3"] and test.source[0].shape == (1, 400, 400)
    assert test.mask is None and dm.paired is True and dm.summary()["test"]["paired"] is True
    assert dm.splits["train"].ids[0].startswith("syn0/")  # evaluation-only root: synthetic training
    assert dm.summary()["val"]["source"] == "synthetic" and dm.summary()["test"]["source"] == "real"
    with pytest.raises(DataError, match="train"):
        NIRDataModule(root=str(root), train_source="real").setup()


def _link_unpaired(shared_data: Path, root: Path) -> None:
    names = sorted(p.name for p in (shared_data / "nir" / "nir_iia_unpaired").iterdir())
    for split in ("train", "val", "test"):
        for folder, picked in (("A", names[:3]), ("B", names[3:5])):
            (root / split / folder).mkdir(parents=True)
            for name in picked:
                os.symlink(shared_data / "nir" / "nir_iia_unpaired" / name, root / split / folder / name)


def test_real_unpaired(shared_data: Path, tmp_path: Path) -> None:
    _link_unpaired(shared_data, tmp_path)
    dm = NIRDataModule(root=str(tmp_path), crop_size=64, batch_size=2)
    assert dm.paired is False  # known from the file names before setup
    dm.setup()
    train = dm.splits["train"]
    assert len(train) == 3 and all("|" in i for i in train.ids)  # every A, B cycled
    assert train.source[0].shape == (1, 512, 640)
    assert dm.summary()["train"]["paired"] is False
    batch = next(iter(dm.train_dataloader()))
    assert batch["source"].shape == batch["target"].shape == (2, 1, 64, 64)


def test_real_masks_and_bad_inputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for folder in ("A", "B", "mask"):
        (tmp_path / "test" / folder).mkdir(parents=True)
        for k in range(2):
            iio.imwrite(tmp_path / "test" / folder / f"m{k}.png", rng.integers(0, 255, (20, 24), np.uint8))
    dm = NIRDataModule(root=str(tmp_path), **SMALL)
    dm.setup()
    assert dm.splits["test"].mask[0].dtype == torch.bool and dm.splits["test"].mask[0].shape == (1, 20, 24)
    mask = tmp_path / "test" / "mask" / "m1.png"
    iio.imwrite(mask, np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match=r"m1\.png: mask size"):
        NIRDataModule(root=str(tmp_path), **SMALL).setup()
    mask.unlink()
    with pytest.raises(DataError, match=r"m1\.png: no signal mask"):
        NIRDataModule(root=str(tmp_path), **SMALL).setup()
    (tmp_path / "test" / "mask" / "m0.png").unlink()
    (tmp_path / "test" / "mask").rmdir()
    b1 = tmp_path / "test" / "B" / "m1.png"
    iio.imwrite(b1, np.zeros((20, 20), np.uint8))
    with pytest.raises(DataError, match=r"m1\.png: size"):
        NIRDataModule(root=str(tmp_path), **SMALL).setup()
    b1.rename(tmp_path / "test" / "B" / "other.png")
    with pytest.raises(DataError, match=r"m1\.png: no partner"):
        NIRDataModule(root=str(tmp_path), **SMALL).setup()
    (tmp_path / "test" / "B" / "other.png").write_bytes(b"garbage")
    (tmp_path / "test" / "B" / "m0.png").unlink()
    with pytest.raises(DataError, match=r"other\.png"):  # no names match: unpaired, and the B file is corrupt
        NIRDataModule(root=str(tmp_path), **SMALL).setup()
    for path in (tmp_path / "test" / "B").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="no PNG/TIFF images"):
        NIRDataModule(root=str(tmp_path), **SMALL).setup()
