"""The 64 mT acquisition of an anatomy seen at 3 T: thick slices, coarse k-space, Rician noise, receive bias.

Why: a portable 64 mT scanner (Hyperfine Swoop, the low-field source of LoHiResGAN, Islam et al., Sci Rep
2023) has roughly (0.064 / 3)^(7/4) ~ 1/800 of the 3 T SNR per voxel (the B0^(7/4) scaling of Hoult &
Richards, J Magn Reson 24:71, 1976); its protocols buy SNR back with larger voxels (about 1.5-1.6 mm in-plane
and 5 mm slices against 1 mm isotropic at 3 T) and long scans, and still give images with a visible noise
floor and shading. The steps, in the order the physics applies them:

1. Slice profile: a thick slice integrates the magnetisation over ``slice_factor`` thin slices (a box
   centred on the 3 T slice). Default 2x: 4.8 mm on the quick preset's 2.4 mm grid, the 5 mm slices of the
   portable scanner (against 1 mm at 3 T, physically 5x; set ``slice_factor`` for finer grids).
2. Receive bias: a smooth multiplicative field exp(a * f(r)), f a low-order random 3-D field scaled to
   [-1, 1], default a = 0.2 (about +-20 %, BrainWeb's middle intensity non-uniformity level; Kwan et al.,
   IEEE TMI 18:1085, 1999). Low-field head coils are not corrected as routinely as 3 T ones.
3. k-space truncation: Cartesian sampling of only the central 1/``inplane_factor`` of k-space in each in-plane
   direction (default 1.6: 1.6 mm vs 1 mm), with a Tukey roll-off over its outer 30 % (``APODISATION``) to
   limit Gibbs ringing, as scanners apodise. The image is returned on the 3 T grid (zero-filled).
4. Thermal noise: complex white Gaussian noise on the acquired k-space samples, i.e. band-limited like the
   signal; the magnitude image then has Rician statistics (Gudbjartsson & Patz, MRM 34:910, 1995). Its level
   is ``snr`` = mean WM signal / noise standard deviation of one channel in the final image, default 10: an
   assumption of this benchmark (portable 64 mT brain images show WM SNR of roughly 8-15), and the task's
   noise level, the same on every grid size.

The 3 T reference of a synthetic subject (:func:`highfield_acquisition`) is the same acquisition with the
whole k-space of the grid (same apodisation), thin slices, no bias, and its own thermal noise. Its SNR is
given for a 1 mm isotropic voxel (default 40, typical of 1 mm 3 T brain scans) and scales with the voxel
volume (SNR is proportional to the number of spins in a voxel), so on the quick preset's 2.4 mm grid the
reference is nearly noise-free (SNR ~550), as a 3 T image averaged to 2.4 mm voxels would be.

Simulate mode (real 3 T volumes, no tissue maps): the contrast change cannot be computed exactly from
intensities alone. :func:`remap_contrast` approximates it: a 3-class intensity clustering inside the brain
mask (1-D k-means) finds the CSF, GM and WM intensity levels; each level is multiplied by its tissue's
64 mT / 3 T signal ratio (relative to WM, from `mri_signal`), and intensities in between are interpolated
linearly, so the texture and partial volume of the real image are kept while the tissue levels move as the
relaxation times imply. Voxels outside the mask keep their intensity. The ratios assume the real volume was
acquired like the synthetic 3 T (`mri_signal.MPRAGE`): where its tissue levels differ from that sequence's,
the difference is taken as the subject's own and carried into the 64 mT image, so a real volume from another
sequence (the IXI T1 is a 1.5 T gradient echo) passes part of its own contrast to the input. Moving each level
to its tissue's 64 mT signal instead would need the pure tissue levels, which clustering at the benchmark's
2.4 mm grid does not recover (partial volume): on synthetic subjects that mapping no longer reproduces the
forward model's input, where the ratios do. Then steps 1-4 run as above, with the slabs made of the volume's
own slices.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datamodules.forward.mri_signal import relative_signals

APODISATION = 0.3  # Tukey roll-off over the outer 30 % of the sampled k-space (both fields)


@dataclass(frozen=True)
class LowFieldAcquisition:
    """Parameters of the 64 mT acquisition relative to the 3 T grid (see the module docstring for sources)."""

    inplane_factor: float = 1.6
    slice_factor: int = 2
    snr: float = 10.0
    bias: float = 0.2
    taper: float = APODISATION


def slab_weights(factor: int) -> np.ndarray:
    """Weights of the thin slices in a box slab ``factor`` slices thick centred on one slice.

    Odd factors cover whole slices; even ones cover the centre slices fully and the two outer slices by half
    (e.g. 2 -> [0.25, 0.5, 0.25]), so a slab is always centred on its 3 T slice.
    """
    margin = factor // 2
    weights = np.ones(2 * margin + 1)
    if factor % 2 == 0:
        weights[0] = weights[-1] = 0.5
    return (weights / weights.sum()).astype(np.float32)


def slab_margin(factor: int) -> int:
    """Thin slices a slab reaches beyond its centre slice on each side."""
    return len(slab_weights(factor)) // 2


def thick_slices(volume: np.ndarray, factor: int, valid: bool = True) -> np.ndarray:
    """Box slice profile: each output slice averages the ``factor`` thin slices around it (axis 0).

    ``valid``: only slabs that lie wholly in the volume (``Z - 2 * slab_margin(factor)`` slices, slab ``k``
    centred on input slice ``k + slab_margin``); otherwise one slab per slice, edge slices repeated.
    """
    weights = slab_weights(factor)
    margin = len(weights) // 2
    if margin == 0:
        return volume.astype(np.float32, copy=True)
    if not valid:
        volume = np.concatenate([np.repeat(volume[:1], margin, 0), volume, np.repeat(volume[-1:], margin, 0)])
    count = volume.shape[0] - 2 * margin
    out = np.zeros((count, *volume.shape[1:]), dtype=np.float32)
    for offset, weight in enumerate(weights):
        out += weight * volume[offset:offset + count]
    return out


def bias_field(shape: tuple[int, int, int], amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth multiplicative field exp(amplitude * f), f in [-1, 1] varying over about the field of view."""
    if amplitude <= 0:
        return np.ones(shape, dtype=np.float32)
    n = max(shape[1:])
    axes = [(np.arange(m, dtype=np.float32) - (m - 1) / 2) / n for m in shape]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    field = np.zeros(shape, dtype=np.float32)
    for _ in range(4):
        k = rng.normal(size=3) * np.pi * 1.2  # wavelength ~ 1-3 fields of view: smooth shading
        field += np.float32(rng.uniform(0.5, 1.0)) * np.cos(k[0] * zz + k[1] * yy + k[2] * xx
                                                              + np.float32(rng.uniform(0, 2 * np.pi)))
    field /= max(float(np.abs(field).max()), 1e-6)
    return np.exp(amplitude * field).astype(np.float32)


