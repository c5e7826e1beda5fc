"""Total gradient loss: the fast (prefix-sum + FFT) form must match the literal triple sum."""
from __future__ import annotations

import pytest
import torch

from models.losses import TotalGradientLoss, total_gradient, total_gradient_loss
from models.losses.total_gradient import naive_total_gradient_loss, resolve_k_max

SHAPES = [(2, 3, 13, 20), (2, 1, 24, 17)]
K_MAXES = [1, "half", "full", 5, 100]  # 100 exceeds every axis and is capped at N - 1


def _pair(shape: tuple[int, ...], dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth-ish target plus noise, and a prediction near it: correlated errors exercise R(k)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(shape, generator=g, dtype=torch.float64).cumsum(-1).cumsum(-2) / 10
    target = base + 0.3 * torch.randn(shape, generator=g, dtype=torch.float64)
    prediction = base.flip(-1) * 0.5 + 0.3 * torch.randn(shape, generator=g, dtype=torch.float64)
    return prediction.to(dtype), target.to(dtype)


def _value_and_grad(fn, prediction: torch.Tensor, target: torch.Tensor, k_max) -> tuple[float, torch.Tensor]:
    p = prediction.clone().requires_grad_(True)
    loss = fn(p, target, k_max)
    loss.backward()
    return loss.item(), p.grad.double()


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("k_max", K_MAXES)
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_matches_naive_loop(shape, k_max, dtype, tol) -> None:
    prediction, target = _pair(shape, dtype)
    ref, ref_grad = _value_and_grad(naive_total_gradient_loss, prediction.double(), target.double(), k_max)
    got, got_grad = _value_and_grad(total_gradient_loss, prediction, target, k_max)
    assert abs(got - ref) <= tol * abs(ref)
    assert _rel(got_grad, ref_grad) <= tol


@pytest.mark.parametrize("k_max", [1, 2])
def test_fft_path_also_exact_for_small_k(k_max, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small k_max normally takes the direct loop; force the FFT path to check it there too."""
    monkeypatch.setattr(total_gradient, "DIRECT_MAX_K", 0)
    prediction, target = _pair((2, 1, 13, 20), torch.float64)
    ref, ref_grad = _value_and_grad(naive_total_gradient_loss, prediction, target, k_max)
    got, got_grad = _value_and_grad(total_gradient_loss, prediction, target, k_max)
    assert abs(got - ref) <= 1e-12 * abs(ref)
    assert _rel(got_grad, ref_grad) <= 1e-12


@pytest.mark.parametrize("k_max", ["half", "full"])
@pytest.mark.parametrize("target_offset", [0.0, 1000.0])
def test_large_offset_float32_keeps_accuracy(k_max, target_offset) -> None:
    """Images around 1000 and/or a prediction biased by 1000, in float32: without per-row mean
    subtraction the FFT path's position and correlation terms (~1e6 each) would cancel."""
    prediction, target = _pair((2, 1, 24, 17), torch.float32, seed=3)
    prediction, target = prediction + 1000.0, target + target_offset
    ref, ref_grad = _value_and_grad(naive_total_gradient_loss, prediction.double(), target.double(), k_max)
    got, got_grad = _value_and_grad(total_gradient_loss, prediction, target, k_max)
    assert abs(got - ref) <= 1e-5 * abs(ref)
    assert _rel(got_grad, ref_grad) <= 1e-5


@pytest.mark.parametrize("k_max", K_MAXES)
def test_zero_for_identical_images(k_max) -> None:
    _, target = _pair((1, 2, 13, 20), torch.float32)
    assert total_gradient_loss(target.clone(), target, k_max).item() == 0.0


@pytest.mark.parametrize("k_max", ["half", "full", 3])
def test_invariant_to_constant_offset(k_max) -> None:
    prediction, target = _pair((2, 1, 13, 20), torch.float64)
    a = total_gradient_loss(prediction, target, k_max)
    b = total_gradient_loss(prediction + 7.5, target, k_max)
    assert torch.allclose(a, b, rtol=1e-12, atol=0)


def test_hand_computed_value() -> None:
    # e = [0, 1, 3]; width 3, height 1 (no vertical differences).
    # k=1: (1-0)^2 + (3-1)^2 = 5; k=2: (3-0)^2 / 2 = 4.5. "half" -> k_max 1, "full" -> 2.
    target = torch.tensor([0.0, 1.0, 3.0]).view(1, 1, 1, 3)
    prediction = torch.zeros_like(target)
    assert total_gradient_loss(prediction, target, "half").item() == pytest.approx(5 / 3)
    assert total_gradient_loss(prediction, target, "full").item() == pytest.approx(9.5 / 3)
    assert TotalGradientLoss("full")(prediction, target).item() == pytest.approx(9.5 / 3)


def test_gradcheck_and_double_backward() -> None:
    """The FFT path has its own backward; it must be right to second order too."""
    prediction, target = _pair((1, 1, 6, 7), torch.float64)
    prediction.requires_grad_(True)
    fn = lambda p: total_gradient_loss(p, target, "full")
    assert torch.autograd.gradcheck(fn, (prediction,))
    assert torch.autograd.gradgradcheck(fn, (prediction,), fast_mode=True)


def test_low_precision_inputs_computed_in_float32() -> None:
    prediction, target = _pair((1, 1, 13, 20), torch.float32)
    loss = total_gradient_loss(prediction.bfloat16(), target.half())
    assert loss.dtype == torch.float32 and loss.dim() == 0


def test_resolve_k_max() -> None:
    assert [resolve_k_max(k, 20) for k in ("half", "full", 1, 5, 100)] == [10, 19, 1, 5, 19]
    assert resolve_k_max("half", 1) == 0 and resolve_k_max(3, 1) == 0


@pytest.mark.parametrize("bad", [0, -2, "abc", "Half", 2.0, 0.5, True, None])
def test_bad_k_max_raises(bad) -> None:
    with pytest.raises(ValueError, match="k_max"):
        resolve_k_max(bad, 10)
    with pytest.raises(ValueError, match="k_max"):
        TotalGradientLoss(bad)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="B, C, H, W"):
        total_gradient_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 5))
