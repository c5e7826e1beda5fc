"""Fluorescence x4: the bicubic protocol, synthetic default, real HR folders and real LR/HR pairs."""
from __future__ import annotations

import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile
import torch
from conftest import configured_datamodule

from benchmark.errors import DataError, UsageError
from datamodules.fluorescence import FluorescenceDataModule
from datamodules.forward.bicubic import degrade, downsample, upsample

SMALL = {"size": 64, "crop_size": 32, "batch_size": 4, "train_images": 8, "val_images": 2, "test_images": 3}


@pytest.fixture(scope="module")
def small() -> FluorescenceDataModule:
    dm = FluorescenceDataModule(seed=0, **SMALL)
    dm.setup()
    return dm


def test_batch_format(small: FluorescenceDataModule) -> None:
    batch = next(iter(small.train_dataloader()))
    assert batch["source"].shape == batch["target"].shape == (4, 1, 32, 32)
    assert batch["source_lr"].shape == (4, 1, 8, 8)
    test = next(iter(small.test_dataloader()))
    assert test["source"].shape == (3, 1, 64, 64) and test["source_lr"].shape == (3, 1, 16, 16)
    for b in (batch, test):
        for key in ("source", "target", "source_lr"):
            assert b[key].dtype == torch.float32
            assert 0.0 <= float(b[key].min()) and float(b[key].max()) <= 1.0
    assert small.scale == 4 and small.task == "super_resolve"


def test_source_is_bicubic_down_up_of_target(small: FluorescenceDataModule) -> None:
    for split in small.splits.values():
        for source, target, low in zip(split.source, split.target, split.source_lr):
            assert torch.equal(low, downsample(target, 4))
            assert torch.equal(source, upsample(low, tuple(target.shape[-2:])))
            assert not torch.equal(source, target)


def test_training_crops_stay_aligned(small: FluorescenceDataModule) -> None:
    torch.manual_seed(0)
    batch = next(iter(small.train_dataloader()))
    # D of the cropped target equals the cropped D(target) away from the crop border (crops start on the
    # low-resolution grid).
    lows = downsample(batch["target"], 4)
    assert torch.allclose(lows[..., 2:-2, 2:-2], batch["source_lr"][..., 2:-2, 2:-2], atol=0.03)


def test_determinism_and_noise(small: FluorescenceDataModule) -> None:
    again = FluorescenceDataModule(seed=0, **SMALL)
    again.setup()
    other = FluorescenceDataModule(seed=0, data_seed=1, **SMALL)
    other.setup()
    assert all(torch.equal(a, b) for a, b in zip(small.splits["train"].target, again.splits["train"].target))
    assert not torch.equal(small.splits["train"].target[0], other.splits["train"].target[0])
    noisy = FluorescenceDataModule(seed=0, noise_photons=50, **SMALL)
    noisy.setup()
    clean_split, noisy_split = small.splits["test"], noisy.splits["test"]
    # Targets stay clean; the noise reaches the input.
    assert all(torch.equal(a, b) for a, b in zip(clean_split.target, noisy_split.target))
    assert not torch.equal(clean_split.source_lr[0], noisy_split.source_lr[0])


def test_bicubic_properties() -> None:
    flat = torch.full((1, 1, 32, 32), 0.25)
    source, low = degrade(flat, 4)
    assert low.shape == (1, 1, 8, 8)
    assert torch.allclose(low, flat[..., :8, :8]) and torch.allclose(source, flat)


@pytest.mark.parametrize("options, name", [
    ({"crop_size": 30}, "crop_size"), ({"normalize": "zscore"}, "normalize"), ({"mode": "lr"}, "mode"),
    ({"noise_photons": 0}, "noise_photons"), ({"size": 66}, "size"),
    ({"test_fraction": 1.5}, "test_fraction"),
])
def test_bad_options(options: dict, name: str) -> None:
    with pytest.raises(UsageError, match=f"data.{name}"):
        configured_datamodule("fluorescence", **options)


# -- real data ------------------------------------------------------------------------------------------


