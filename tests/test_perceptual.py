"""Perceptual loss: frozen features, weight sources (random / path / ImageNet cache), one-line errors."""
from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch

from benchmark.errors import DataError, UsageError
from models.losses import perceptual
from models.losses.perceptual import PerceptualLoss, clear_network_cache, load_perceptual_network
from models.networks.srresnet import SRResNet
from models.networks.vgg import VGG


@pytest.fixture(autouse=True, scope="module")
def _fresh_cache():
    clear_network_cache()
    yield
    clear_network_cache()


@pytest.fixture(scope="module")
def vgg16_loss() -> PerceptualLoss:
    return PerceptualLoss("vgg16", weights="random")


@pytest.fixture(scope="module")
def saved_vgg16(tmp_path_factory: pytest.TempPathFactory) -> tuple[VGG, Path]:
    """A VGG16 (seed 123, unlike the "random" source's seed 0) saved as a full torchvision-layout file.

    Only the conv features are real: the classifier (123.6 M parameters, never used by the loss) is
    saved as zero-stride broadcast views of one element, so the file is 59 MB instead of 553 MB while
    keeping every key and shape a strict load checks.
    """
    with torch.device("meta"):
        net = VGG(16)
    net.features.to_empty(device="cpu")
    net.reset_parameters(generator=torch.Generator().manual_seed(123))  # no-op on the meta classifier
    state = {
        k: (torch.zeros(1).expand(v.shape) if k.startswith("classifier.") else v)
        for k, v in net.state_dict().items()
    }
    path = tmp_path_factory.mktemp("weights") / "my-vgg16.pth"
    torch.save(state, path)
    return net.eval(), path


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No network in tests: any download attempt fails like an offline machine; the URLs are recorded."""
    calls: list[str] = []

    def refuse(url: str, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    return calls


def test_loss_is_zero_for_identical_inputs_and_positive_otherwise(vgg16_loss: PerceptualLoss) -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 1, 32, 32)
    assert vgg16_loss(target.clone(), target).item() == 0.0
    assert vgg16_loss(torch.rand(2, 1, 32, 32), target).item() > 0.0


def test_gradients_reach_the_input_not_the_network(vgg16_loss: PerceptualLoss) -> None:
    pred = torch.rand(2, 1, 32, 32, requires_grad=True)
    vgg16_loss(pred, torch.rand(2, 1, 32, 32)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    params = list(vgg16_loss.network.parameters())
    assert params and all(not p.requires_grad and p.grad is None for p in params)
    # Kept out of the module tree: no optimiser can pick it up, no checkpoint carries it.
    assert list(vgg16_loss.parameters()) == [] and dict(vgg16_loss.state_dict()) == {}
    vgg16_loss.train()
    assert vgg16_loss.training and not vgg16_loss.network.training


def test_random_weights_are_deterministic_and_recorded(vgg16_loss: PerceptualLoss) -> None:
    assert vgg16_loss.weights_source == "random" and vgg16_loss.layer == "relu2_2"
    clear_network_cache()
    again, source = load_perceptual_network("vgg16", "random")
    assert source == "random"
    for a, b in zip(vgg16_loss.network.parameters(), again.extractor("relu2_2").parameters()):
        assert torch.equal(a, b)
    assert load_perceptual_network("VGG16", "Random")[0] is again  # cached per process


def test_path_weights_give_the_saved_features(
    saved_vgg16: tuple[VGG, Path], vgg16_loss: PerceptualLoss
) -> None:
    net, path = saved_vgg16
    loss = PerceptualLoss("vgg16", layer="relu3_3", weights=str(path))
    assert loss.weights_source == f"path:{path.resolve()}"
    x = torch.rand(2, 1, 32, 32)
    normalised = (x.expand(-1, 3, -1, -1) - loss.mean) / loss.std
    with torch.no_grad():
        assert torch.equal(loss.features(x), net.features_at(normalised, "relu3_3"))
    assert not torch.equal(loss.network[0].weight, vgg16_loss.network[0].weight)  # not the random source


def test_imagenet_weights_found_in_torch_home(
    saved_vgg16: tuple[VGG, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "vgg16-397923af.pth").symlink_to(saved_vgg16[1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    clear_network_cache()
    net, source = load_perceptual_network("vgg16", "imagenet")
    assert source == f"imagenet:{checkpoints / 'vgg16-397923af.pth'}" and not offline
    assert torch.equal(net.features[0].weight, saved_vgg16[0].features[0].weight)
    clear_network_cache()


@pytest.mark.parametrize("network", ["vgg19", "resnet152"])
def test_missing_imagenet_weights_raise_one_line_data_error(
    network: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(DataError) as info:
        PerceptualLoss(network, weights="imagenet")
    message = str(info.value)
    assert "\n" not in message
    assert network in message and str(tmp_path / "hub" / "checkpoints") in message
    assert "model.perceptual_weights=random" in message
    assert offline == [perceptual.IMAGENET_URL + perceptual.IMAGENET_FILES[network]]


def test_bad_weight_files_raise_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_perceptual_network("vgg16", tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read"):
        load_perceptual_network("vgg16", junk)
    wrong = tmp_path / "srresnet.pth"
    torch.save(SRResNet(num_blocks=1).state_dict(), wrong)
    with pytest.raises(DataError, match="not a torchvision vgg16 checkpoint") as info:
        load_perceptual_network("vgg16", wrong)
    assert "\n" not in str(info.value)


def test_bad_names_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="alexnet"):
        PerceptualLoss("alexnet", weights="random")
    with pytest.raises(UsageError, match="relu5_4"):
        PerceptualLoss("vgg16", layer="relu5_4", weights="random")


def test_vgg19_srgan_layer_and_feature_scale() -> None:
    plain = PerceptualLoss("vgg19", weights="random")
    srgan = PerceptualLoss("vgg19", weights="random", scale=1 / 12.75)
    assert plain.layer == "relu5_4" and len(plain.network) == 36  # up to features.35, pool5 not run
    a, b = torch.rand(1, 1, 32, 32), torch.rand(1, 1, 32, 32)
    # scale multiplies the feature maps, so the loss scales by its square (SRGAN: ~0.006).
    torch.testing.assert_close(srgan(a, b), plain(a, b) / 12.75**2)


def test_resnet152_stage_loss_stays_in_eval_and_moves_with_the_loss() -> None:
    loss = PerceptualLoss("resnet152", layer="layer2", weights="random").train()
    assert not loss.network.training
    x = torch.rand(2, 1, 16, 24, requires_grad=True)
    assert loss.features(x).shape == (2, 512, 2, 3)
    before = loss.network.bn1.running_mean.clone()
    loss(x, torch.rand(2, 1, 16, 24)).backward()
    assert torch.equal(loss.network.bn1.running_mean, before)  # BN statistics frozen
    loss.double()  # .to()/.half()/.cuda() reach the unregistered network
    assert loss.network.conv1.weight.dtype == torch.float64
    assert loss(x.double(), x.double()).item() == 0.0
