"""Volume-level scoring protocols: metrics of a whole volume, not means of its slices.

Why: MRI is reported per volume (fastMRI computes a volume's PSNR from the volume's MSE, not a mean of slice
PSNRs), and the 64 mT -> 3 T challenge of the LoHiResGAN authors (ULF-EnC) scores whole volumes after a
per-volume normalisation that no slice can know about. A datamodule names the protocols that apply to it
(``volume_protocols``: name -> options); the `Evaluator` gathers each test volume's slices and runs every
protocol on the prediction and on the untouched input, each against the target.

A protocol maps (image, target, mask), each (Z, H, W) float arrays in [0, 1] (mask bool, the batch mask or
all True), to named values; ``better`` says which direction wins for each.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from skimage.metrics import structural_similarity

from benchmark import morphometry
from benchmark.metrics import MSE_FLOOR, SSIM_WINDOW, ssim_map


@dataclass(frozen=True)
class VolumeProtocol:
    name: str
    description: str
    better: dict[str, str]
    score: Callable[..., dict[str, float]]  # (image, target, mask, **options) -> {metric: value}
    options: dict[str, Any] = field(default_factory=dict)

    def __call__(self, image: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        return self.score(image, target, mask, **self.options)


# --- true volume metrics (this suite's definitions, pooled over the volume's masked voxels) --------------
def volume_metrics(image: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM, NRMSE, RMSE and MAE of one volume, each pooled over all its masked voxels.

    PSNR = 10 log10(1 / MSE) with the MSE over every masked voxel of the volume (data range 1, MSE floored as
    in `benchmark.metrics`); SSIM is the mean of the slices' SSIM maps (`benchmark.metrics.ssim_map`, the
    suite's 2-D SSIM) over every masked voxel of their valid regions; NRMSE = RMSE / RMS(target).
    """
    count = int(mask.sum())
    if count == 0:
        return dict.fromkeys(("psnr", "ssim", "nrmse", "rmse", "mae"), float("nan"))
    error = (image.astype(np.float64) - target.astype(np.float64))[mask]
    mse = float(np.mean(error ** 2))
    energy = float(np.mean(target.astype(np.float64)[mask] ** 2))
    border = SSIM_WINDOW // 2
    ssim_values = ssim_map(torch.from_numpy(image[:, None].astype(np.float32)),
                           torch.from_numpy(target[:, None].astype(np.float32)))[:, 0].numpy()
    inner = mask[:, border:-border, border:-border]
    return {"psnr": float(10 * np.log10(1.0 / max(mse, MSE_FLOOR))),
            "ssim": float(ssim_values[inner].mean()) if inner.any() else float("nan"),
            "nrmse": float(np.sqrt(mse / energy)) if energy > 0 else float("nan"),
            "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(error)))}


# --- the ULF-EnC challenge protocol ------------------------------------------------------------------------
ULF_ENC_MAX_PSNR = 32.0
ULF_ENC_WEIGHTS = {"ssim": 0.7, "psnr": 0.1, "mae": 0.1, "nmse": 0.1}
ULF_ENC_SSIM_WINDOW = 7  # skimage's default window, which the script leaves unchanged


def _min_max(volume: np.ndarray) -> np.ndarray:
    volume = volume.astype(np.float64)
    low, high = float(volume.min()), float(volume.max())
    return (volume - low) / (high - low) if high > low else np.full_like(volume, np.nan)


def ulf_enc(image: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """The ULF-EnC 2025 challenge metrics of one volume, as its evaluation script computes them.

    Source: khtohidulislam/ULF-EnC-Challenge, ``final_evaluation_script.py`` (``load_inputs``,
    ``calculate_metrics``, ``evaluate_output_dir``). Each volume is min-max normalised to [0, 1] over all its
    voxels, then multiplied by the binary mask (mask > 0.5); over the mask's voxels:
    - SSIM: the mean of scikit-image's full SSIM map of the two masked volumes (``structural_similarity``
      with ``data_range=1`` and otherwise its defaults: a 7-voxel uniform window in all three dimensions,
      sample covariance), a 3-D SSIM;
    - PSNR: the mean of the voxel-wise map 10 log10(1 / ((ref - pred)^2 + 1e-8)) (float32), not the PSNR
      of the mean squared error;
    - MAE: the mean absolute difference;
    - NMSE: the mean of (pred - ref)^2 / mean(ref[mask]^2), capped at 1;
    - score = 0.7 SSIM + 0.1 PSNR / 32 + 0.1 (1 - MAE) + 0.1 (1 - NMSE). The script forms it from the means
      over volumes; it is linear in them, so the mean of per-volume scores is the same number.
    Here a volume is the kept slices of one subject on the benchmark's grid (the script reads the full
    NIfTI volume). SSIM is NaN for volumes thinner than 7 slices (the window does not fit).
    """
    binary = mask > 0.5
    count = int(np.count_nonzero(binary))
    pred, ref = _min_max(image), _min_max(target)
    if count == 0 or np.isnan(pred).any() or np.isnan(ref).any():
        return dict.fromkeys(("ssim", "psnr", "mae", "nmse", "score"), float("nan"))
    weights = binary.astype(np.uint8)
    pred_masked, ref_masked = pred * weights, ref * weights
    if min(image.shape) >= ULF_ENC_SSIM_WINDOW:
        _, ssim_full = structural_similarity(pred_masked, ref_masked, data_range=1.0, full=True)
        ssim = float(np.sum(ssim_full * weights) / count)
    else:
        ssim = float("nan")
    squared = (ref_masked.astype(np.float32) - pred_masked.astype(np.float32)) ** 2
    psnr_map = 10 * np.log10(1.0 / (squared + 1e-8))
    psnr = float(np.sum(psnr_map * weights) / count)
    mae = float(np.sum(np.abs(pred_masked - ref_masked) * weights) / count)
    norm = float(np.mean(ref_masked[binary] ** 2))
    nmse = float(np.sum(((pred_masked - ref_masked) ** 2 / norm) * weights) / count) if norm > 0 else np.inf
    nmse = min(nmse, 1.0)
    return {"ssim": ssim, "psnr": psnr, "mae": mae, "nmse": nmse, "score": ulf_enc_score(ssim, psnr, mae, nmse)}


def ulf_enc_score(ssim: float, psnr: float, mae: float, nmse: float) -> float:
    """The challenge's weighted score of (mean) SSIM, PSNR, MAE and NMSE."""
    w = ULF_ENC_WEIGHTS
    return (w["ssim"] * ssim + w["psnr"] * psnr / ULF_ENC_MAX_PSNR + w["mae"] * (1 - mae)
            + w["nmse"] * (1 - nmse))


# What each protocol computes, as the report titles its block (the current method, also stored in each record).
DESCRIPTIONS = {
    "volume": "true volume metrics: each pooled over the volume's masked voxels",
    "ulf_enc": "ULF-EnC challenge (khtohidulislam/ULF-EnC-Challenge, final_evaluation_script.py): per-volume "
               "min-max, masked 3-D SSIM, PSNR map, MAE, NMSE; score 0.7/0.1/0.1/0.1",
    "morphometry": "CSF/GM/WM segmentation in the brain mask (pure-tissue levels from a partial-volume mixture "
                   "fit, Santago & Gage 1993) of image and target: per-tissue Dice and volume error (%), "
                   "regional GM volume error",
}


def build(name: str, options: dict[str, Any] | None = None) -> VolumeProtocol:
    """The named protocol with a datamodule's options (e.g. morphometry's ``contrast``)."""
    options = dict(options or {})
    if name == "volume":
        return VolumeProtocol("volume", DESCRIPTIONS["volume"],
                              {"psnr": "higher", "ssim": "higher", "nrmse": "lower", "rmse": "lower",
                               "mae": "lower"}, volume_metrics, options)
    if name == "ulf_enc":
        return VolumeProtocol("ulf_enc", DESCRIPTIONS["ulf_enc"],
                              {"ssim": "higher", "psnr": "higher", "mae": "lower", "nmse": "lower",
                               "score": "higher"}, ulf_enc, options)
    if name == "morphometry":
        return VolumeProtocol("morphometry", DESCRIPTIONS["morphometry"],
                              morphometry.BETTER, morphometry.morphometry, options)
    raise ValueError(f"unknown volume protocol {name!r}; known: {', '.join(PROTOCOL_NAMES)}")


PROTOCOL_NAMES = ("volume", "ulf_enc", "morphometry")
