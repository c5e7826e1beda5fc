"""Total gradient (TG) loss of FI-GAN (Zhang C. et al., Biomed. Opt. Express 10(9):4742, 2019).

For a target X and a prediction Y of width Nw and height Nh, per channel::

    dUw = sum_{k=1..Kw} (1/k) sum_j sum_{i=1..Nw-k} [(x[i+k,j] - x[i,j]) - (y[i+k,j] - y[i,j])]^2
    L_TG = dUw / Nw + dUh / Nh          (dUh: the same along the height)

so it compares finite differences at every lag k up to ``k_max``, not just neighbour gradients.
We average L_TG over batch and channels (the paper's images are single-channel; the mean keeps
the scale independent of batch size and channel count).

Why it is fast: with e = x - y, for one row of length N

    sum_i (e[i+k] - e[i])^2 = sum_{i>=k} e[i]^2 + sum_{i<=N-1-k} e[i]^2 - 2 R(k)

where R is the linear autocorrelation of e. Weighted by 1/k and summed over k, the first two
terms become a fixed coefficient per position (sums of harmonic numbers), and sum_k R(k)/k equals
sum_f v_f |E_f|^2 for E = rfft(e) zero-padded to L >= N + k_max (so no lag wraps around), where
v_f = Re(DFT of the lag weights 1/k)_f / L, doubled for bins that stand for f and L - f. The
gradient, 2 (coef * e - sum_k (e[i+k] + e[i-k]) / k), is one irfft of the saved spectrum. That is
O(N^2 log N) per image instead of O(N^2 k_max). Each row's mean is subtracted first (of x and y
separately): differences ignore it, and it removes float32 cancellation for images with large
offsets or a biased prediction. For k_max <= DIRECT_MAX_K a direct loop over k is as cheap and used.
"""
from __future__ import annotations

import numbers
from functools import lru_cache
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from benchmark.option_types import PositiveInt

KMax = PositiveInt | Literal["half", "full"]  # the largest lag: a count, N // 2 or N - 1

# Direct loop for k_max up to this: measured on CPU (32..512 px, batch 8, forward + backward), the
# loop ties with the FFT path at k_max = 2-3 and loses beyond; at 1-2 it is as fast and has no FFT rounding.
DIRECT_MAX_K = 2

_K_MAX_HELP = "k_max must be 'half', 'full' or a positive integer"


def resolve_k_max(k_max: KMax, n: int) -> int:
    """The largest lag used along an axis of length ``n`` (0 when n == 1: no differences exist)."""
    if n < 1:
        raise ValueError(f"axis length must be >= 1, got {n}")
    if isinstance(k_max, str):
        if k_max == "half":
            return n // 2
        if k_max == "full":
            return n - 1  # lag n has no pairs
    elif isinstance(k_max, numbers.Integral) and not isinstance(k_max, bool) and k_max >= 1:
        return min(int(k_max), n - 1)
    raise ValueError(f"{_K_MAX_HELP}, got {k_max!r}")


