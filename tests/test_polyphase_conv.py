"""`PolyphaseConv2d` is the convolution it stands for: same outputs and gradients (to rounding; exactly the
same sums: equal to 1e-10 in float64), the same weights and keys, the same counted FLOPs, and CycleGAN's losses and
gradients on a fixed batch unchanged by it."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from benchmark.flops import count_flops
from models import MODELS
from models.networks.polyphase_conv import PolyphaseConv2d, plain_convolutions, polyphase_conv2d
from models.networks.resnet_generator import ResnetGenerator


@pytest.mark.parametrize("size,kernel,channels,phases", [((262, 262), 7, 16, 4), ((37, 50), 7, 3, 4),
                                                        ((20, 21), 9, 5, 2), ((9, 9), 3, 2, 4), ((7, 7), 7, 1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_the_polyphase_sums_are_the_convolutions_sums(size, kernel, channels, phases, bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, channels, *size, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(1, channels, kernel, kernel, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, generator=g, dtype=torch.float64, requires_grad=True) if bias else None
    plain, fast = F.conv2d(x, w, b), polyphase_conv2d(x, w, b, phases)
    assert fast.shape == plain.shape
    torch.testing.assert_close(fast, plain, rtol=1e-10, atol=1e-10)
    upstream = torch.randn(plain.shape, generator=g, dtype=torch.float64)
    inputs = [t for t in (x, w, b) if t is not None]
    for got, want in zip(torch.autograd.grad(fast, inputs, upstream), torch.autograd.grad(plain, inputs, upstream)):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_it_is_a_conv2d_with_the_same_weights_keys_and_padding():
    layer = PolyphaseConv2d(4, 7, padding=3)
    assert isinstance(layer, torch.nn.Conv2d) and set(layer.state_dict()) == {"weight", "bias"}
    x = torch.randn(1, 4, 30, 30)
    with plain_convolutions():
        plain = layer(x)
    torch.testing.assert_close(layer(x), plain, rtol=1e-5, atol=1e-6)
    assert layer(x).shape == (1, 1, 30, 30)


def test_flops_count_the_convolution_not_the_zeros_of_the_rearranged_kernel():
    net = ResnetGenerator(ngf=8, num_blocks=1).eval()
    x = torch.randn(1, 1, 64, 64)
    out = net.model[-1]
    assert isinstance(out, PolyphaseConv2d)
    by_hand = 2 * 8 * 7 * 7 * 64 * 64  # 2 FLOPs per multiply-add of the 8 -> 1 7x7 output conv at 64 x 64
    with torch.no_grad():
        total = count_flops(net, x)
        without_out = count_flops(lambda t: net.model[:-1](t), x)
    assert total - without_out == by_hand


def test_cyclegan_losses_and_gradients_on_a_fixed_batch_are_unchanged():
    torch.manual_seed(0)
    model = MODELS["cyclegan"](ngf=8, ndf=8, num_blocks=2, unpaired="none")
    g = torch.Generator().manual_seed(1)
    batch = {"source": torch.rand(2, 1, 64, 64, generator=g), "target": torch.rand(2, 1, 64, 64, generator=g)}

    def losses_and_grads() -> tuple[dict[str, torch.Tensor], list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        torch.manual_seed(2)  # the image pools draw from the global generator
        fakes = model.generate(batch)
        terms = {**model.generator_loss(batch, fakes),
                 **model.discriminator_loss(batch, {k: v.detach() for k, v in fakes.items()})}
        sum(terms.values()).backward()
        return {k: v.detach() for k, v in terms.items()}, [p.grad.clone() for p in model.parameters() if p.grad is not None]

    with plain_convolutions():
        before, grads_before = losses_and_grads()
    after, grads_after = losses_and_grads()
    assert before.keys() == after.keys() and len(before) >= 6
    for name in before:
        torch.testing.assert_close(after[name], before[name], rtol=1e-5, atol=1e-7, msg=name)
    # float32 sums in another order: rounding, against the gradients' scale (the biases before instance norm
    # have a true gradient of 0, so theirs are rounding alone)
    scale = max(want.abs().max() for want in grads_before)
    for got, want in zip(grads_after, grads_before):
        assert (got - want).abs().max() <= 1e-4 * scale
