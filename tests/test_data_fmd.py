"""FMD: synthetic default (batch format, determinism, Poisson-Gaussian averaging) and the real layouts."""
from __future__ import annotations

import itertools
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from conftest import configured_datamodule

from benchmark.errors import DataError, UsageError
from datamodules.fmd import FMDDataModule
from datamodules.forward.poisson_gaussian import NoiseParams, averaged_captures, quantize

SMALL = {"size": 64, "crop_size": 32, "batch_size": 4, "train_fields": 12, "val_fields": 2, "test_fields": 3}


@pytest.fixture(scope="module")
def small() -> FMDDataModule:
    dm = FMDDataModule(seed=0, **SMALL)
    dm.setup()
    return dm


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / torch.mean((a - b) ** 2)))


def test_batch_format(small: FMDDataModule) -> None:
    batch = next(iter(small.train_dataloader()))
    assert batch["source"].shape == batch["target"].shape == (4, 1, 32, 32)
    test = next(iter(small.test_dataloader()))
    assert test["source"].shape[1:] == (1, 64, 64)
    for b in (batch, test):
        for key in ("source", "target"):
            assert b[key].dtype == torch.float32
            assert 0.0 <= float(b[key].min()) and float(b[key].max()) <= 1.0
        assert isinstance(b["id"][0], str) and b["noise_level"][0] in {"1", "2", "4", "8", "16"}
    split = small.splits["test"]
    assert len(split) == 3 * 5 and len(set(split.ids)) == len(split)
    assert sorted(set(split.tags["noise_level"]), key=int) == ["1", "2", "4", "8", "16"]
    assert small.task == "denoise" and small.name == "fmd"
    # Sources are stored 8-bit images.
    assert torch.equal(split.source[0], torch.round(split.source[0] * 255) / 255)


def test_determinism(small: FMDDataModule) -> None:
    again = FMDDataModule(seed=0, **SMALL)
    again.setup()
    other = FMDDataModule(seed=0, data_seed=1, **SMALL)
    other.setup()
    for name in ("train", "test"):
        assert all(torch.equal(a, b) for a, b in zip(small.splits[name].source, again.splits[name].source))
        assert small.splits[name].ids == again.splits[name].ids
        assert not torch.equal(small.splits[name].target[0], other.splits[name].target[0])


def test_noise_variance_follows_a_x_plus_b_over_n() -> None:
    rng = np.random.default_rng(0)
    params = NoiseParams(a=0.02, b=0.001)
    for x in (0.1, 0.4):
        clean = np.full((256, 256), x)
        averages = averaged_captures(rng, clean, params, (1, 2, 4, 8, 16, 50))
        for n, image in averages.items():
            assert abs(image.mean() - x) < 0.01
            assert image.var() == pytest.approx(params.variance(x, n), rel=0.06)
        # Nested like FMD: the 50-average contains the raw capture, so their noises correlate by 1/50.
        cov = np.mean((averages[1] - x) * (averages[50] - x))
        assert cov == pytest.approx(params.variance(x, 50), rel=0.25)
    assert quantize(np.array([-0.2, 0.5004, 1.3])).tolist() == [0.0, 128 / 255, 1.0]


def test_input_quality_rises_with_level(small: FMDDataModule) -> None:
    split = small.splits["test"]
    by_level: dict[str, list[float]] = {}
    for s, t, level in zip(split.source, split.target, split.tags["noise_level"]):
        by_level.setdefault(level, []).append(_psnr(s, t))
    means = [np.mean(by_level[k]) for k in ("1", "2", "4", "8", "16")]
    assert all(b > a + 1.5 for a, b in itertools.pairwise(means))  # ~3 dB per doubling of captures
    assert 18 < means[0] < 34  # raw captures as noisy as FMD's (27 dB on test_mix in the paper)


def test_gt_avg50_and_levels() -> None:
    dm = FMDDataModule(seed=0, gt="avg50", train_levels=[1], test_levels="raw,avg16", **SMALL)
    dm.setup()
    assert set(dm.splits["train"].tags["noise_level"]) == {"1"}
    assert set(dm.splits["test"].tags["noise_level"]) == {"1", "16"}
    target = dm.splits["test"].target[0]
    assert torch.equal(target, torch.round(target * 255) / 255)  # a stored 8-bit average, not the clean image


@pytest.mark.parametrize("options, name", [
    ({"test_levels": [3]}, "test_levels"), ({"gt": "mean"}, "gt"), ({"test_set": "x"}, "test_set"),
    ({"val_fov": 19}, "val_fov"), ({"types": ["Nope"]}, "types"),
    ({"captures_per_fov": 0}, "captures_per_fov"),
    ({"train_source": "web"}, "train_source"),
])
def test_bad_options(options: dict, name: str) -> None:
    with pytest.raises(UsageError, match=f"data.{name}"):
        configured_datamodule("fmd", **options)


# -- real data ------------------------------------------------------------------------------------------


