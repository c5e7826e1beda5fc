"""Perceptual (feature-reconstruction) loss: MSE between a frozen network's activations.

Why: pixel losses reward blurry averages; comparing ImageNet features instead (Johnson et al., "Perceptual
Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016; SRGAN's "VGG loss", Ledig et al.,
CVPR 2017) rewards matching texture and edges. Our images are grey, in [0, 1]: they are replicated to
three channels and normalised with the ImageNet mean/std the networks were trained with.

Weights (``weights=``):
- ``"imagenet"``: the torchvision checkpoint file in the torch hub cache
  (``torch.hub.get_dir()/checkpoints``, i.e. ``$TORCH_HOME/hub/checkpoints``), else a download from
  download.pytorch.org; when neither works, a one-line ``DataError`` says where to put the file.
- a file path or an http(s) URL of a torchvision-layout state dict.
- ``"random"``: torchvision's initialisation from a fixed seed, so two runs agree (a control that
  separates "ImageNet features" from "any deep features").
Every file is read with ``torch.load(..., weights_only=True)``: unpickling cannot run arbitrary code.

The loaded networks are cached per process (keyed on network name and weights) and never handed to the
optimiser: each loss keeps a private copy of just the layers it needs, outside ``parameters()`` and
``state_dict()`` (so checkpoints stay small and ``train()`` cannot switch ResNet's BN out of eval), moved
with the loss by ``.to()``/``.cuda()``/``.half()``.
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmark.errors import DataError, UsageError
from models.networks.resnet import ResNet152
from models.networks.vgg import VGG

#: torchvision's ImageNet checkpoint file names (the hash prefix is checked on download).
IMAGENET_FILES: dict[str, str] = {
    "vgg16": "vgg16-397923af.pth",
    "vgg19": "vgg19-dcbb9e9d.pth",
    "resnet152": "resnet152-394f9c45.pth",
}
IMAGENET_URL = "https://download.pytorch.org/models/"
#: Layer used when none is given: VGG16 relu2_2 (Johnson et al.), VGG19 relu5_4 (SRGAN's phi_5,4),
#: ResNet-152 layer2 (our choice: mid-level features at 1/8 resolution, still spatially detailed).
DEFAULT_LAYERS: dict[str, str] = {"vgg16": "relu2_2", "vgg19": "relu5_4", "resnet152": "layer2"}
RANDOM_SEED = 0
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "vgg16": lambda: VGG(16),
    "vgg19": lambda: VGG(19),
    "resnet152": ResNet152,
}


def _fix(name: str) -> str:
    return (
        f"fix: pass model.perceptual_weights=<path to a torchvision {name} checkpoint> "
        "or set model.perceptual_weights=random"
    )


def _one_line(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_name(name: str) -> str:
    key = name.lower()
    if key not in _BUILDERS:
        raise UsageError(f"unknown perceptual network {name!r}; choose one of {', '.join(_BUILDERS)}")
    return key


def _read(path: Path, name: str) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"cannot read {name} weights from {path} ({_one_line(exc)}); {_fix(name)}") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):  # a {"state_dict": ...} wrapper
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise DataError(f"{path} holds a {type(obj).__name__}, not a {name} state dict; {_fix(name)}")
    return obj


def _download(url: str, model_dir: Path | None = None, check_hash: bool = False) -> dict[str, torch.Tensor]:
    """``torch.hub`` download into ``model_dir`` (default: the hub cache), read with weights_only=True."""
    return torch.hub.load_state_dict_from_url(
        url,
        model_dir=None if model_dir is None else str(model_dir),
        map_location="cpu",
        progress=False,
        check_hash=check_hash,
        weights_only=True,
    )


def _imagenet_state_dict(name: str) -> tuple[dict[str, torch.Tensor], str]:
    """The torchvision checkpoint from the hub cache, else downloaded into it; DataError if neither."""
    file_name = IMAGENET_FILES[name]
    cache_dir = Path(torch.hub.get_dir()) / "checkpoints"  # get_dir() honours $TORCH_HOME at call time
    path = cache_dir / file_name
    if path.is_file():
        return _read(path, name), f"imagenet:{path}"
    url = IMAGENET_URL + file_name
    try:
        state = _download(url, model_dir=cache_dir, check_hash=True)
    except Exception as exc:  # offline, proxy, hash mismatch...: all mean "no ImageNet weights here"
        raise DataError(
            f"ImageNet weights for {name} not found: looked for {path} and could not download {url} "
            f"({_one_line(exc)}); fix: put {file_name} in {cache_dir}, "
            f"pass model.perceptual_weights=<path to a torchvision {name} checkpoint>, "
            "or set model.perceptual_weights=random"
        ) from None
    return state, f"imagenet:{path}"


def _load_into_meta(name: str, state: dict[str, torch.Tensor], origin: str) -> nn.Module:
    """Build on the meta device (no init cost) and adopt the checkpoint tensors; strict key check."""
    with torch.device("meta"):
        net = _BUILDERS[name]()
    try:
        result = net.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as exc:  # shape mismatches
        raise DataError(f"{origin} is not a torchvision {name} checkpoint ({_one_line(exc)})") from None
    if result.missing_keys or result.unexpected_keys:
        raise DataError(
            f"{origin} is not a torchvision {name} checkpoint: {len(result.missing_keys)} missing keys "
            f"{result.missing_keys[:3]}, {len(result.unexpected_keys)} unexpected keys "
            f"{result.unexpected_keys[:3]}"
        )
    return net.float()  # a half-precision checkpoint would otherwise fix the network's dtype


def _random_network(name: str) -> nn.Module:
    """torchvision's init from a fixed seed; the classifier head is never materialised."""
    with torch.device("meta"):
        net = _BUILDERS[name]()
    net.drop_head()
    net.to_empty(device="cpu")
    # Feature layers are initialised first, so these equal a full network's with the same seed.
    net.reset_parameters(generator=torch.Generator().manual_seed(RANDOM_SEED))
    return net


