"""Volume-level protocols: true volume metrics, the ULF-EnC challenge score (hand-computed), morphometry."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from benchmark.evaluation import Evaluator, summarise
from benchmark.morphometry import _mixture_density, morphometry, pure_levels, segment, three_levels
from benchmark.volume_protocols import ulf_enc, ulf_enc_score, volume_metrics


def binary_volume(shape=(9, 12, 12), seed=0) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) > 0.5).astype(np.float64)


# --- ULF-EnC, against values worked out by hand ---------------------------------------------------------------
def test_ulf_enc_of_a_perfect_prediction_is_the_script_ceiling():
    ref = binary_volume()
    scores = ulf_enc(3.0 * ref + 2.0, ref, np.ones(ref.shape, bool))  # min-max normalisation removes a*x + b
    # Equal volumes: SSIM map 1, PSNR map 10 log10(1 / 1e-8) = 80 dB, MAE 0, NMSE 0;
    # score = 0.7 + 0.1 * 80 / 32 + 0.1 + 0.1 = 1.15.
    assert scores["ssim"] == pytest.approx(1.0, abs=1e-9) and scores["psnr"] == pytest.approx(80.0, abs=1e-3)
    assert scores["mae"] == 0.0 and scores["nmse"] == 0.0 and scores["score"] == pytest.approx(1.15, abs=1e-5)


def test_ulf_enc_of_one_wrong_voxel_by_hand():
    ref = binary_volume()
    pred = ref.copy()
    z, y, x = 4, 6, 6
    pred[z, y, x] = 1.0 - pred[z, y, x]  # one voxel flipped: min and max stay 0 and 1
    mask = np.zeros(ref.shape, bool)
    mask[:, 2:10, 2:10] = True  # 9 x 8 x 8 = 576 voxels, the flipped one inside
    n = 576
    scores = ulf_enc(pred, ref, mask)
    # PSNR: n - 1 voxels at 80 dB and one at 10 log10(1 / (1 + 1e-8)), averaged over the mask.
    assert scores["psnr"] == pytest.approx(((n - 1) * 80.0 + 10 * math.log10(1 / (1 + 1e-8))) / n, abs=1e-3)
    assert scores["mae"] == pytest.approx(1.0 / n)
    # NMSE: mean over the mask of (error^2 / mean(ref[mask]^2)); ref is binary so mean(ref^2) = mean(ref).
    assert scores["nmse"] == pytest.approx((1.0 / n) / ref[mask].mean())
    # SSIM: 1 wherever the 7^3 window misses the flipped voxel (the masked volumes are equal there).
    assert scores["ssim"] < 1.0
    assert scores["score"] == pytest.approx(ulf_enc_score(scores["ssim"], scores["psnr"], scores["mae"],
                                                          scores["nmse"]))


def test_ulf_enc_caps_nmse_and_needs_seven_slices():
    ref = binary_volume()
    assert ulf_enc(1.0 - ref, ref, np.ones(ref.shape, bool))["nmse"] == 1.0  # capped, as the script does
    thin = binary_volume((5, 12, 12))
    scores = ulf_enc(thin, thin, np.ones(thin.shape, bool))
    assert math.isnan(scores["ssim"]) and scores["mae"] == 0.0


# --- true volume metrics ---------------------------------------------------------------------------------------
def test_volume_psnr_is_the_psnr_of_the_volume_not_a_mean_of_slices():
    target = np.zeros((2, 16, 16), np.float32)
    image = target.copy()
    image[0] += 0.1  # slice 0: MSE 0.01 (20 dB); slice 1 perfect (capped at 100 dB)
    values = volume_metrics(image, target, np.ones(target.shape, bool))
    assert values["psnr"] == pytest.approx(10 * math.log10(1 / 0.005), abs=1e-4)  # 23.01 dB, not (20 + 100) / 2
    assert values["mae"] == pytest.approx(0.05) and values["rmse"] == pytest.approx(math.sqrt(0.005))


# --- the evaluator's volume mechanism ------------------------------------------------------------------------
def batch_of(volume: str, slices: range, target: torch.Tensor, offset: float) -> tuple[torch.Tensor, dict]:
    ids = [f"{volume}/z{k:03d}" for k in slices]
    tgt = target[list(slices)]
    return (tgt + offset).clamp(0, 1), {"source": (tgt * 0.5), "target": tgt, "id": ids,
                                        "mask": torch.ones_like(tgt, dtype=torch.bool)}


def test_evaluator_scores_whole_volumes_gathered_across_batches():
    target = torch.rand(8, 1, 16, 16) * 0.5
    evaluator = Evaluator(protocols={"volume": {}, "ulf_enc": {}})
    rows = []
    for part, offset in ((range(3), 0.1), (range(3, 8), 0.0)):  # one volume split over two batches
        prediction, batch = batch_of("s1", part, target, offset)
        rows += evaluator.rows(prediction, batch)
    summary = summarise(rows, evaluator.metrics, volumetric=True, volumes=evaluator.volume_summary())
    expected = 10 * math.log10(1 / (0.01 * 3 / 8))  # MSE of the whole volume: 3 of 8 slices off by 0.1
    assert summary["test_per_volume"]["psnr"] == pytest.approx(expected, abs=1e-3)
    ulf = summary["protocols"]["ulf_enc"]
    assert ulf["volumes"] == 1 and set(ulf["test"]) == {"ssim", "psnr", "mae", "nmse", "score"}
    assert ulf["better"]["score"] == "higher" and ulf["test"]["score"] > ulf["input"]["score"] - 1.0
    assert evaluator.volume_rows[0]["slices"] == 8


# --- morphometry ------------------------------------------------------------------------------------------------
def three_tissue_volume() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A (6, 24, 24) T1-like volume: CSF core, GM shell, WM outside it, inside a square mask."""
    _, y, x = np.mgrid[0:6, 0:24, 0:24]
    r = np.hypot(y - 11.5, x - 11.5)
    truth = {"csf": r < 4, "gm": (r >= 4) & (r < 7), "wm": (r >= 7) & (r < 11)}
    image = 0.2 * truth["csf"] + 0.5 * truth["gm"] + 0.8 * truth["wm"]
    mask = r < 11
    noise = np.random.default_rng(0).normal(0, 0.02, image.shape)
    return (image + noise) * mask, mask, truth


