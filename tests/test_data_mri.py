"""The `mri` dataset: batch format, the synthetic phantom and 64 mT forward model, the NIfTI readers."""
from __future__ import annotations

import gzip
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from conftest import configured_datamodule
from scipy import ndimage

from benchmark.errors import DataError, UsageError
from datamodules.forward.low_field import (
    kspace_window,
    remap_contrast,
    slab_margin,
    slab_weights,
    thick_slices,
)
from datamodules.forward.mri_signal import relative_signals
from datamodules.mri import MRIDataModule, split_subjects
from datamodules.readers.nifti import load_lowfield_only, read_volume, to_axial
from datamodules.synthetic.brain_phantom import brain_phantom

SMALL = {"size": 32, "subjects": [2, 1, 1], "slices_per_subject": 3}
# Isolate one effect of the 64 mT model at a time: everything else off.
NO_NOISE = {"snr": 1e6, "snr_highfield": 0.0, "bias": 0.0}
CONTRAST_ONLY = {**NO_NOISE, "inplane_factor": 1.0, "slice_factor": 1}


def subject(split: str = "test", index: int = 0, **options):
    dm = MRIDataModule(subjects=[1, 1, 1], slices_per_subject=8, **options)
    return dm, *dm.synthetic_subject(split, index)


def pure(phantom, tissue: str, factor: int) -> np.ndarray:
    """Voxels of the kept slices whose whole 64 mT slab is (almost) only ``tissue``, eroded in-plane."""
    frac, width = phantom.fraction(tissue), 2 * slab_margin(factor) + 1
    slab = np.min(np.stack([frac[i:i + len(frac) - width + 1] for i in range(width)]), axis=0)
    return ndimage.binary_erosion(slab > 0.98, structure=np.ones((1, 3, 3)))


# --- batch format -------------------------------------------------------------------------------------------
def test_batch_format_and_declarations():
    dm = MRIDataModule(**SMALL)
    declared = (dm.name, dm.task, dm.volumetric, dm.masked_metrics, dm.channels)
    assert declared == ("mri", "translate", True, True, 1)
    for loader in (dm.train_dataloader(), dm.test_dataloader()):
        batch = next(iter(loader))
        assert {"source", "target", "id", "mask"} <= set(batch)
        for key in ("source", "target"):
            assert batch[key].dtype == torch.float32 and batch[key].shape[1:] == (1, 32, 32)
            assert 0.0 <= float(batch[key].min()) and float(batch[key].max()) <= 1.0
        assert batch["mask"].dtype == torch.bool and batch["mask"].shape == batch["source"].shape
        assert batch["mask"].any()
        assert all(len(i.split("/")) == 2 and i.split("/")[1].startswith("z") for i in batch["id"])


def test_synthetic_split_is_subject_level():
    dm = MRIDataModule(**SMALL)
    dm.setup()
    subjects = {name: {i.split("/")[0] for i in split.ids} for name, split in dm.splits.items()}
    assert [len(subjects[s]) for s in ("train", "val", "test")] == [2, 1, 1]
    assert not (subjects["train"] & subjects["val"] or subjects["train"] & subjects["test"]
                or subjects["val"] & subjects["test"])
    assert len(dm.splits["train"]) == 6


# --- the phantom --------------------------------------------------------------------------------------------
def test_phantom_is_deterministic_varied_and_partial_volume():
    start = time.process_time()
    a = brain_phantom(np.random.default_rng(3), size=96, n_slices=40)
    assert time.process_time() - start < 2.0  # typically ~0.2 s
    b = brain_phantom(np.random.default_rng(3), size=96, n_slices=40)
    c = brain_phantom(np.random.default_rng(4), size=96, n_slices=40)
    assert np.array_equal(a.fractions, b.fractions) and np.array_equal(a.texture, b.texture)
    assert a.anatomy != c.anatomy
    assert abs(a.fraction("csf")[a.brain_mask].mean() - c.fraction("csf")[c.brain_mask].mean()) > 1e-3
    sums = a.fractions.sum(axis=0)
    assert np.allclose(sums, 1.0, atol=1e-5) and a.fractions.min() >= 0.0
    gm = a.fraction("gm")
    assert ((gm > 0.1) & (gm < 0.9)).mean() > 0.01  # soft tissue boundaries, not hard labels
    for tissue in ("fat", "skull", "csf", "gm", "wm"):
        assert a.fraction(tissue).sum() > 100, tissue


