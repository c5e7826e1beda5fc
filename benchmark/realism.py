"""How close a dataset's synthetic default is to real images: simple image statistics, side by side.

Why: the leaderboard ranks methods on the synthetic defaults, so their forward models must produce images
that look like real acquisitions. These statistics show where a forward model stands against a real folder,
so the next person tuning it sees which property is off:
- intensity: mean, standard deviation, 5th/50th/95th percentiles and a 64-bin histogram on [0, 1];
- gradient magnitude (central differences): mean and 90th percentile, the sharpness of edges;
- power-spectrum slope: the least-squares slope of log power against log spatial frequency of the radially
  averaged spectrum between 0.02 and 0.25 cycles per pixel (natural and microscopy images fall roughly as
  f^-2; blur steepens the slope, noise flattens it), after subtracting the mean and a Hann window;
- noise level in flat regions: Immerkaer's estimator (Immerkaer, Computer Vision and Image Understanding
  64:300, 1996: sigma = sqrt(pi / 2) mean|I * N| / 6, N the 3x3 difference-of-Laplacians mask), averaged
  over the pixels whose gradient magnitude is at most the image's median, so edges do not count as noise.
Each statistic is computed per image (first channel) and summarised by its median over the images, for the
source and the target of the test split of the synthetic default and of the real folder. Where the dataset
gives a mask (MRI's brain mask), the intensity, gradient and noise statistics and the histogram are taken
inside it, so that how much of the field of view the anatomy fills does not count as a difference in
contrast; the spectrum needs the whole rectangle.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

HISTOGRAM_BINS = 64
SLOPE_BAND = (0.02, 0.25)  # cycles per pixel
MAX_IMAGES = 64  # per split and role: enough for medians, bounded time
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
STATISTICS = ("mean", "std", "p05", "p50", "p95", "gradient_mean", "gradient_p90", "spectrum_slope", "noise_sigma")


def radial_spectrum(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum: (frequencies in cycles per pixel, mean power), DC excluded."""
    h, w = image.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fftshift(np.fft.fft2((image - image.mean()) * window))) ** 2
    fy = np.fft.fftshift(np.fft.fftfreq(h))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(w))[None, :]
    radius = np.sqrt(fy ** 2 + fx ** 2)
    step = 1.0 / max(h, w)
    bins = np.round(radius / step).astype(int)
    counts = np.bincount(bins.ravel())
    sums = np.bincount(bins.ravel(), weights=power.ravel())
    keep = np.arange(len(counts))[1:]
    keep = keep[counts[keep] > 0]
    return keep * step, sums[keep] / counts[keep]


def spectrum_slope(image: np.ndarray) -> float:
    freqs, power = radial_spectrum(image)
    band = (freqs >= SLOPE_BAND[0]) & (freqs <= SLOPE_BAND[1]) & (power > 0)
    if band.sum() < 3:
        return float("nan")
    return float(np.polyfit(np.log(freqs[band]), np.log(power[band]), 1)[0])


def image_statistics(image: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """The statistics of the module docstring for one 2-D image in [0, 1], inside ``mask`` when given."""
    image = image.astype(np.float64)
    inside = np.ones(image.shape, bool) if mask is None or not mask.any() else mask.astype(bool)
    gy, gx = np.gradient(image)
    gradient = np.hypot(gy, gx)
    flat = inside & (gradient <= np.median(gradient[inside]))
    response = np.abs(ndimage.convolve(image, IMMERKAER, mode="reflect"))
    noise = float(np.sqrt(np.pi / 2) * response[flat].mean() / 6) if flat.any() else float("nan")
    values = image[inside]
    p05, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"mean": float(values.mean()), "std": float(values.std()), "p05": float(p05), "p50": float(p50),
            "p95": float(p95), "gradient_mean": float(gradient[inside].mean()),
            "gradient_p90": float(np.percentile(gradient[inside], 90)), "spectrum_slope": spectrum_slope(image),
            "noise_sigma": noise}