def test_segmentation_recovers_the_tissues_and_morphometry_scores_changes():
    image, mask, truth = three_tissue_volume()
    labels = segment(image, mask, "T1")
    assert all(np.array_equal(labels[t], truth[t]) for t in truth)
    t2 = segment(1.0 - image, mask, "T2")  # reversed contrast: the same tissues
    assert all(np.array_equal(t2[t], truth[t]) for t in truth)
    same = morphometry(image, image, mask)
    assert same["dice_gm"] == 1.0 and same["volume_error_wm"] == 0.0 and same["regional_gm_error"] == 0.0
    grown = image.copy()
    ring = np.hypot(*np.mgrid[0:24, 0:24] - 11.5)
    grown[:, (ring >= 7) & (ring < 8)] = 0.5  # GM thickened into WM by one pixel
    changed = morphometry(grown, image, mask)
    assert changed["dice_gm"] < 1.0 and changed["volume_error_gm"] > 10.0 and changed["dice_csf"] == 1.0


def test_pure_levels_see_through_partial_volume():
    # Stripes of WM | GM | CSF | GM | WM imaged with 4x coarser voxels: a third of the CSF voxels are mixtures.
    fine = np.full((4, 96, 96), 0.8)
    columns = np.arange(96) % 24
    fine[..., (columns >= 4) & (columns < 20)] = 0.5  # GM bands 16 px wide
    fine[..., (columns >= 10) & (columns < 16)] = 0.2  # CSF 6 px wide inside them
    coarse = fine.reshape(4, 24, 4, 24, 4).mean(axis=(2, 4))
    values = (coarse + np.random.default_rng(1).normal(0, 0.01, coarse.shape)).ravel()
    levels = pure_levels(values)
    assert np.allclose(levels, [0.2, 0.5, 0.8], atol=0.04), levels
    assert three_levels(values)[0] > 0.25  # clustering pulls the CSF centre towards the CSF/GM mixture


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("values", [np.full(500, 0.5), np.repeat([0.1, 0.9], 300), np.linspace(0, 1, 7)])
def test_pure_levels_of_degenerate_volumes_are_finite_and_silent(values: np.ndarray):
    levels = pure_levels(values)
    assert np.all(np.isfinite(levels)) and np.all(np.diff(levels) >= 0)


def test_segmentation_of_the_synthetic_3t_target_agrees_with_the_true_tissue_maps():
    from datamodules.forward.low_field import slab_margin
    from datamodules.mri import MRIDataModule

    dm = MRIDataModule(subjects=[1, 1, 4])  # the quick preset's grid (96), slices (24) and test subjects, T1
    for index in range(4):
        volume, phantom = dm.synthetic_subject("test", index)
        start = slab_margin(dm.acquisition.slice_factor)
        kept = slice(start, start + len(volume.indices))
        truth = np.stack([phantom.fraction(t)[kept] for t in ("csf", "gm", "wm")]).argmax(axis=0)
        labels = segment(volume.target, volume.mask, "T1")
        for k, tissue in enumerate(("csf", "gm", "wm")):
            overlap = 2 * (labels[tissue] & (truth == k) & volume.mask).sum() / (
                labels[tissue].sum() + ((truth == k) & volume.mask).sum())
            if tissue != "csf":
                assert overlap >= 0.85, (index, tissue, overlap)


def test_mixture_density_at_a_far_off_trial_level_is_zero_without_an_overflow_warning():
    # The optimiser may try a level 1e160 away: its density is 0, and nothing warns.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        density = _mixture_density(np.array([0.2, 0.5, 0.9]), np.array([0.2, 0.5, 1e160]), 1e-3)
    assert np.all(np.isfinite(density)) and np.all(density[2] == 0) and density[0].max() > 0
