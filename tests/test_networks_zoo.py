"""The model-zoo networks: shapes, published parameter counts, torchvision state-dict layout.

VGG and ResNet-152 are built on the meta device (no memory, no init time): parameter counts, key names
and output shapes are all defined there.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from models.networks.figan_generator import FIGANGenerator
from models.networks.lsgan_discriminator import LSGANDiscriminator
from models.networks.resnet import ResNet152
from models.networks.srgan_discriminator import SRGANDiscriminator
from models.networks.srresnet import SRResNet
from models.networks.vgg import CFGS, VGG


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def vgg16() -> VGG:
    with torch.device("meta"):
        return VGG(16)


@pytest.fixture(scope="module")
def vgg19() -> VGG:
    with torch.device("meta"):
        return VGG(19)


@pytest.fixture(scope="module")
def resnet152() -> ResNet152:
    with torch.device("meta"):
        return ResNet152()


# --------------------------------------------------------------------------- VGG / ResNet-152 layout


def expected_vgg_keys(depth: int) -> set[str]:
    """torchvision's VGG keys, derived from the cfg alone: conv+ReLU take two indices, a pool one."""
    keys: set[str] = set()
    index = 0
    for item in CFGS[depth]:
        if item == "M":
            index += 1
        else:
            keys |= {f"features.{index}.weight", f"features.{index}.bias"}
            index += 2
    return keys | {f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")}


def expected_resnet152_keys() -> set[str]:
    bn = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    keys = {"conv1.weight", "fc.weight", "fc.bias"} | {f"bn1.{p}" for p in bn}
    for stage, blocks in enumerate((3, 8, 36, 3), start=1):
        for b in range(blocks):
            prefix = f"layer{stage}.{b}"
            for j in (1, 2, 3):
                keys.add(f"{prefix}.conv{j}.weight")
                keys |= {f"{prefix}.bn{j}.{p}" for p in bn}
            if b == 0:  # every stage's first block projects (channels x4, and stride 2 from layer2 on)
                keys.add(f"{prefix}.downsample.0.weight")
                keys |= {f"{prefix}.downsample.1.{p}" for p in bn}
    return keys


@pytest.mark.parametrize(("depth", "count"), [(16, 138_357_544), (19, 143_667_240)])
def test_vgg_parameter_count_matches_torchvision(depth: int, count: int, vgg16: VGG, vgg19: VGG) -> None:
    assert n_params(vgg16 if depth == 16 else vgg19) == count


def test_resnet152_parameter_count_matches_torchvision(resnet152: ResNet152) -> None:
    assert n_params(resnet152) == 60_192_808


def test_vgg_state_dict_keys_match_torchvision(vgg16: VGG, vgg19: VGG) -> None:
    assert set(vgg16.state_dict()) == expected_vgg_keys(16)
    assert set(vgg19.state_dict()) == expected_vgg_keys(19)
    # Last conv of each: VGG16 conv5_3 at index 28, VGG19 conv5_4 at index 34; classifier shapes.
    assert vgg16.state_dict()["features.28.weight"].shape == (512, 512, 3, 3)
    assert "features.34.weight" not in vgg16.state_dict()
    assert vgg19.state_dict()["features.34.weight"].shape == (512, 512, 3, 3)
    assert vgg16.state_dict()["classifier.0.weight"].shape == (4096, 25088)
    assert vgg19.state_dict()["classifier.6.weight"].shape == (1000, 4096)


def test_resnet152_state_dict_keys_match_torchvision(resnet152: ResNet152) -> None:
    state = resnet152.state_dict()
    assert set(state) == expected_resnet152_keys()
    assert state["layer4.2.bn3.running_var"].shape == (2048,)
    assert state["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert state["layer3.0.conv2.weight"].shape == (256, 256, 3, 3)
    assert state["fc.weight"].shape == (1000, 2048)


def test_vgg_layer_names_and_truncated_features(vgg16: VGG, vgg19: VGG) -> None:
    assert vgg19.layer_index("conv5_4") == 34 and vgg19.layer_index("relu5_4") == 35
    assert vgg19.layer_index("pool5") == 36 and vgg16.layer_index("relu2_2") == 8
    with pytest.raises(ValueError, match="relu5_4"):
        vgg16.layer_index("relu5_4")  # VGG16 has only three convs in block 5
    x = torch.empty(2, 3, 64, 48, device="meta")
    assert vgg19.features_at(x, "relu5_4").shape == (2, 512, 4, 3)
    assert vgg16.features_at(x, "relu2_2").shape == (2, 128, 32, 24)
    with torch.device("meta"):
        small = VGG(16).truncate("relu2_2")
    assert set(small.state_dict()) == {f"features.{i}.{p}" for i in (0, 2, 5, 7) for p in ("weight", "bias")}
    with pytest.raises(RuntimeError, match="features_at"):
        small(x)


def test_resnet152_stage_features(resnet152: ResNet152) -> None:
    x = torch.empty(2, 3, 64, 48, device="meta")
    assert resnet152.features_at(x, "layer2").shape == (2, 512, 8, 6)
    assert resnet152.features_at(x, "layer3").shape == (2, 1024, 4, 3)
    assert resnet152(x).shape == (2, 1000)
    with pytest.raises(ValueError, match="layer2"):
        resnet152.features_at(x, "layer5")


# --------------------------------------------------------------------------- generators


def test_srresnet_shapes_and_paper_parameter_count() -> None:
    x = torch.rand(2, 1, 8, 6)
    net = SRResNet()
    assert net(x).shape == (2, 1, 32, 24)
    assert SRResNet(scale=1)(x).shape == (2, 1, 8, 6)
    small = SRResNet(in_channels=3, out_channels=2, scale=2, num_blocks=2)
    assert small(torch.rand(1, 3, 8, 8)).shape == (1, 2, 16, 16)
    # By hand, 1 channel in/out, x4 (PReLU with one shared slope, biases on every conv):
    #   head 9x9 conv 1->64: 81*64+64 = 5,248, + PReLU 1                       ->     5,249
    #   16 blocks x (2 x (9*64*64+64 = 36,928) + 2 x BN 128 + PReLU 1 = 74,113) -> 1,185,808
    #   trunk tail conv 36,928 + BN 128                                       ->    37,056
    #   2 up-stages x (3x3 conv 64->256: 9*64*256+256 = 147,712, + PReLU 1)   ->   295,426
    #   out 9x9 conv 64->1: 81*64+1                                           ->     5,185
    #   total                                                                 -> 1,528,724
    assert n_params(net) == 1_528_724
    assert n_params(SRResNet(scale=1)) == 1_528_724 - 295_426
    with pytest.raises(ValueError, match="scale"):
        SRResNet(scale=3)


def test_figan_generator_keeps_size_and_spectral_norm() -> None:
    net = FIGANGenerator()
    for h, w in ((32, 32), (64, 48)):
        x = torch.rand(2, 1, h, w, requires_grad=True)
        y = net(x)
        assert y.shape == (2, 1, h, w)
    y.mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    # 2 down + 7 x (4 dense + 1 fusion) + 2 global fusion + 2 up + 1 out
    assert len(convs) == 2 + 7 * 5 + 2 + 2 + 1
    assert all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert not any(parametrize.is_parametrized(m) for m in FIGANGenerator(spectral_norm=False).modules())
    # By hand (channels 64, growth 32, 4 layers/block): down 640 + 36,928; RDB = dense convs
    # 18,464 + 27,680 + 36,896 + 46,112 + 1x1 fusion 12,352 = 141,504, x7 = 990,528; global fusion
    # 28,736 + 36,928; up 2 x 147,712; out 577  ->  1,389,761.
    assert n_params(net) == 1_389_761
    with pytest.raises(ValueError, match="30x32"):
        net(torch.rand(1, 1, 30, 32))


# --------------------------------------------------------------------------- discriminators


@pytest.fixture(scope="module")
def srgan_d() -> SRGANDiscriminator:
    return SRGANDiscriminator()


@pytest.mark.parametrize("size", [(32, 32), (64, 48), (20, 36)])
def test_discriminators_accept_any_size(size: tuple[int, int], srgan_d: SRGANDiscriminator) -> None:
    x = torch.rand(2, 1, *size)
    for net in (srgan_d, LSGANDiscriminator()):
        assert net(x).shape == (2, 1)


def test_srgan_discriminator_paper_configuration(srgan_d: SRGANDiscriminator) -> None:
    net = srgan_d
    # At the paper's 96x96 crops the conv stack gives 512x6x6 and the pool is an identity.
    assert net.features(torch.rand(1, 1, 96, 96)).shape == (1, 512, 6, 6)
    # convs 4,687,936 (incl. 7 BNs) + dense 18,432->1024 (18,875,392) + dense 1024->1 (1,025)
    assert n_params(net) == 23_564_353
    with pytest.raises(ValueError, match="multiple of 16"):
        SRGANDiscriminator(image_size=100)


def test_lsgan_discriminator_score_is_unbounded_and_counted() -> None:
    net = LSGANDiscriminator()
    assert isinstance(net.head[-1], nn.Linear)  # no sigmoid: a least-squares score
    # 5x5 convs 1,664 + 204,928 + 819,456 + 3,277,312, BNs 256 + 512 + 1,024, linear 8,192->1 (8,193)
    assert n_params(net) == 4_313_345
    sn = LSGANDiscriminator(spectral_norm=True, batch_norm=False)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in sn.modules())
    assert sn(torch.rand(1, 1, 40, 40)).shape == (1, 1)