def test_real_hr_folder(shared_data: Path) -> None:
    root = shared_data / "fluorescence" / "hr"
    dm = FluorescenceDataModule(root=str(root), train_source="synthetic", **SMALL)
    dm.setup()
    test = dm.splits["test"]
    assert sorted(test.ids) == ["dsb2018_nuclei_img2d"] + [f"isl_condition_blue_{stain}_confocal_maxproj"
                                                           for stain in ("DAPI", "MAP2", "NFH")]
    for source, target, low in zip(test.source, test.target, test.source_lr):
        assert target.shape[-1] in (512, 1024) and low.shape[-1] * 4 == target.shape[-1]
        assert float(target.max()) == 1.0 and float(target.min()) == 0.0  # percentile-normalised 16-bit data
        assert torch.equal(source, upsample(low, tuple(target.shape[-2:])))
    auto = FluorescenceDataModule(root=str(shared_data / "fluorescence"), **SMALL)  # <root>/hr, 4 files
    auto.setup()
    assert sorted(len(auto.splits[k]) for k in ("train", "val", "test")) == [1, 1, 2]
    assert not set(auto.splits["train"].ids) & set(auto.splits["test"].ids)
    assert {split["source"] for split in (auto.summary()[k] for k in ("train", "val", "test"))} == {"real"}
    assert dm.summary()["train"]["source"] == "synthetic"


def test_real_pairs_same_size(shared_data: Path, tmp_path: Path) -> None:
    for folder, name in (("lr", "lr_two_photon.tif"), ("hr", "hr_srrf.tif")):
        (tmp_path / folder).mkdir()
        os.symlink(shared_data / "fluorescence" / "srrf_pair" / name, tmp_path / folder / "cell.tif")
    dm = FluorescenceDataModule(root=str(tmp_path), **SMALL)
    dm.setup()
    test = dm.splits["test"]
    assert test.ids == ["cell"] and test.source[0].shape == test.target[0].shape == (1, 256, 256)
    assert test.source_lr[0].shape == (1, 64, 64)
    assert not torch.equal(test.source[0], test.target[0])


def test_real_pairs_smaller_lr(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for folder, size in (("lr", 8), ("hr", 32)):
        (tmp_path / folder).mkdir()
        for k in range(3):
            iio.imwrite(tmp_path / folder / f"p{k}.png", rng.integers(0, 65535, (size, size), np.uint16))
    dm = FluorescenceDataModule(root=str(tmp_path), crop_size=16, normalize="dtype")
    dm.setup()
    split = dm.splits["train"]
    assert split.source_lr[0].shape == (1, 8, 8) and split.source[0].shape == (1, 32, 32)
    assert torch.equal(split.source[0], upsample(split.source_lr[0], (32, 32)))


def test_real_bad_inputs(tmp_path: Path) -> None:
    for folder in ("lr", "hr"):
        (tmp_path / folder).mkdir()
    iio.imwrite(tmp_path / "lr" / "a.png", np.zeros((8, 8), np.uint8))
    iio.imwrite(tmp_path / "hr" / "b.png", np.zeros((32, 32), np.uint8))
    with pytest.raises(DataError, match=r"a\.png: no high-resolution partner"):
        FluorescenceDataModule(root=str(tmp_path)).setup()
    (tmp_path / "hr" / "b.png").rename(tmp_path / "hr" / "a.png")
    iio.imwrite(tmp_path / "lr" / "a.png", np.zeros((10, 10), np.uint8))
    with pytest.raises(DataError, match=r"a\.png: size 10x10"):
        FluorescenceDataModule(root=str(tmp_path)).setup()
    (tmp_path / "lr" / "a.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DataError, match=r"a\.png"):
        FluorescenceDataModule(root=str(tmp_path)).setup()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no PNG/TIFF images"):
        FluorescenceDataModule(root=str(empty)).setup()
    tifffile.imwrite(empty / "x.tif", np.zeros((8, 8, 2), np.uint16))
    with pytest.raises(DataError, match=r"x\.tif.*unsupported image shape"):
        FluorescenceDataModule(root=str(empty)).setup()
    with pytest.raises(DataError, match="real training needs at least 3"):
        FluorescenceDataModule(root=str(empty), train_source="real").setup()
