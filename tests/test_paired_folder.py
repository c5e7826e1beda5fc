"""paired-folder: generated PNG / 16-bit TIFF / NIfTI folders end to end, the real samples read exactly as the
dedicated readers read them, normalisation as documented, and one line per bad folder."""
from __future__ import annotations

import json
import os
from pathlib import Path

import imageio.v3 as iio
import nibabel as nib
import numpy as np
import pytest
import tifffile
import torch

from benchmark.cli import main
from benchmark.errors import DataError, UsageError
from datamodules.fluorescence import FluorescenceDataModule
from datamodules.fmd import FMDDataModule
from datamodules.nir import NIRDataModule
from datamodules.paired_folder import PairedFolderDataModule
from datamodules.readers import nifti

SPLIT_SIZES = {"train": 3, "val": 1, "test": 2}


# --- generated folders ------------------------------------------------------------------------------------
def _write_png_pairs(root: Path, rng: np.random.Generator, size=(32, 32), splits=SPLIT_SIZES) -> None:
    for split, count in splits.items():
        for role in ("source", "target"):
            (root / split / role).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            clean = (rng.random(size) * 200 + 20).astype(np.uint8)
            noisy = np.clip(clean + rng.normal(0, 15, size), 0, 255).astype(np.uint8)
            iio.imwrite(root / split / "target" / f"img{i}.png", clean)
            iio.imwrite(root / split / "source" / f"img{i}.png", noisy)


