"""Vectorised drawing primitives shared by the scene generators: fields, curves, blobs and spots.

Why: fluorescence and NIR scenes are made of the same few shapes (filaments and vessels as curves, nuclei
and tumours as soft ellipses, vesicles as spots, tissue texture as band-limited random fields). Drawing
them by splatting points and blurring keeps a 128x128 image at about a millisecond per shape family, with
no Python loop over pixels.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

SQRT_2PI = float(np.sqrt(2 * np.pi))


def blur(image: np.ndarray, sigma: float, mode: str = "reflect") -> np.ndarray:
    """Gaussian blur (sigma in pixels); sigma <= 0 returns the image.

    Small kernels convolve directly; wide ones (sigma > 3) multiply in the Fourier domain after padding the
    image by reflection (or periodically for ``mode="wrap"``), which costs the same for any sigma.
    """
    if sigma <= 0:
        return image
    if sigma <= 3:
        return ndimage.gaussian_filter(image, sigma, mode=mode, truncate=3.5)
    if mode == "wrap":
        return np.fft.irfft2(ndimage.fourier_gaussian(np.fft.rfft2(image), sigma, n=image.shape[1]),
                             s=image.shape)
    pad = [min(int(3 * sigma), n - 1) for n in image.shape]
    padded = np.pad(image, [(pad[0], pad[0]), (pad[1], pad[1])],
                    mode="constant" if mode == "constant" else "symmetric")
    out = np.fft.irfft2(ndimage.fourier_gaussian(np.fft.rfft2(padded), sigma, n=padded.shape[1]),
                        s=padded.shape)
    return out[pad[0]: pad[0] + image.shape[0], pad[1]: pad[1] + image.shape[1]]


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Band-limited Gaussian random field, zero mean and unit standard deviation (correlation length ~sigma).

    Synthesised in the Fourier domain (white noise times a Gaussian spectrum, one inverse FFT): the same
    periodic field as blurring white noise, at a fixed cost for any sigma.
    """
    h, w = shape
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    gain = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fy ** 2 + fx ** 2))
    spectrum = (rng.standard_normal(gain.shape) + 1j * rng.standard_normal(gain.shape)) * gain
    field = np.fft.irfft2(spectrum, s=shape)
    return (field - field.mean()) / (field.std() + 1e-12)