@functools.cache
def _cached_network(name: str, weights: str) -> tuple[nn.Module, str]:
    if weights == "random":
        net, source = _random_network(name), "random"
    elif weights == "imagenet":
        state, source = _imagenet_state_dict(name)
        net = _load_into_meta(name, state, source)
    elif weights.startswith(("http://", "https://")):
        try:
            state = _download(weights)
        except Exception as exc:
            raise DataError(
                f"cannot download {name} weights from {weights} ({_one_line(exc)}); {_fix(name)}"
            ) from None
        source = f"url:{weights}"
        net = _load_into_meta(name, state, source)
    else:
        path = Path(weights)
        if not path.is_file():
            raise DataError(f"{name} weights file {path} does not exist; {_fix(name)}")
        source = f"path:{path}"
        net = _load_into_meta(name, _read(path, name), source)
    net.drop_head()  # perceptual losses never use the classifier (VGG16: 123.6 M of 138.4 M parameters)
    net.requires_grad_(False)
    return net.eval(), source


def load_perceptual_network(name: str, weights: str | Path = "imagenet") -> tuple[nn.Module, str]:
    """The frozen, eval-mode feature network and where its weights came from.

    ``source`` is ``"imagenet:<path>"``, ``"random"``, ``"path:<path>"`` or ``"url:<url>"``. The module
    is cached and shared by every caller in this process: treat it as read-only (copy before moving or
    modifying it). Its classifier head is dropped.
    """
    key = _check_name(name)
    spec = str(weights)
    if spec.lower() in ("imagenet", "random"):
        spec = spec.lower()
    elif not spec.startswith(("http://", "https://")):
        spec = str(Path(spec).expanduser().resolve())  # one cache entry per file however it is spelled
    return _cached_network(key, spec)


def clear_network_cache() -> None:
    """Forget the cached networks (tests; or to re-read a checkpoint that changed on disk)."""
    _cached_network.cache_clear()


class PerceptualLoss(nn.Module):
    """``scale**2 * mean((phi(pred) - phi(target))**2)`` with phi a frozen network's ``layer`` activations.

    ``scale`` multiplies the feature maps, not the loss: SRGAN rescales the VGG feature maps by 1/12.75
    ("equivalent to multiplying Eq. 5 with a rescaling factor of about 0.006", i.e. 1/12.75**2), so pass
    ``scale=1/12.75`` to reproduce it. The mean runs over batch, channels and positions (the paper's
    Eq. 5 normalises by the feature map's W*H; averaging the channels too keeps the value independent of
    the layer's width).

    Inputs are (N, 1, H, W) grey or (N, 3, H, W) RGB in [0, 1]. Gradients flow to ``pred`` (and to
    ``target`` if it requires them), never to the network.
    """

    def __init__(
        self,
        network: str = "vgg19",
        layer: str | None = None,
        weights: str | Path = "imagenet",
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.network_name = _check_name(network)
        self.layer = layer or DEFAULT_LAYERS[self.network_name]
        self.scale = float(scale)
        full, self.weights_source = load_perceptual_network(self.network_name, weights)
        try:
            layers = full.extractor(self.layer)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        # A private copy of only the needed layers, kept out of the module tree (see the module docstring);
        # object.__setattr__ bypasses nn.Module's registration.
        net = copy.deepcopy(layers).eval()
        net.requires_grad_(False)
        object.__setattr__(self, "_network", net)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @property
    def network(self) -> nn.Sequential:
        """The frozen layers up to ``layer`` (not a registered submodule)."""
        return self._network

    def _apply(self, fn, recurse: bool = True):  # type: ignore[no-untyped-def]
        # Device/dtype moves (.to, .cuda, .half, to_empty) must also reach the unregistered network.
        self._network._apply(fn)
        return super()._apply(fn, recurse)

    def train(self, mode: bool = True) -> PerceptualLoss:
        super().train(mode)
        self._network.eval()  # stays frozen: BN statistics of ResNet must not update
        return self

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled features of a [0, 1] image batch, grey replicated to RGB and ImageNet-normalised."""
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"PerceptualLoss expects (N, 1 or 3, H, W) images, got shape {tuple(x.shape)}")
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        feat = self._network((x - self.mean) / self.std)
        return feat * self.scale if self.scale != 1.0 else feat

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.features(pred), self.features(target))

    def extra_repr(self) -> str:
        return (
            f"network={self.network_name}, layer={self.layer}, "
            f"weights={self.weights_source}, scale={self.scale:g}"
        )