def test_datamodule_is_deterministic_from_the_data_seed():
    def arrays(**seeds: int | None) -> list[torch.Tensor]:
        dm = MRIDataModule(**seeds, **SMALL)
        dm.setup()
        return [*dm.splits["test"].source, *dm.splits["test"].target]

    first = arrays(seed=0)
    assert all(torch.equal(x, y) for x, y in zip(first, arrays(seed=0), strict=True))
    # The training seed alone keeps the data (one test set across seeds); data_seed or null changes it.
    assert all(torch.equal(x, y) for x, y in zip(first, arrays(seed=3), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(first, arrays(seed=0, data_seed=1), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(first, arrays(seed=1, data_seed=None), strict=True))


# --- the 64 mT forward model: each documented difference on its own -----------------------------------------
def test_lowfield_has_lower_snr():
    dm, volume, phantom = subject()
    factor = dm.acquisition.slice_factor
    centre = slice(slab_margin(factor), slab_margin(factor) + volume.source.shape[0])
    background = ndimage.binary_erosion(phantom.fraction("background")[centre] > 0.999, iterations=3)
    wm_low, wm_high = pure(phantom, "wm", factor), pure(phantom, "wm", 1)[centre]

    def snr(image: np.ndarray, wm: np.ndarray) -> float:  # Rayleigh background: mean = sigma sqrt(pi / 2)
        return float(image[wm].mean() / (image[background].mean() / np.sqrt(np.pi / 2)))

    snr_low, snr_high = snr(volume.source, wm_low), snr(volume.target, wm_high)
    assert 0.6 * dm.acquisition.snr < snr_low < 1.6 * dm.acquisition.snr
    assert snr_high > 2.5 * snr_low

    def wm_spread(image: np.ndarray, wm: np.ndarray) -> float:
        return float(image[wm].std() / image[wm].mean())

    assert wm_spread(volume.source, wm_low) > 2 * wm_spread(volume.target, wm_high)


def test_lowfield_has_lower_resolution():
    _, volume, _ = subject(anatomy="phantom")  # sharp tissue boundaries: the k-space cut shows clearly
    # Spectra of the brain only (a smooth taper inside the mask: the clipped scalp fat and the mask edge would
    # add their own high frequencies). The 64 mT k-space stops at 0.5 / 1.6 = 0.31 cycles per pixel.
    taper = np.stack([ndimage.gaussian_filter(ndimage.binary_erosion(m, iterations=3).astype(float), 2)
                      for m in volume.mask])
    freq = np.abs(np.fft.fftfreq(volume.source.shape[-1]))
    beyond = np.maximum(freq[:, None], freq[None, :]) > 0.32

    def high_frequency_share(image: np.ndarray) -> float:
        mean = (image * taper).sum(axis=(1, 2), keepdims=True) / taper.sum(axis=(1, 2), keepdims=True)
        power = np.abs(np.fft.fft2((image - mean) * taper)) ** 2
        return float(power[:, beyond].sum() / power.sum())

    assert high_frequency_share(volume.source) < 0.05 * high_frequency_share(volume.target)
    # Thick slices: without in-plane blur and noise, a 64 mT slice matches the average of the 3 T slices of
    # its slab better than the 3 T slice at its centre.
    dm, volume, _ = subject(inplane_factor=1.0, anatomy="phantom", **NO_NOISE)
    weights = slab_weights(dm.acquisition.slice_factor)
    m = len(weights) // 2
    assert m >= 1
    for k in range(m, volume.source.shape[0] - m):
        mask = volume.mask[k]
        slab_mean = np.tensordot(weights, volume.target[k - m:k + m + 1], axes=1)
        thin = np.corrcoef(volume.source[k][mask], volume.target[k][mask])[0, 1]
        slab = np.corrcoef(volume.source[k][mask], slab_mean[mask])[0, 1]
        assert slab > thin + 0.01


@pytest.mark.parametrize("contrast", ["T1", "T2"])
def test_lowfield_contrast_follows_relaxation_times(contrast: str):
    # The phantom has voxels of pure GM; the template's GM map, an average of 152 brains, rarely reaches 1.
    _, volume, phantom = subject(contrast=contrast, anatomy="phantom", **CONTRAST_ONLY)
    wm, gm, csf = (pure(phantom, t, 1) for t in ("wm", "gm", "csf"))

    def ratio(image: np.ndarray, top: np.ndarray, bottom: np.ndarray) -> float:
        return float(image[top].mean() / image[bottom].mean())

    bright, dark = (wm, gm) if contrast == "T1" else (gm, wm)  # WM > GM in T1w, GM > WM in T2w
    low, high = ratio(volume.source, bright, dark), ratio(volume.target, bright, dark)
    assert 1.0 < low < high  # less GM/WM contrast at 64 mT: T1 (and T2) ratios of GM/WM shrink at low field
    expected_low = relative_signals("64mT", contrast)["gm"] ** (-1 if contrast == "T1" else 1)
    expected_high = relative_signals("3T", contrast)["gm"] ** (-1 if contrast == "T1" else 1)
    assert low == pytest.approx(expected_low, rel=0.05) and high == pytest.approx(expected_high, rel=0.05)
    csf_low, csf_high = ratio(volume.source, csf, wm), ratio(volume.target, csf, wm)
    # CSF against WM moves the way the two protocols' signals say (T1w: the 3 T MPRAGE nearly nulls CSF).
    expected = relative_signals("64mT", contrast)["csf"] < relative_signals("3T", contrast)["csf"]
    assert (csf_low < csf_high) == expected


def test_forward_building_blocks():
    volume = np.arange(5, dtype=np.float32)[:, None, None] ** 2 * np.ones((5, 4, 4), np.float32)
    assert np.allclose(thick_slices(volume, 3)[:, 0, 0], [5 / 3, 14 / 3, 29 / 3])
    assert np.allclose(thick_slices(volume, 2)[:, 0, 0], [1.5, 4.5, 9.5])  # centred: 0.25, 0.5, 0.25
    assert np.allclose(slab_weights(2), [0.25, 0.5, 0.25]) and slab_margin(1) == 0
    assert thick_slices(volume, 2, valid=False).shape == volume.shape
    window = kspace_window(64, 64, 2.0)
    kept = np.abs(np.fft.fftfreq(64)) <= 0.25
    assert window[0, 0] == 1.0 and np.all(window[~kept, :] == 0) and np.all(window[:, ~kept] == 0)
    # Simulate mode: three intensity levels (CSF, GM, WM of a 3 T T1w) move to their 64 mT levels.
    high = relative_signals("3T", "T1")
    levels = np.array([high["csf"], high["gm"], high["wm"]], np.float32)
    image = np.repeat(levels, 1000).reshape(3, 10, 100)
    out, wm_level = remap_contrast(image, np.ones_like(image, bool), "T1")
    low = relative_signals("64mT", "T1")
    assert np.allclose(out[:, 0, 0], [low["csf"], low["gm"], low["wm"]], rtol=1e-3)
    assert wm_level == pytest.approx(low["wm"], rel=1e-3)


# --- options ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, valid", [
    ("contrast", "PD", "'T1', 'T2'"), ("mode", "both", "'auto', 'paired', 'simulate'"),
    ("size", 100, "multiple of 16"), ("subjects", [3, 0, 1], "a list of 3 values"),
    ("snr", -1.0, "a number >= 0.5"), ("slice_factor", 0, "an integer in [1, 16]"),
    ("slices_per_subject", 0, "an integer > 0"), ("train_source", "both", "'real', 'synthetic'"),
])
def test_bad_options_are_usage_errors(option: str, value, valid: str):
    with pytest.raises(UsageError, match=rf"data\.{option}") as info:
        configured_datamodule("mri", **{option: value})
    assert valid in str(info.value)