def splat(shape: tuple[int, int], points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Accumulate weighted (row, col) points (N, 2) with bilinear weights; points outside drop out."""
    h, w = shape
    pts = points.reshape(-1, 2)
    wts = np.broadcast_to(weights, points.shape[:-1]).reshape(-1)
    r0, c0 = np.floor(pts[:, 0]), np.floor(pts[:, 1])
    fr, fc = pts[:, 0] - r0, pts[:, 1] - c0
    out = np.zeros(h * w)
    for dr, dc, share in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc), (1, 0, fr * (1 - fc)),
                          (1, 1, fr * fc)):
        r, c = r0.astype(np.int64) + dr, c0.astype(np.int64) + dc
        keep = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        out += np.bincount(r[keep] * w + c[keep], weights=(wts * share)[keep], minlength=h * w)
    return out.reshape(h, w)


def trace_curves(rng: np.random.Generator, starts: np.ndarray, headings: np.ndarray, steps: int,
                 step: float = 0.5, turn: float = 0.05, orientation: np.ndarray | None = None,
                 follow: float = 0.0) -> np.ndarray:
    """Smooth random walks: (N, steps, 2) points from ``starts`` (N, 2) and initial ``headings`` (radians).

    ``turn`` is the standard deviation of the heading change per step (persistence of the curve). Without an
    orientation field the walk is a closed-form cumulative sum; with an ``orientation`` field (H, W, radians,
    defined modulo pi) the heading is pulled towards the local orientation with strength ``follow`` in [0, 1]
    (neurite bundles), which needs a loop over the steps.
    """
    n = len(starts)
    if orientation is None or follow <= 0:
        theta = headings[:, None] + np.cumsum(turn * rng.standard_normal((n, steps)), axis=1)
        theta[:, 0] = headings
        moves = step * np.stack([np.sin(theta), np.cos(theta)], axis=2)
        moves = np.concatenate([np.zeros((n, 1, 2)), moves[:, :-1]], axis=1)
        return starts[:, None, :] + np.cumsum(moves, axis=1)
    pos = starts.astype(np.float64).copy()
    theta = headings.astype(np.float64).copy()
    out = np.empty((n, steps, 2))
    h, w = orientation.shape
    for k in range(steps):
        out[:, k] = pos
        theta += turn * rng.standard_normal(n)
        r = np.clip(pos[:, 0].astype(np.int64), 0, h - 1)
        c = np.clip(pos[:, 1].astype(np.int64), 0, w - 1)
        # Nematic alignment: turn towards the local orientation or its opposite, whichever is nearer.
        theta += follow * np.angle(np.exp(2j * (orientation[r, c] - theta))) / 2
        pos += step * np.stack([np.sin(theta), np.cos(theta)], axis=1)
    return out


def draw_curves(shape: tuple[int, int], curves: np.ndarray, intensity: np.ndarray, width: float,
                step: float = 0.5) -> np.ndarray:
    """Render curves (N, L, 2) as lines of Gaussian cross-section ``width`` (sigma, px), peak ``intensity``.

    ``intensity`` is per curve (N,) or per point (N, L) (zero to cut a curve short).
    """
    intensity = np.asarray(intensity, dtype=np.float64)
    if intensity.ndim == 1:
        intensity = intensity[:, None]
    weights = np.broadcast_to(intensity * step * SQRT_2PI * max(width, 0.3), curves.shape[:2])
    return blur(splat(shape, curves, weights), width)


def draw_curves_widths(shape: tuple[int, int], curves: np.ndarray, intensity: np.ndarray,
                       widths: np.ndarray, step: float = 0.5, bins: int = 4) -> np.ndarray:
    """Like :func:`draw_curves` with a width per curve, grouped in a few width bins (one blur per bin)."""
    out = np.zeros(shape)
    edges = np.quantile(widths, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, widths, side="right") - 1, 0, bins - 1)
    for b in np.unique(which):
        sel = which == b
        out += draw_curves(shape, curves[sel], intensity[sel], float(np.mean(widths[sel])), step)
    return out


def soft_ellipses(shape: tuple[int, int], centres: np.ndarray, radii: np.ndarray, angles: np.ndarray,
                  edge: float = 1.0) -> np.ndarray:
    """(N, H, W) occupancies in [0, 1] of ellipses with semi-axes ``radii`` (N, 2) and soft edges (px).

    Each ellipse is evaluated only inside its bounding box (plus the soft edge).
    """
    out = np.zeros((len(centres), *shape))
    edge = max(edge, 1e-3)
    for k, ((cr, cc), (ra, rb), angle) in enumerate(zip(centres, radii, angles)):
        reach = max(ra, rb) + 8 * edge
        r0, r1 = max(int(cr - reach), 0), min(int(cr + reach) + 2, shape[0])
        c0, c1 = max(int(cc - reach), 0), min(int(cc + reach) + 2, shape[1])
        if r0 >= r1 or c0 >= c1:
            continue
        dr = np.arange(r0, r1)[:, None] - cr
        dc = np.arange(c0, c1)[None, :] - cc
        cos, sin = np.cos(angle), np.sin(angle)
        rho = np.sqrt(((dc * cos + dr * sin) / ra) ** 2 + ((-dc * sin + dr * cos) / rb) ** 2)
        out[k, r0:r1, c0:c1] = 1.0 / (1.0 + np.exp(np.clip((rho - 1.0) * 0.5 * (ra + rb) / edge, -50, 50)))
    return out


def draw_spots(shape: tuple[int, int], centres: np.ndarray, amplitude: np.ndarray,
               sigma: float) -> np.ndarray:
    """Gaussian spots of one ``sigma`` (px) and peak ``amplitude`` at ``centres`` (N, 2)."""
    weights = np.asarray(amplitude, dtype=np.float64) * 2 * np.pi * sigma ** 2
    return blur(splat(shape, centres, weights), sigma)


def percentile_scale(image: np.ndarray, q: float = 99.5) -> np.ndarray:
    """Divide by a high percentile (robust peak = 1); a blank image stays blank."""
    peak = float(np.percentile(image, q))
    if peak <= 1e-12:
        peak = float(image.max())
    return image / peak if peak > 1e-12 else image


def branching_tree(rng: np.random.Generator, shape: tuple[int, int], trunks: int, generations: int,
                   width: tuple[float, float], length: float, step: float = 1.0,
                   turn: float = 0.04) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vessel-like trees: trunks entering from the image border that branch ``generations`` times.

    Returns curves (N, L, 2), widths (N,) (Gaussian sigma, px; children 0.55-0.8 of their parent, after
    Murray's law for daughter vessels) and a (N, L) 0/1 array marking the points each curve really has.
    """
    h, w = shape
    steps = max(int(length / step), 2)
    side = rng.integers(0, 4, trunks)
    along = rng.uniform(0.1, 0.9, trunks)
    starts = np.stack([np.where(side == 0, 0.0, np.where(side == 1, h - 1.0, along * h)),
                       np.where(side == 2, 0.0, np.where(side == 3, w - 1.0, along * w))], axis=1)
    inward = np.arctan2(h / 2 - starts[:, 0], w / 2 - starts[:, 1]) + rng.normal(0, 0.4, trunks)
    widths = rng.uniform(*width, trunks)
    lengths = rng.uniform(0.6, 1.0, trunks) * steps
    all_curves, all_widths, all_lengths = [], [], []
    curves = trace_curves(rng, starts, inward, steps, step, turn)
    for gen in range(generations + 1):
        all_curves.append(curves)
        all_widths.append(widths)
        all_lengths.append(lengths)
        if gen == generations:
            break
        k = rng.integers(1, 4, len(curves))  # branches per parent
        parent = np.repeat(np.arange(len(curves)), k)
        at = (rng.uniform(0.2, 0.9, len(parent)) * lengths[parent]).astype(int).clip(1, steps - 1)
        points = curves[parent, at]
        delta = curves[parent, at] - curves[parent, at - 1]
        turn_away = rng.choice([-1, 1], len(parent)) * rng.uniform(0.4, 1.2, len(parent))
        heading = np.arctan2(delta[:, 0], delta[:, 1]) + turn_away
        widths = widths[parent] * rng.uniform(0.55, 0.8, len(parent))
        lengths = lengths[parent] * rng.uniform(0.35, 0.7, len(parent))
        curves = trace_curves(rng, points, heading, steps, step, turn * 1.5)
    lengths = np.concatenate(all_lengths)
    present = (np.arange(steps)[None, :] < lengths[:, None]).astype(np.float64)
    return np.concatenate(all_curves), np.concatenate(all_widths), present