def _tukey(n: int, factor: float, taper: float) -> np.ndarray:
    """1-D k-space window on numpy's FFT frequency order: 1 inside, cosine roll-off, 0 beyond 0.5/factor."""
    f = np.abs(np.fft.fftfreq(n))
    cutoff = 0.5 / factor
    flat = cutoff * (1.0 - taper)
    ramp = np.clip((f - flat) / max(cutoff - flat, 1e-9), 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * ramp)) * (f <= cutoff)).astype(np.float32)


def kspace_window(height: int, width: int, factor: float, taper: float = APODISATION) -> np.ndarray:
    """Separable (Cartesian) low-pass window ``(H, W)`` keeping the central 1/``factor`` of k-space."""
    return np.outer(_tukey(height, factor, taper), _tukey(width, factor, taper))


def acquire(volume: np.ndarray, window: np.ndarray | None, noise_std: float,
            rng: np.random.Generator) -> np.ndarray:
    """Sample each slice of ``volume`` (Z, H, W) through ``window`` with complex noise; magnitude image.

    ``noise_std`` is the standard deviation of each channel of the noise in the final image: white noise is
    drawn with std ``noise_std / sqrt(mean(window^2))`` and low-passed with the signal.
    """
    data = volume.astype(np.complex64)
    if noise_std > 0:
        gain = 1.0 if window is None else 1.0 / np.sqrt(float(np.mean(window ** 2)))
        noise = rng.normal(size=(2, *volume.shape)).astype(np.float32) * np.float32(noise_std * gain)
        data = data + (noise[0] + 1j * noise[1]).astype(np.complex64)
    if window is not None:
        data = np.fft.ifft2(np.fft.fft2(data) * window)
    return np.abs(data).astype(np.float32)