def describe(images: list[np.ndarray], masks: list[np.ndarray] | None = None) -> dict[str, Any]:
    """Median of each statistic over the images, the pooled histogram and the mean radial spectrum."""
    images = images[:MAX_IMAGES]
    masks = (masks or [None] * len(images))[:MAX_IMAGES]
    per_image = [image_statistics(img, m) for img, m in zip(images, masks, strict=True)]
    histogram = np.zeros(HISTOGRAM_BINS)
    for img, m in zip(images, masks, strict=True):
        values = img if m is None else img[m.astype(bool)]
        histogram += np.histogram(np.clip(values, 0, 1), bins=HISTOGRAM_BINS, range=(0, 1))[0]
    spectra = [radial_spectrum(img) for img in images]
    shortest = min(len(f) for f, _ in spectra)
    return {"images": len(images),
            "median": {k: float(np.nanmedian([s[k] for s in per_image])) for k in STATISTICS},
            "histogram": (histogram / max(histogram.sum(), 1)).tolist(),
            "spectrum": {"frequency": spectra[0][0][:shortest].tolist(),
                         "power": np.mean([p[:shortest] for _, p in spectra], axis=0).tolist()}}


def split_images(datamodule: Any, split: str = "test") -> dict[str, list[np.ndarray]]:
    """The first channel of every source and target of one split, and the masks where they are the region
    the dataset is scored in."""
    data = datamodule.splits[split]
    out = {role: [t[0].numpy() for t in getattr(data, role)] for role in ("source", "target")}
    if getattr(data, "mask", None) and getattr(datamodule, "masked_metrics", False):
        out["mask"] = [m[0].numpy().astype(bool) for m in data.mask]
    return out


def compare(synthetic: Any, real: Any) -> dict[str, Any]:
    """Statistics of the synthetic and the real test split, per role, and their differences (real - synth)."""
    out: dict[str, Any] = {"synthetic": {}, "real": {}, "difference": {}}
    for name, module in (("synthetic", synthetic), ("real", real)):
        images = split_images(module)
        for role in ("source", "target"):
            out[name][role] = describe(images[role], images.get("mask"))
    for role in ("source", "target"):
        out["difference"][role] = {k: out["real"][role]["median"][k] - out["synthetic"][role]["median"][k]
                                   for k in STATISTICS}
    return out


def save_figure(report: dict[str, Any], path: Path, title: str) -> None:
    """Histograms and radial spectra of synthetic against real, for source and target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    centres = (np.arange(HISTOGRAM_BINS) + 0.5) / HISTOGRAM_BINS
    for col, role in enumerate(("source", "target")):
        for name, style in (("synthetic", "-"), ("real", "--")):
            part = report[name][role]
            axes[0, col].plot(centres, part["histogram"], style, label=f"{name} ({part['images']} images)")
            spectrum = part["spectrum"]
            axes[1, col].loglog(spectrum["frequency"], spectrum["power"], style,
                                label=f"{name}: slope {part['median']['spectrum_slope']:.2f}")
        axes[0, col].set(title=f"{role}: intensity histogram", xlabel="intensity", ylabel="fraction")
        axes[1, col].set(title=f"{role}: radial power spectrum", xlabel="cycles / pixel", ylabel="power")
        for ax in axes[:, col]:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(report: dict[str, Any], out: Path, dataset: str) -> list[Path]:
    """``realism-<dataset>.json`` and ``realism-<dataset>.png`` under ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, figure_path = out / f"realism-{dataset}.json", out / f"realism-{dataset}.png"
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(json_path)
    save_figure(report, figure_path, f"{dataset}: synthetic default against the real folder")
    return [json_path, figure_path]


def format_table(report: dict[str, Any]) -> str:
    """The medians as a plain-text table: one row per statistic, synthetic and real per role."""
    lines = [f"{'statistic':<16}" + "".join(f"{role + ' ' + name:>18}" for role in ("source", "target")
                                             for name in ("synthetic", "real"))]
    for k in STATISTICS:
        lines.append(f"{k:<16}" + "".join(f"{report[name][role]['median'][k]:>18.4f}"
                                          for role in ("source", "target") for name in ("synthetic", "real")))
    return "\n".join(lines)