def test_real_modes_need_a_root():
    with pytest.raises(UsageError, match=r"data\.mode"):
        MRIDataModule(mode="paired")


# --- real data: NIfTI folders written here ------------------------------------------------------------------
AFFINE = np.diag([2.0, 2.0, 3.0, 1.0])


def head(shape=(20, 24, 12), scale: float = 100.0) -> np.ndarray:
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    r = np.sqrt(x ** 2 + y ** 2 + z ** 2)
    return (scale * (r < 0.8) * (1.0 + 0.5 * (r < 0.4))).astype(np.int16)


def save(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def paired_folder(root: Path, subjects=("s1", "s2", "s3"), masks: bool = True) -> Path:
    for name in subjects:
        save(root / name / "3T" / f"{name}_T1.nii.gz", head())
        save(root / name / "64mT" / f"{name}_T1.nii.gz", head(scale=60.0) + np.int16(3))
        if masks:
            save(root / name / "mask" / f"{name}_T1.nii.gz", (head() > 0).astype(np.uint8))
    return root


@pytest.mark.parametrize("masks", [True, False])
def test_paired_folder_loads(tmp_path: Path, masks: bool):
    dm = MRIDataModule(root=str(paired_folder(tmp_path, masks=masks)), size=32)
    dm.setup()
    assert dm.resolved_mode == "paired"
    ids = {split: {i.split("/")[0] for i in s.ids} for split, s in dm.splits.items()}
    assert all(len(v) == 1 for v in ids.values()) and set.union(*ids.values()) == {"s1", "s2", "s3"}
    batch = next(iter(dm.test_dataloader()))
    assert batch["source"].shape[1:] == (1, 32, 32) and batch["mask"].dtype == torch.bool
    assert 0.0 <= float(batch["source"].min()) and float(batch["target"].max()) == pytest.approx(1.0)


def _expect(root: Path, *fragments: str) -> None:
    with pytest.raises(DataError) as info:
        MRIDataModule(root=str(root), size=32).setup()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_bad_pairs_raise_data_errors_naming_the_subject(tmp_path: Path):
    root = paired_folder(tmp_path / "shape")
    save(root / "s2" / "64mT" / "s2_T1.nii.gz", head(shape=(20, 24, 11)))
    _expect(root, "subject s2", "64mT and 3T T1 volumes differ in shape", "(20, 24, 11) vs (20, 24, 12)")

    root = paired_folder(tmp_path / "affine")
    save(root / "s3" / "64mT" / "s3_T1.nii.gz", head(), affine=np.diag([2.0, 2.0, 4.0, 1.0]))
    _expect(root, "subject s3", "affine")

    root = paired_folder(tmp_path / "partner")
    (root / "s1" / "64mT" / "s1_T1.nii.gz").unlink()
    _expect(root, "subject s1", "no 64mT partner")


def test_unreadable_files_and_folders_raise_data_errors(tmp_path: Path):
    root = paired_folder(tmp_path / "garbage")
    (root / "s1" / "3T" / "s1_T1.nii.gz").write_bytes(b"this is not a NIfTI file")
    _expect(root, "s1_T1.nii.gz", "cannot read")

    root = paired_folder(tmp_path / "truncated")
    path = root / "s2" / "64mT" / "s2_T1.nii.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) // 2])[:-20])
    _expect(root, "s2_T1.nii.gz", "cannot read")

    (tmp_path / "empty").mkdir()
    _expect(tmp_path / "empty", "no NIfTI volumes")
    _expect(tmp_path / "missing", "does not exist")
    _expect(paired_folder(tmp_path / "two", subjects=("a", "b")), "at least 3 subjects", "found 2")


def test_subject_split_of_real_names():
    names = [f"sub{i:02d}" for i in range(10)]
    split = split_subjects(names, seed=0)
    assert split == split_subjects(list(reversed(names)), seed=0)  # depends on names, not listing order
    counts = {s: sum(v == s for v in split.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 7, "val": 1, "test": 2}
    assert set(split_subjects(names[:3], seed=5).values()) == {"train", "val", "test"}


# --- real data: the shared samples --------------------------------------------------------------------------
def test_ixi_volumes_in_simulate_mode(shared_data: Path, tmp_path: Path):
    ixi = shared_data / "mri" / "highfield" / "IXI002"
    data, affine = read_volume(ixi / "3T" / "IXI002_T1.nii.gz")
    assert data.shape == (150, 256, 256) and nib.aff2axcodes(affine) == ("R", "A", "S")
    assert to_axial(data).shape == (256, 256, 150)
    for name in ("s1", "s2", "s3"):  # three links to the one sample subject: enough for a subject-level split
        for folder in ("3T", "mask"):
            link = tmp_path / name / folder / f"{name}_T2.nii.gz"
            link.parent.mkdir(parents=True)
            link.symlink_to(ixi / folder / "IXI002_T2.nii.gz")
    dm = MRIDataModule(root=str(tmp_path), contrast="T2", slices_per_subject=6)
    dm.setup()
    assert dm.resolved_mode == "simulate" and len(dm.splits["train"]) == 6
    batch = next(iter(dm.test_dataloader()))
    assert batch["source"].shape == (6, 1, 96, 96) and batch["mask"].any()
    source, target, mask = batch["source"], batch["target"], batch["mask"]
    assert not torch.equal(source, target)
    assert float(((source - target)[mask] ** 2).mean()) > 1e-3  # a real degradation, not a copy


def test_real_lowfield_scan_loads_for_inference(shared_data: Path):
    path = shared_data / "mri" / "lowfield_only" / "Test01" / "64mT" / "Test01_T1.nii.gz"
    data, affine = read_volume(path)
    assert data.shape == (224, 224, 160) and nib.aff2axcodes(affine) == ("R", "A", "S")
    (scan,) = load_lowfield_only(shared_data / "mri" / "lowfield_only")
    assert scan.subject == "Test01" and scan.slices.shape == (160, 224, 224)
    assert scan.slices.min() >= 0.0 and scan.slices.max() == pytest.approx(1.0) and scan.mask.any()
    (inputs,) = MRIDataModule(size=64).lowfield_inputs(path)
    assert inputs["source"].dtype == torch.float32 and inputs["source"].shape[1:] == (1, 64, 64)
    assert inputs["mask"].shape == inputs["source"].shape and inputs["id"][0].startswith("Test01/z")


def test_skull_strip_images_only_the_intracranial_tissue():
    _, stripped, phantom = subject()
    _, head, with_skull = subject(skull_strip=False)
    assert phantom.fraction("fat").max() == 0 and phantom.fraction("skull").max() == 0
    assert with_skull.fraction("skull").max() > 0.5
    outside = ~stripped.mask
    assert stripped.target[outside].mean() < 0.5 * head.target[outside].mean()  # no bright scalp ring


def test_t1_variation_changes_each_subjects_contrast_at_both_fields_not_its_anatomy():
    dm, same, phantom = subject(anatomy="phantom", **CONTRAST_ONLY)
    assert dm.t1_scale("test", 0) == {"csf": 1.0, "gm": 1.0, "wm": 1.0}  # the default adds no variation
    varied_dm, varied, varied_phantom = subject(anatomy="phantom", t1_variation=0.1, **CONTRAST_ONLY)
    assert np.array_equal(phantom.fractions, varied_phantom.fractions)
    scale = varied_dm.t1_scale("test", 0)
    assert scale == varied_dm.t1_scale("test", 0) != varied_dm.t1_scale("test", 1)
    wm, gm = pure(phantom, "wm", 1), pure(phantom, "gm", 1)
    # A longer GM T1 relative to WM's darkens GM against WM in both T1w images (and a shorter one brightens it).
    longer = scale["gm"] > scale["wm"]
    for before, after in ((same.source, varied.source), (same.target, varied.target)):
        ratio_before, ratio_after = before[gm].mean() / before[wm].mean(), after[gm].mean() / after[wm].mean()
        assert abs(ratio_after / ratio_before - 1) > 0.01 and (ratio_after < ratio_before) == longer