def lowfield_acquisition(volume: np.ndarray, wm_level: float, acq: LowFieldAcquisition,
                         rng: np.random.Generator, valid: bool = True) -> np.ndarray:
    """Steps 1-4 on a noise-free 64 mT-contrast volume (Z, H, W); ``wm_level`` is its mean WM signal."""
    slabs = thick_slices(volume, acq.slice_factor, valid=valid)
    field = bias_field(slabs.shape, acq.bias, rng)
    window = kspace_window(*slabs.shape[1:], acq.inplane_factor, acq.taper)
    return acquire(slabs * field, window, wm_level / acq.snr, rng)


def highfield_acquisition(volume: np.ndarray, wm_level: float, snr_1mm: float, voxel_mm: float,
                          rng: np.random.Generator) -> np.ndarray:
    """The 3 T reference of a volume (Z, H, W): full grid k-space (apodised), noise scaled by voxel volume."""
    window = kspace_window(*volume.shape[1:], 1.0)
    noise_std = wm_level / (snr_1mm * voxel_mm ** 3) if snr_1mm > 0 else 0.0
    return acquire(volume, window, noise_std, rng)


def _three_levels(values: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Sorted centres of a 1-D k-means with 3 clusters (initialised at the 10/50/90th percentiles)."""
    centres = np.percentile(values, [10, 50, 90]).astype(np.float64)
    for _ in range(iterations):
        labels = np.abs(values[:, None] - centres[None, :]).argmin(axis=1)
        updated = np.array([values[labels == k].mean() if np.any(labels == k) else centres[k]
                            for k in range(3)])
        if np.allclose(updated, centres):
            break
        centres = updated
    return np.sort(centres)


def remap_contrast(volume: np.ndarray, mask: np.ndarray, contrast: str) -> tuple[np.ndarray, float]:
    """Approximate 64 mT contrast of a 3 T volume (simulate mode); returns the volume and its WM level."""
    brain = volume[mask]
    if brain.size < 30:
        return volume.copy(), float(np.percentile(volume, 99)) or 1.0
    sample = brain if brain.size <= 200_000 else brain[:: brain.size // 200_000 + 1]
    levels = _three_levels(sample.astype(np.float64))
    tissues = ("csf", "gm", "wm") if contrast == "T1" else ("wm", "gm", "csf")  # ascending 3 T intensity
    high, low = relative_signals("3T", contrast), relative_signals("64mT", contrast)
    gains = np.array([low[t] / high[t] for t in tissues])
    gain = np.interp(volume, levels, gains).astype(np.float32)
    out = np.where(mask, volume * gain, volume).astype(np.float32)
    wm_level = float(levels[tissues.index("wm")] * gains[tissues.index("wm")])
    return out, wm_level


def simulate_lowfield(highfield: np.ndarray, mask: np.ndarray, contrast: str, acq: LowFieldAcquisition,
                      rng: np.random.Generator) -> np.ndarray:
    """A 64 mT partner for a real 3 T volume (Z, H, W) with its brain mask: same grid, every slice kept."""
    remapped, wm_level = remap_contrast(highfield, mask, contrast)
    return lowfield_acquisition(remapped, wm_level, acq, rng, valid=False)