def _check_inputs(prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape or prediction.dim() != 4:
        raise ValueError(
            f"total gradient loss needs two (B, C, H, W) tensors of equal shape, "
            f"got {tuple(prediction.shape)} and {tuple(target.shape)}"
        )


def _fast_len(n: int) -> int:
    """Smallest 5-smooth integer >= n: FFT sizes that pocketfft/cuFFT handle fastest."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


class _Weights(NamedTuple):
    """Fixed weights of one axis; E = rfft(e, length)."""

    coef: Tensor  # (n,) weight of e[i]^2: sum of 1/k over the lags in which i is a right or left end
    spectral: Tensor  # (L//2+1,) sum_k R(k)/k = sum_f spectral[f] |E[f]|^2
    kernel: Tensor  # (L//2+1,) two-sided lag weights: irfft(E * kernel)[i] = sum_k (e[i+k] + e[i-k])/k
    length: int  # FFT length L >= n + k, so that no lag wraps around


@lru_cache(maxsize=64)
def _weights(n: int, k: int, dtype: torch.dtype, device: torch.device) -> _Weights:
    """The fixed weights for axis length n and k_max k, built in float64 and cached."""
    # Cached tensors must be normal ones even if first built under inference_mode (validation),
    # else training that later reuses them fails when autograd saves them.
    with torch.inference_mode(False):
        harmonic = torch.zeros(k + 1, dtype=torch.float64)
        harmonic[1:] = torch.cumsum(1.0 / torch.arange(1, k + 1, dtype=torch.float64), 0)
        i = torch.arange(n)
        coef = harmonic[i.clamp(max=k)] + harmonic[(n - 1 - i).clamp(max=k)]
        length = _fast_len(n + k)
        lag_weights = torch.zeros(length, dtype=torch.float64)
        lag_weights[1 : k + 1] = 1.0 / torch.arange(1, k + 1, dtype=torch.float64)
        kernel = 2.0 * torch.fft.rfft(lag_weights).real  # lags +k and -k (= L - k) together
        spectral = kernel / length
        spectral[0] /= 2.0  # bins f and L-f carry the same power; bins 0 and L/2 are unpaired
        if length % 2 == 0:
            spectral[-1] /= 2.0
        return _Weights(*(t.to(dtype=dtype, device=device) for t in (coef, spectral, kernel)), length)


class _SpectralSum(torch.autograd.Function):
    """sum over rows of sum_k (1/k) sum_i (e[i+k] - e[i])^2 = sum_i coef_i e_i^2 - 2 sum_k R(k)/k.

    Why a Function: autograd through rfft's padding runs a complex FFT and zero fills, while the
    gradient 2 (coef * e - sum_k (e[i+k] + e[i-k])/k) needs one irfft of the saved spectrum. Under
    create_graph the spectrum is recomputed from e with differentiable ops, so double backward works.
    """

    @staticmethod
    def forward(ctx, e: Tensor, weights: _Weights) -> Tensor:  # type: ignore[override]
        spectrum = torch.fft.rfft(e, n=weights.length)
        ctx.save_for_backward(e, spectrum)
        ctx.weights = weights
        power = spectrum.real.square() + spectrum.imag.square()
        # Elementwise products, not matmuls: autocast would run a matmul in fp16/bf16.
        return (e.square() * weights.coef).sum() - 2.0 * (power * weights.spectral).sum()

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        e, spectrum = ctx.saved_tensors
        w: _Weights = ctx.weights
        if torch.is_grad_enabled():
            spectrum = torch.fft.rfft(e, n=w.length)
        lagged = torch.fft.irfft(spectrum * w.kernel, n=w.length)[..., : e.shape[-1]]
        return (2.0 * grad) * (e * w.coef - lagged), None


def _axis_sum(x: Tensor, y: Tensor, k: int) -> Tensor:
    """sum_{lag=1..k} (1/lag) sum_i (e[..., i+lag] - e[..., i])^2, e = x - y, summed over all rows."""
    if k == 0:
        return x.new_zeros(())
    # Centre x and y separately: a row near 1000 minus its mean is exact in float32 (Sterbenz), while
    # x - y of a biased prediction would round e to ~1e-4 before any difference is taken. The means
    # are constants to autograd: the sum ignores a per-row constant, so its gradient already sums to
    # zero along the row and the centring's backward would change nothing.
    with torch.no_grad():
        x_mean, y_mean = x.mean(dim=-1, keepdim=True), y.mean(dim=-1, keepdim=True)
    e = (x - x_mean) - (y - y_mean)
    if k <= DIRECT_MAX_K:
        total = e.new_zeros(())
        for lag in range(1, k + 1):
            total = total + (e[..., lag:] - e[..., :-lag]).square().sum() / lag
        return total
    return _SpectralSum.apply(e, _weights(e.shape[-1], k, e.dtype, e.device))


def _working_dtype(*tensors: Tensor) -> torch.dtype:
    """float32 for bf16/fp16/fp32 (low precision would ruin the sums), float64 kept for exact checks."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32


def total_gradient_loss(prediction: Tensor, target: Tensor, k_max: KMax = "half") -> Tensor:
    """TG loss, exact, averaged over batch and channels; float32 (float64 for float64 inputs) scalar."""
    _check_inputs(prediction, target)
    b, c, h, w = prediction.shape
    kw, kh = resolve_k_max(k_max, w), resolve_k_max(k_max, h)
    dtype = _working_dtype(prediction, target)
    x, y = target.to(dtype), prediction.to(dtype)
    loss_w = _axis_sum(x, y, kw) / w
    loss_h = _axis_sum(x.transpose(-1, -2), y.transpose(-1, -2), kh) / h
    return (loss_w + loss_h) / (b * c)


def naive_total_gradient_loss(prediction: Tensor, target: Tensor, k_max: KMax = "half") -> Tensor:
    """Reference: the triple sum, a Python loop over k vectorised over rows and columns by slicing.

    e = x - y is formed once ((x[i+k]-x[i]) - (y[i+k]-y[i]) = e[i+k]-e[i]), the obvious saving a
    straightforward implementation makes, so benchmark speedups against it are not inflated.
    """
    _check_inputs(prediction, target)
    b, c, h, w = prediction.shape
    dtype = _working_dtype(prediction, target)
    e = target.to(dtype) - prediction.to(dtype)
    du_w = e.new_zeros(())
    for k in range(1, resolve_k_max(k_max, w) + 1):
        du_w = du_w + (e[..., k:] - e[..., :-k]).square().sum() / k
    du_h = e.new_zeros(())
    for k in range(1, resolve_k_max(k_max, h) + 1):
        du_h = du_h + (e[..., k:, :] - e[..., :-k, :]).square().sum() / k
    return (du_w / w + du_h / h) / (b * c)


class TotalGradientLoss(nn.Module):
    """Module form of :func:`total_gradient_loss`, called as ``loss(prediction, target)``."""

    def __init__(self, k_max: KMax = "half") -> None:
        super().__init__()
        resolve_k_max(k_max, 2)  # fail at construction, not at the first training step
        self.k_max = k_max

    def forward(self, prediction: Tensor, target: Tensor) -> Tensor:
        return total_gradient_loss(prediction, target, self.k_max)

    def extra_repr(self) -> str:
        return f"k_max={self.k_max!r}"
