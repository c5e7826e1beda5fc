"""Metrics against scikit-image on real images, and their edge cases, with two-sided tolerances."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.io import imread
from skimage.metrics import (
    mean_squared_error,
    normalized_root_mse,
    peak_signal_noise_ratio,
    structural_similarity,
)

from benchmark.evaluation import Evaluator, summarise
from benchmark.metrics import METRICS, mae, nrmse, psnr, rmse, ssim


def _pairs(shared_data):
    folder = shared_data / "fmd" / "test_mix"
    names = sorted(p.name for p in (folder / "raw").glob("*.png"))
    assert names, "no FMD test_mix pairs found"
    for name in names:
        raw = imread(folder / "raw" / name).astype(np.float64) / 255
        gt = imread(folder / "gt" / name).astype(np.float64) / 255
        yield name, raw, gt


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).float()[None, None]


def test_full_reference_metrics_agree_with_scikit_image(shared_data):
    for name, raw, gt in _pairs(shared_data):
        pred, target = _t(raw), _t(gt)
        assert float(psnr(pred, target)) == pytest.approx(peak_signal_noise_ratio(gt, raw, data_range=1), abs=1e-3), name
        ref_ssim = structural_similarity(gt, raw, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                         data_range=1)
        assert float(ssim(pred, target)) == pytest.approx(ref_ssim, abs=1e-4), name
        assert float(nrmse(pred, target)) == pytest.approx(normalized_root_mse(gt, raw), rel=1e-4), name
        assert float(rmse(pred, target)) == pytest.approx(math.sqrt(mean_squared_error(gt, raw)), rel=1e-4), name
        assert float(mae(pred, target)) == pytest.approx(np.abs(gt - raw).mean(), rel=1e-4), name


def test_masked_metrics_use_only_the_mask():
    target = torch.zeros(1, 1, 32, 32)
    pred = torch.zeros(1, 1, 32, 32)
    pred[..., :16] = 0.5  # wrong only in the left half
    mask = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    mask[..., 16:] = True
    assert float(mae(pred, target, mask)) == 0.0
    assert float(mae(pred, target)) == pytest.approx(0.25)
    assert float(psnr(pred, target, ~mask)) == pytest.approx(10 * math.log10(1 / 0.25), abs=1e-4)
    # SSIM: mask cropped like the map; right half identical -> 1 there.
    right = torch.zeros_like(mask)
    right[..., 24:] = True
    assert float(ssim(pred, target, right)) == pytest.approx(1.0, abs=1e-6)


def test_degenerate_images_never_divide_by_zero():
    zero = torch.zeros(2, 1, 16, 16)
    assert float(psnr(zero, zero)[0]) == pytest.approx(100.0)
    assert math.isnan(float(nrmse(zero + 0.1, zero)[0]))
    constant = torch.full((1, 1, 16, 16), 0.5)
    assert float(ssim(constant, constant)) == pytest.approx(1.0)
    empty = torch.zeros(1, 1, 16, 16, dtype=torch.bool)
    assert math.isnan(float(psnr(constant, zero[:1], empty)))


def test_every_metric_declares_its_direction():
    assert {m.better for m in METRICS.values()} <= {"higher", "lower"}
    assert METRICS["psnr"].better == "higher" and METRICS["mae"].better == "lower"


def test_evaluator_rows_score_prediction_and_input_and_summary_per_volume():
    target = torch.rand(4, 1, 24, 24, generator=torch.Generator().manual_seed(0))
    batch = {"source": (target + 0.1).clamp(0, 1), "target": target, "id": ["a/0", "a/1", "b/0", "b/1"],
             "mask": torch.ones(4, 1, 24, 24, dtype=torch.bool)}
    rows = Evaluator().rows(target, batch)
    assert [r["id"] for r in rows] == batch["id"]
    assert all(r["psnr"] == pytest.approx(100.0) and r["input_psnr"] < 30 for r in rows)
    rows[0]["psnr"], rows[1]["psnr"] = 10.0, 20.0  # volume a: 15; volume b: 100
    summary = summarise(rows, ["psnr"], volumetric=True)
    assert summary["test_per_volume"]["psnr"] == pytest.approx((15.0 + 100.0) / 2)
    assert summary["test"]["psnr"] == pytest.approx((10 + 20 + 100 + 100) / 4)
    assert summary["volumes"] == 2 and summary["images"] == 4