def test_real_test_mix_with_synthetic_training(shared_data: Path) -> None:
    dm = FMDDataModule(root=str(shared_data / "fmd"), seed=0, **SMALL)
    dm.setup()
    test = dm.splits["test"]
    assert len(test) == 8 and all(i.startswith("test_mix/raw/") for i in test.ids)
    assert set(test.tags["noise_level"]) == {"1"}
    assert "Confocal_FISH" in test.tags["type"] and "unknown" not in test.tags["type"]
    assert test.source[0].shape == (1, 512, 512)
    assert dm.splits["train"].ids[0].startswith("syn0/")  # evaluation-only root: synthetic training
    summary = dm.summary()
    assert summary["train"]["source"] == "synthetic" and summary["test"]["source"] == "real"
    psnr = [_psnr(s, t) for s, t in zip(test.source, test.target)]
    assert 17 < min(psnr) and max(psnr) < 27  # the README's 17.9-25.6 dB
    with pytest.raises(DataError, match="no training FOVs"):
        FMDDataModule(root=str(shared_data / "fmd"), train_source="real").setup()


def test_real_fov_layout(shared_data: Path) -> None:
    dm = FMDDataModule(root=str(shared_data / "fmd"), test_set="fov", types="Confocal_BPAE_R", **SMALL)
    dm.setup()
    assert dm.splits["test"].ids == ["Confocal_BPAE_R/19/raw/HV110_P0500510001"]
    assert dm.splits["test"].tags["type"] == ["Confocal_BPAE_R"]


def _fake_fmd(root: Path, fovs: tuple[int, ...] = (1, 2, 18, 19), captures: int = 4, size: int = 16) -> None:
    rng = np.random.default_rng(0)
    for fmd_type in ("Confocal_BPAE_R", "WideField_BPAE_G"):
        for fov in fovs:
            (root / fmd_type / "gt" / str(fov)).mkdir(parents=True)
            gt = rng.integers(0, 255, (size, size), np.uint8)
            iio.imwrite(root / fmd_type / "gt" / str(fov) / "avg50.png", gt)
            for level in ("raw", "avg4"):
                folder = root / fmd_type / level / str(fov)
                folder.mkdir(parents=True)
                for k in range(captures):
                    iio.imwrite(folder / f"cap{k:02d}.png", rng.integers(0, 255, (size, size), np.uint8))


def test_real_split_by_fov(tmp_path: Path) -> None:
    _fake_fmd(tmp_path)
    dm = FMDDataModule(root=str(tmp_path), crop_size=8, captures_per_fov=2)
    dm.setup()
    train, val, test = (dm.splits[k] for k in ("train", "val", "test"))
    assert {i.split("/")[1] for i in train.ids} == {"1", "2"}
    assert {i.split("/")[1] for i in val.ids} == {"18"} and {i.split("/")[1] for i in test.ids} == {"19"}
    assert len(train) == 2 * 2 * 2 * 2  # types x FOVs x levels x captures
    assert sorted({i.split("/")[3] for i in train.ids}) == ["cap00", "cap03"]  # evenly spaced captures
    assert set(test.tags["noise_level"]) == {"1", "4"}
    assert next(iter(dm.train_dataloader()))["source"].shape[-2:] == (8, 8)
    only_raw = FMDDataModule(root=str(tmp_path), crop_size=8, test_levels=[1], train_levels=[4])
    only_raw.setup()
    assert set(only_raw.splits["test"].tags["noise_level"]) == {"1"}
    with pytest.raises(DataError, match="avg16"):
        FMDDataModule(root=str(tmp_path), crop_size=8, train_levels=[16]).setup()


def test_real_bad_inputs(tmp_path: Path) -> None:
    _fake_fmd(tmp_path)
    gt = tmp_path / "Confocal_BPAE_R" / "gt" / "2" / "avg50.png"
    gt.unlink()
    with pytest.raises(DataError, match="avg50.png"):
        FMDDataModule(root=str(tmp_path), crop_size=8).setup()
    iio.imwrite(gt, np.zeros((12, 16), np.uint8))
    with pytest.raises(DataError, match="differs from its ground truth"):
        FMDDataModule(root=str(tmp_path), crop_size=8).setup()
    iio.imwrite(gt, np.zeros((16, 16), np.uint8))
    corrupt = tmp_path / "Confocal_BPAE_R" / "raw" / "1" / "cap00.png"
    corrupt.write_bytes(b"not a png at all")
    with pytest.raises(DataError, match="cap00.png"):
        FMDDataModule(root=str(tmp_path), crop_size=8).setup()
    corrupt.unlink()
    for path in (tmp_path / "Confocal_BPAE_R" / "raw" / "1").iterdir():
        path.unlink()
    with pytest.raises(DataError, match="no PNG/TIFF images"):
        FMDDataModule(root=str(tmp_path), crop_size=8).setup()
    with pytest.raises(DataError, match="not found"):
        FMDDataModule(root=str(tmp_path / "absent")).setup()


def test_test_mix_missing_partner(tmp_path: Path) -> None:
    for level in ("raw", "gt"):
        (tmp_path / "test_mix" / level).mkdir(parents=True)
    iio.imwrite(tmp_path / "test_mix" / "raw" / "Confocal_FISH_1.png", np.zeros((16, 16), np.uint8))
    iio.imwrite(tmp_path / "test_mix" / "gt" / "Confocal_FISH_2.png", np.zeros((16, 16), np.uint8))
    with pytest.raises(DataError, match=r"Confocal_FISH_1\.png: no ground truth partner"):
        FMDDataModule(root=str(tmp_path), **SMALL).setup()