def _write_tiff16_pairs(root: Path, rng: np.random.Generator, channels=2) -> None:
    for split, count in SPLIT_SIZES.items():
        for role in ("source", "target"):
            (root / split / role).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            clean = rng.integers(1000, 30000, (channels, 32, 32), dtype=np.uint16)
            tifffile.imwrite(root / split / "target" / f"cell{i}.tif", clean)
            tifffile.imwrite(root / split / "source" / f"cell{i}.tiff", (clean // 2).astype(np.uint16))


def _nifti(path: Path, data: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, np.diag([1.0, 1.0, 2.0, 1.0])), str(path))


def _write_nifti_pairs(root: Path, rng: np.random.Generator, shape=(32, 32, 5)) -> None:
    for split, count in {"train": 2, "val": 1, "test": 2}.items():
        for i in range(count):
            name = f"{split}{i}.nii.gz"
            brain = np.zeros(shape, dtype=bool)
            brain[6:26, 5:27, :] = True
            target = (rng.random(shape) * 800 * brain).astype(np.float32)
            _nifti(root / split / "target" / name, target)
            _nifti(root / split / "source" / name, (target + rng.normal(0, 40, shape)).astype(np.float32))
            _nifti(root / split / "mask" / name, brain.astype(np.uint8))


def _run(root: Path, *extra: str) -> dict:
    code = main(["run", "--model", "unet", "--data", "paired-folder", "--data-root", str(root),
                 "--preset", "smoke", "--no-leaderboard", *extra])
    assert code == 0
    (metrics,) = Path(os.environ["RESULTS_DIR"]).glob("runs/paired-folder/unet/smoke/*/metrics.json")
    record = json.loads(metrics.read_text())
    assert record["status"] == "complete", record.get("reason")
    return record | {"folder": str(metrics.parent)}


def test_png_pairs_train_test_and_a_test_only_root_is_scored_by_evaluate(tmp_path, results_dir, capsys):
    rng = np.random.default_rng(0)
    _write_png_pairs(tmp_path / "data", rng)
    record = _run(tmp_path / "data")
    assert record["images"] == 2 and record["test"]["psnr"] > 0 and record["input"]["psnr"] > 15
    rows = (Path(record["folder"]) / "per_image.csv").read_text().splitlines()
    assert rows[1].startswith("img0,") and rows[2].startswith("img1,")

    test_only = tmp_path / "test_only"
    _write_png_pairs(test_only, rng, splits={"test": 3})
    checkpoint = next(Path(record["folder"]).glob("checkpoints/*.ckpt"))
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", "paired-folder",
                 "--data-root", str(test_only)]) == 0
    (evaluation,) = results_dir.glob("evaluations/paired-folder/unet/*/metrics.json")
    assert json.loads(evaluation.read_text())["images"] == 3
    capsys.readouterr()
    # Training on it is refused in one line, before anything is written.
    assert main(["run", "--model", "unet", "--data", "paired-folder", "--data-root", str(test_only),
                 "--preset", "smoke", "--no-leaderboard"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "only a test/ split" in err
    assert len(list(results_dir.glob("runs/paired-folder/unet/smoke/*"))) == 1


def test_sixteen_bit_two_channel_tiff_pairs_run_with_dataset_normalisation(tmp_path, results_dir):
    _write_tiff16_pairs(tmp_path, np.random.default_rng(1))
    record = _run(tmp_path, "--set", "data.normalize_scope=dataset")
    config = (Path(record["folder"]) / "config.yaml").read_text()
    assert "normalize_scope: dataset" in config
    assert record["efficiency"]["parameters"]  # a 2-channel U-Net was built and scored
    dm = PairedFolderDataModule(root=str(tmp_path), normalize_scope="dataset")
    dm.setup()
    assert dm.channels == 2 and dm.splits["train"].source[0].shape == (2, 32, 32)
    assert dm.normalization["bounds"]["source"][0][1] < dm.normalization["bounds"]["target"][0][1]


def test_nifti_pairs_with_masks_give_per_volume_metrics(tmp_path, results_dir):
    _write_nifti_pairs(tmp_path, np.random.default_rng(2))
    record = _run(tmp_path)
    assert record["volumes"] == 2 and set(record["test_per_volume"]) >= {"psnr", "ssim"}
    rows = (Path(record["folder"]) / "per_image.csv").read_text().splitlines()[1:]
    assert {r.split(",")[0] for r in rows} == {f"test{v}/z{k:03d}" for v in range(2) for k in range(5)}
    dm = PairedFolderDataModule(root=str(tmp_path), slice_axis="coronal")
    dm.setup()
    assert dm.volumetric and dm.splits["test"].mask is not None
    assert dm.splits["test"].ids[0] == "test0/z005"  # coronal: slices along Y; y < 5 are outside the mask
    assert dm.summary()["normalization"]["high_from"] == "inside the mask"


# --- normalisation ---------------------------------------------------------------------------------------
def test_normalisation_per_image_and_per_dataset_follow_the_documented_rule(tmp_path):
    rng = np.random.default_rng(3)
    images = {"train": rng.integers(0, 1000, (2, 16, 16)), "val": rng.integers(0, 500, (1, 16, 16)),
              "test": rng.integers(0, 4000, (1, 16, 16))}
    for split, stack in images.items():
        for role in ("source", "target"):
            (tmp_path / split / role).mkdir(parents=True)
            for i, image in enumerate(stack):
                iio.imwrite(tmp_path / split / role / f"{i}.png", image.astype(np.uint16))
    test = images["test"][0].astype(np.float64)

    per_image = PairedFolderDataModule(root=str(tmp_path), normalize="percentile", percentiles=(1.0, 99.0))
    per_image.setup()
    lo, hi = np.percentile(test, 1.0), np.percentile(test, 99.0)
    expected = np.clip((test - lo) / (hi - lo), 0, 1)
    assert np.allclose(per_image.splits["test"].target[0][0].numpy(), expected, atol=1e-6)

    per_dataset = PairedFolderDataModule(root=str(tmp_path), normalize="minmax", normalize_scope="dataset")
    per_dataset.setup()
    train = images["train"].astype(np.float64)
    lo, hi = train.min(), train.max()
    assert per_dataset.normalization["bounds"]["target"] == [[lo, hi]]
    assert per_dataset.normalization["statistics_from"] == "train split"
    expected = np.clip((test - lo) / (hi - lo), 0, 1)
    assert np.allclose(per_dataset.splits["test"].target[0][0].numpy(), expected, atol=1e-6)
    assert float(per_dataset.splits["val"].target[0].max()) < 0.6  # a dim image stays dim

    by_type = PairedFolderDataModule(root=str(tmp_path), normalize="dtype")
    by_type.setup()
    assert torch.allclose(by_type.splits["test"].target[0][0], torch.from_numpy(test / 65535.0).float())
    assert by_type.normalization == {"method": "dtype", "stored_dtypes": ["uint16"],
                                     "scope": "fixed: the stored type's range"}


# --- the real samples, laid out as paired folders (symlinks in tmp) --------------------------------------
def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


def _by_id(split) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {i: (s, t) for i, s, t in zip(split.ids, split.source, split.target)}


def test_real_fmd_and_nir_samples_read_as_the_dedicated_readers_read_them(shared_data, tmp_path):
    fmd_root, pf_fmd = tmp_path / "fmd", tmp_path / "pf_fmd"
    _link(fmd_root / "test_mix", shared_data / "fmd" / "test_mix")
    for path in sorted((shared_data / "fmd/test_mix/raw").iterdir()):
        _link(pf_fmd / "test/source" / path.name, path)
        _link(pf_fmd / "test/target" / path.name, shared_data / "fmd/test_mix/gt" / path.name)
    fmd = FMDDataModule(root=str(fmd_root), size=32, train_fields=1, val_fields=1, test_fields=1)
    fmd.setup()
    ours = PairedFolderDataModule(root=str(pf_fmd), normalize="dtype")
    ours.setup()
    theirs = _by_id(fmd.splits["test"])
    assert len(theirs) == len(ours.splits["test"]) == 8
    split = ours.splits["test"]
    for name, source, target in zip(split.ids, split.source, split.target):
        ref_source, ref_target = theirs[f"test_mix/raw/{name}"]
        assert torch.equal(source, ref_source) and torch.equal(target, ref_target), name

    pf_nir = tmp_path / "pf_nir"
    for side, role in (("A", "source"), ("B", "target")):
        for path in sorted((shared_data / "nir/icg_pairs/test" / side).iterdir()):
            _link(pf_nir / "test" / role / path.name, path)
    nir = NIRDataModule(root=str(shared_data / "nir/icg_pairs"), size=32, train_images=1, val_images=1,
                        test_images=1)
    nir.setup()
    ours = PairedFolderDataModule(root=str(pf_nir), normalize="dtype")
    ours.setup()
    theirs = _by_id(nir.splits["test"])
    assert sorted(theirs) == ours.splits["test"].ids == ["pair1", "pair2", "pair3"]
    split = ours.splits["test"]
    for name, source, target in zip(split.ids, split.source, split.target):
        assert torch.equal(source, theirs[name][0]) and torch.equal(target, theirs[name][1]), name


def test_real_16_bit_fluorescence_reads_as_the_fluorescence_reader(shared_data, tmp_path):
    hr = sorted((shared_data / "fluorescence/hr").iterdir())
    for path in hr:
        for role in ("source", "target"):
            _link(tmp_path / "pf/test" / role / path.name, path)
    fluo = FluorescenceDataModule(root=str(shared_data / "fluorescence/hr"), train_source="synthetic",
                                  size=32, crop_size=32, train_images=1, val_images=1, test_images=1)
    fluo.setup()
    ours = PairedFolderDataModule(root=str(tmp_path / "pf"), normalize="percentile", color="grey")
    ours.setup()
    theirs = {i: t for i, t in zip(fluo.splits["test"].ids, fluo.splits["test"].target)}
    assert len(theirs) == len(ours.splits["test"]) == 4
    assert ours.normalization["stored_dtypes"] == ["uint16"]
    for name, target in zip(ours.splits["test"].ids, ours.splits["test"].target):
        assert torch.equal(target, theirs[name]), name  # the fluorescence ids are the file names too


@pytest.mark.parametrize("contrast", ["T1", "T2"])
def test_real_mri_volumes_read_as_the_nifti_reader(shared_data, tmp_path, contrast):
    subject = shared_data / "mri/highfield/IXI002"
    name = f"IXI002_{contrast}.nii.gz"
    for role, folder in (("source", "3T"), ("target", "3T"), ("mask", "mask")):
        _link(tmp_path / "test" / role / name, subject / folder / name)
    ours = PairedFolderDataModule(root=str(tmp_path), percentiles=(0.0, 99.5))  # the MRI dataset's rule
    ours.setup()
    reference = nifti.load_subject(nifti.SubjectFiles("IXI002", subject / "3T" / name,
                                                      mask=subject / "mask" / name), contrast)
    fractions = reference.mask.reshape(reference.mask.shape[0], -1).mean(axis=1)
    expected = [int(k) for k in np.flatnonzero(fractions >= 0.01)]
    split = ours.splits["test"]
    assert split.ids == [f"IXI002_{contrast}/z{k:03d}" for k in expected]
    for k, target, mask in zip(expected, split.target, split.mask):
        assert np.array_equal(target[0].numpy(), reference.highfield[k])
        assert np.array_equal(mask[0].numpy(), reference.mask[k])


# --- bad folders: one line each ----------------------------------------------------------------------------
def _good(root: Path) -> Path:
    _write_png_pairs(root, np.random.default_rng(4), size=(16, 16))
    return root


def _bad_missing_partner(root):
    (_good(root) / "train/target/img0.png").unlink()
    return "train/source/img0.png", "no partner"


def _bad_size(root):
    iio.imwrite(_good(root) / "val/target/img0.png", np.zeros((16, 20), np.uint8))
    return "val/target/img0.png", "differs from its source"


def _bad_channels(root):
    iio.imwrite(_good(root) / "test/target/img1.png", np.zeros((16, 16, 3), np.uint8))
    return "test/target/img1.png", "3 channel(s), its source"


def _bad_channel_count_across_images(root):
    good = _good(root)
    for role in ("source", "target"):
        iio.imwrite(good / "test" / role / "img1.png", np.zeros((16, 16, 3), np.uint8))
    return "test/source/img1.png", "same channel count"


def _bad_missing_split(root):
    import shutil

    shutil.rmtree(_good(root) / "val")
    return "val", "split folder not found"


def _bad_no_splits(root):
    (root / "images").mkdir(parents=True)
    return str(root.name), "no split folder"


def _bad_missing_source_folder(root):
    import shutil

    shutil.rmtree(_good(root) / "test/source")
    return "test/source", "folder not found"


def _bad_mask_missing(root):
    good = _good(root)
    (good / "train/mask").mkdir()
    iio.imwrite(good / "train/mask/img0.png", np.ones((16, 16), np.uint8))
    return "train/source/img1.png", "no mask"


def _bad_mask_size(root):
    good = _good(root)
    (good / "test/mask").mkdir()
    for i in range(2):
        iio.imwrite(good / f"test/mask/img{i}.png", np.ones((8, 8), np.uint8))
    return "test/mask/img0.png", "mask size 8x8"


def _bad_corrupt_file(root):
    (_good(root) / "train/source/img2.png").write_bytes(b"not a png")
    return "train/source/img2.png", "cannot decode"


def _bad_unsupported_file(root):
    (_good(root) / "train/source/img3.jpg").write_bytes(b"\xff\xd8")
    return "train/source/img3.jpg", "unsupported file type"


def _bad_volume_with_image(root):
    good = _good(root)
    (good / "test/target/img0.png").unlink()
    _nifti(good / "test/target/img0.nii.gz", np.zeros((16, 16, 2), np.float32))
    return "test/target/img0.nii.gz", "paired with a 2-D image"


def _bad_duplicate_name(root):
    good = _good(root)
    tifffile.imwrite(good / "train/target/img0.tif", np.zeros((16, 16), np.uint8))
    return "train/target/img0", "two images share the name"


BAD = [_bad_missing_partner, _bad_size, _bad_channels, _bad_channel_count_across_images, _bad_missing_split,
       _bad_no_splits, _bad_missing_source_folder, _bad_mask_missing, _bad_mask_size, _bad_corrupt_file,
       _bad_unsupported_file, _bad_volume_with_image, _bad_duplicate_name]


@pytest.mark.parametrize("make", BAD, ids=[f.__name__.removeprefix("_bad_") for f in BAD])
def test_a_bad_folder_is_one_line_naming_the_file(make, tmp_path, capsys):
    root = tmp_path / "data"
    culprit, reason = make(root)
    assert main(["data", "check", "--data", "paired-folder", "--data-root", str(root)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.count("\n") == 0 and err.startswith("error: ")
    assert culprit in err and reason in err, err


def test_bad_options_are_one_line_naming_the_option(tmp_path, capsys):
    root = _good(tmp_path / "data")
    for setting, expected in (("data.percentiles=[99,1]", "data.percentiles"),
                              ("data.min_mask_fraction=1.5", "data.min_mask_fraction")):
        args = ["data", "check", "--data", "paired-folder", "--data-root", str(root), "--set", setting]
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and expected in err
    with pytest.raises(UsageError, match="no synthetic default"):
        PairedFolderDataModule()
    volumes = tmp_path / "volumes"
    _write_nifti_pairs(volumes, np.random.default_rng(5), shape=(8, 8, 2))
    with pytest.raises(UsageError, match="data.normalize=dtype"):
        PairedFolderDataModule(root=str(volumes), normalize="dtype").setup()
    with pytest.raises(DataError, match="differs from its source"):
        _nifti(volumes / "val/target/val0.nii.gz", np.zeros((8, 8, 3), np.float32))
        PairedFolderDataModule(root=str(volumes)).setup()
